"""The embedded adapters for profile fields and global no-speaking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import orjson

from services.common.store.profiles import NoSpeaking, ProfileValue
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds these stores, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

# A value is kept as JSON so an integer field reads back as an integer.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (sdkappid, user_id, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS profile_custom_tags (
  sdkappid INTEGER NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (sdkappid, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS no_speaking (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  c2c_until INTEGER NOT NULL DEFAULT 0,
  group_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sdkappid, user_id)
) WITHOUT ROWID;
"""

# COALESCE keeps the stored deadline when the caller leaves one out (NULL).
_SET_NO_SPEAKING = (
    "INSERT INTO no_speaking (sdkappid, user_id, c2c_until, group_until)"
    " VALUES (?, ?, COALESCE(?, 0), COALESCE(?, 0))"
    " ON CONFLICT (sdkappid, user_id) DO UPDATE SET"
    " c2c_until = COALESCE(?, no_speaking.c2c_until),"
    " group_until = COALESCE(?, no_speaking.group_until)"
)


class SqliteProfileStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def set_values(
        self, sdkappid: int, user_id: str, values: Mapping[str, ProfileValue]
    ) -> None:
        await self._tables.write_many(
            "INSERT INTO profiles (sdkappid, user_id, tag, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (sdkappid, user_id, tag) DO UPDATE SET value = excluded.value",
            [(sdkappid, user_id, tag, orjson.dumps(v).decode()) for tag, v in values.items()],
        )

    async def get_values(
        self, sdkappid: int, user_ids: Sequence[str]
    ) -> dict[str, dict[str, ProfileValue]]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        rows: list[tuple[str, str, str]] = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, tag, value FROM profiles"
                f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})",
                (sdkappid, *ids),
            ).fetchall()
        )
        found: dict[str, dict[str, ProfileValue]] = {}
        for user_id, tag, value in rows:
            found.setdefault(user_id, {})[tag] = orjson.loads(value)
        return found

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(user_ids))
        if ids:
            await self._tables.run(
                lambda c: c.execute(
                    "DELETE FROM profiles"
                    f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})",
                    (sdkappid, *ids),
                )
            )

    async def custom_tags(self, sdkappid: int) -> set[str]:
        rows: list[tuple[str]] = await self._tables.run(
            lambda c: c.execute(
                "SELECT tag FROM profile_custom_tags WHERE sdkappid = ?", (sdkappid,)
            ).fetchall()
        )
        return {r[0] for r in rows}

    async def add_custom_tags(self, sdkappid: int, tags: Sequence[str]) -> None:
        rows = [(sdkappid, t) for t in dict.fromkeys(tags)]
        if rows:
            await self._tables.run(
                lambda c: c.executemany(
                    "INSERT OR IGNORE INTO profile_custom_tags (sdkappid, tag) VALUES (?, ?)", rows
                )
            )


class SqliteNoSpeakingStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        row = (sdkappid, user_id, c2c_until, group_until, c2c_until, group_until)
        await self._tables.run(lambda c: c.execute(_SET_NO_SPEAKING, row))

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        row: tuple[int, int] | None = await self._tables.run(
            lambda c: c.execute(
                "SELECT c2c_until, group_until FROM no_speaking WHERE sdkappid = ? AND user_id = ?",
                (sdkappid, user_id),
            ).fetchone()
        )
        return NoSpeaking(row[0], row[1]) if row else NoSpeaking()

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(user_ids))
        if ids:
            await self._tables.run(
                lambda c: c.execute(
                    "DELETE FROM no_speaking"
                    f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})",
                    (sdkappid, *ids),
                )
            )
