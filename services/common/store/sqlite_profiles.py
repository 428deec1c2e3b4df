"""The embedded adapters for profile fields and global no-speaking."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

import orjson

from services.common.store.profiles import NoSpeaking, ProfileValue

if TYPE_CHECKING:
    # sqlite.py builds these stores, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

T = TypeVar("T")

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


class _Schema:
    """Creates the tables on the first call, on the db thread.

    The constructors cannot await. The db thread runs calls one at a time, in order, and it
    alone reads the flag, so the script runs once, before any statement that needs it.
    """

    def __init__(self, db: SqliteDb) -> None:
        self._db = db
        self._ready = False

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def with_schema(c: sqlite3.Connection) -> T:
            if not self._ready:
                c.executescript(_SCHEMA)
                self._ready = True
            return fn(c)

        return await self._db.run(with_schema)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteProfileStore:
    def __init__(self, db: SqliteDb) -> None:
        self._schema = _Schema(db)

    async def set_values(
        self, sdkappid: int, user_id: str, values: Mapping[str, ProfileValue]
    ) -> None:
        rows = [(sdkappid, user_id, tag, orjson.dumps(v).decode()) for tag, v in values.items()]
        if not rows:
            return

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            with c:
                c.executemany(
                    "INSERT INTO profiles (sdkappid, user_id, tag, value) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (sdkappid, user_id, tag) DO UPDATE SET value = excluded.value",
                    rows,
                )

        await self._schema.run(write)

    async def get_values(
        self, sdkappid: int, user_ids: Sequence[str]
    ) -> dict[str, dict[str, ProfileValue]]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        rows: list[tuple[str, str, str]] = await self._schema.run(
            lambda c: c.execute(
                "SELECT user_id, tag, value FROM profiles"
                f" WHERE sdkappid = ? AND user_id IN ({_marks(len(ids))})",
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
            await self._schema.run(
                lambda c: c.execute(
                    f"DELETE FROM profiles WHERE sdkappid = ? AND user_id IN ({_marks(len(ids))})",
                    (sdkappid, *ids),
                )
            )

    async def custom_tags(self, sdkappid: int) -> set[str]:
        rows: list[tuple[str]] = await self._schema.run(
            lambda c: c.execute(
                "SELECT tag FROM profile_custom_tags WHERE sdkappid = ?", (sdkappid,)
            ).fetchall()
        )
        return {r[0] for r in rows}

    async def add_custom_tags(self, sdkappid: int, tags: Sequence[str]) -> None:
        rows = [(sdkappid, t) for t in dict.fromkeys(tags)]
        if rows:
            await self._schema.run(
                lambda c: c.executemany(
                    "INSERT OR IGNORE INTO profile_custom_tags (sdkappid, tag) VALUES (?, ?)", rows
                )
            )


class SqliteNoSpeakingStore:
    def __init__(self, db: SqliteDb) -> None:
        self._schema = _Schema(db)

    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        row = (sdkappid, user_id, c2c_until, group_until, c2c_until, group_until)
        await self._schema.run(lambda c: c.execute(_SET_NO_SPEAKING, row))

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        row: tuple[int, int] | None = await self._schema.run(
            lambda c: c.execute(
                "SELECT c2c_until, group_until FROM no_speaking WHERE sdkappid = ? AND user_id = ?",
                (sdkappid, user_id),
            ).fetchone()
        )
        return NoSpeaking(row[0], row[1]) if row else NoSpeaking()

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(user_ids))
        if ids:
            await self._schema.run(
                lambda c: c.execute(
                    "DELETE FROM no_speaking"
                    f" WHERE sdkappid = ? AND user_id IN ({_marks(len(ids))})",
                    (sdkappid, *ids),
                )
            )
