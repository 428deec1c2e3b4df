"""MessageDeletionStore on the embedded SQLite file: one row per hidden (app, user,
conversation, seq), one row per cleared group holding its highest mark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS msg_hidden (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  conversation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, user_id, conversation, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_msg_cleared (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  up_to_seq INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id)
) WITHOUT ROWID;
"""


class SqliteMessageDeletionStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def hide(self, sdkappid: int, user: str, conversation: str, seqs: Sequence[int]) -> None:
        await self._tables.write_many(
            "INSERT OR IGNORE INTO msg_hidden (sdkappid, user_id, conversation, seq)"
            " VALUES (?, ?, ?, ?)",
            [(sdkappid, user, conversation, s) for s in dict.fromkeys(seqs)],
        )

    async def hidden(self, sdkappid: int, user: str, conversation: str) -> set[int]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT seq FROM msg_hidden"
                " WHERE sdkappid = ? AND user_id = ? AND conversation = ?",
                (sdkappid, user, conversation),
            ).fetchall()
        )
        return {int(r[0]) for r in rows}

    async def clear_group(self, sdkappid: int, group_id: str, up_to_seq: int) -> None:
        await self._tables.write_many(
            "INSERT INTO group_msg_cleared (sdkappid, group_id, up_to_seq) VALUES (?, ?, ?)"
            " ON CONFLICT (sdkappid, group_id)"
            " DO UPDATE SET up_to_seq = max(up_to_seq, excluded.up_to_seq)",
            [(sdkappid, group_id, up_to_seq)],
        )

    async def group_cleared(self, sdkappid: int, group_id: str) -> int:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT up_to_seq FROM group_msg_cleared WHERE sdkappid = ? AND group_id = ?",
                (sdkappid, group_id),
            ).fetchone()
        )
        return int(row[0]) if row else 0
