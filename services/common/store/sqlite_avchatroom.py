"""AVChatRoomStore on the embedded SQLite file: a row per admin and per (member, mark)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.avchatroom import MemberMark
from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS avchatroom_admins (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (sdkappid, group_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS avchatroom_marks (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  mark INTEGER NOT NULL,
  set_ms INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id, user_id, mark)
) WITHOUT ROWID;
"""

_GROUP = " WHERE sdkappid = ? AND group_id = ?"


class SqliteAVChatRoomStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def add_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await self._tables.write_many(
            "INSERT OR IGNORE INTO avchatroom_admins (sdkappid, group_id, user_id)"
            " VALUES (?, ?, ?)",
            [(sdkappid, group_id, u) for u in dict.fromkeys(users)],
        )

    async def remove_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await self._tables.write_many(
            "DELETE FROM avchatroom_admins" + _GROUP + " AND user_id = ?",
            [(sdkappid, group_id, u) for u in dict.fromkeys(users)],
        )

    async def admins(self, sdkappid: int, group_id: str) -> list[str]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id FROM avchatroom_admins" + _GROUP + " ORDER BY user_id",
                (sdkappid, group_id),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def put_marks(self, sdkappid: int, group_id: str, marks: Sequence[MemberMark]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO avchatroom_marks (sdkappid, group_id, user_id, mark, set_ms)"
            " VALUES (?, ?, ?, ?, ?)",
            [(sdkappid, group_id, m.user_id, m.mark, m.set_ms) for m in marks],
        )

    async def remove_marks(
        self, sdkappid: int, group_id: str, marks: Sequence[tuple[str, int]]
    ) -> None:
        await self._tables.write_many(
            "DELETE FROM avchatroom_marks" + _GROUP + " AND user_id = ? AND mark = ?",
            [(sdkappid, group_id, u, m) for u, m in dict.fromkeys(marks)],
        )

    async def marks(self, sdkappid: int, group_id: str) -> list[MemberMark]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, mark, set_ms FROM avchatroom_marks"
                + _GROUP
                + " ORDER BY user_id, mark",
                (sdkappid, group_id),
            ).fetchall()
        )
        return [MemberMark(r[0], int(r[1]), int(r[2])) for r in rows]

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        def drop(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            with c:
                for table in ("avchatroom_admins", "avchatroom_marks"):
                    c.execute(f"DELETE FROM {table}" + _GROUP, (sdkappid, group_id))

        await self._tables.run(drop)
