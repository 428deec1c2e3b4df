"""GroupBanStore on the embedded SQLite file: one row per (app, group, user)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.group_bans import GroupBan
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS group_bans (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  banned_until INTEGER NOT NULL,
  description TEXT NOT NULL,
  PRIMARY KEY (sdkappid, group_id, user_id)
) WITHOUT ROWID;
"""

_IN_FORCE = (
    "SELECT user_id, banned_until, description FROM group_bans"
    " WHERE sdkappid = ? AND group_id = ? AND banned_until > ?"
)


class SqliteGroupBanStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def ban(self, sdkappid: int, group_id: str, bans: Sequence[GroupBan]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO group_bans"
            " (sdkappid, group_id, user_id, banned_until, description) VALUES (?, ?, ?, ?, ?)",
            [(sdkappid, group_id, b.user_id, b.until, b.description) for b in bans],
        )

    async def unban(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await self._tables.write_many(
            "DELETE FROM group_bans WHERE sdkappid = ? AND group_id = ? AND user_id = ?",
            [(sdkappid, group_id, u) for u in dict.fromkeys(users)],
        )

    async def banned(
        self, sdkappid: int, group_id: str, users: Sequence[str], now: int
    ) -> dict[str, GroupBan]:
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                _IN_FORCE + f" AND user_id IN ({placeholders(len(wanted))})",
                (sdkappid, group_id, now, *wanted),
            ).fetchall()
        )
        return {r[0]: GroupBan(r[0], int(r[1]), r[2]) for r in rows}

    async def list_bans(self, sdkappid: int, group_id: str, now: int) -> list[GroupBan]:
        rows = await self._tables.run(
            lambda c: c.execute(
                _IN_FORCE + " ORDER BY user_id", (sdkappid, group_id, now)
            ).fetchall()
        )
        return [GroupBan(r[0], int(r[1]), r[2]) for r in rows]

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await self._tables.run(
            lambda c: c.execute(
                "DELETE FROM group_bans WHERE sdkappid = ? AND group_id = ?", (sdkappid, group_id)
            )
        )
