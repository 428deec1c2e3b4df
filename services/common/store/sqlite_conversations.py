"""The embedded adapter for the conversation store: one row per (app, user, conversation).

Every write is an upsert whose DO UPDATE names only its own columns, so audit's last-message
writes and the gateway's read/hide/pin writes never undo each other; the monotonic fields are
raised in the same statement (ON CONFLICT ... WHERE), with no read before the write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.conversations import ConversationState, LastMessage
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

# The index's entries end with the primary key, so "last_time_ms DESC, conversation DESC"
# walks it backwards with no sort step.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  conversation TEXT NOT NULL,
  kind INTEGER NOT NULL DEFAULT 0,
  peer TEXT NOT NULL DEFAULT '',
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_time_ms INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  hidden_seq INTEGER NOT NULL DEFAULT 0,
  pinned_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sdkappid, user_id, conversation)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_by_time
  ON conversations (sdkappid, user_id, last_time_ms);
"""

_COLUMNS = "conversation, kind, peer, last_seq, last_time_ms, read_seq, hidden_seq, pinned_at_ms"

_RECORD_LAST = (
    "INSERT INTO conversations"
    " (sdkappid, user_id, conversation, kind, peer, last_seq, last_time_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (sdkappid, user_id, conversation) DO UPDATE SET"
    " kind = excluded.kind, peer = excluded.peer,"
    " last_seq = excluded.last_seq, last_time_ms = excluded.last_time_ms"
    " WHERE excluded.last_seq > conversations.last_seq"
)

_RAISE_READ = (
    "INSERT INTO conversations (sdkappid, user_id, conversation, read_seq) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (sdkappid, user_id, conversation) DO UPDATE SET read_seq = excluded.read_seq"
    " WHERE excluded.read_seq > conversations.read_seq"
)

# hide never lowers hidden_seq either: a late, older delete must not bring back messages a
# newer delete already hid.
_RAISE_HIDDEN = (
    "INSERT INTO conversations (sdkappid, user_id, conversation, hidden_seq) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (sdkappid, user_id, conversation) DO UPDATE SET hidden_seq = excluded.hidden_seq"
    " WHERE excluded.hidden_seq > conversations.hidden_seq"
)

_SET_PINNED = (
    "INSERT INTO conversations (sdkappid, user_id, conversation, pinned_at_ms)"
    " VALUES (?, ?, ?, ?)"
    " ON CONFLICT (sdkappid, user_id, conversation)"
    " DO UPDATE SET pinned_at_ms = excluded.pinned_at_ms"
)

_Row = tuple[str, int, str, int, int, int, int, int]


def _state(user: str, r: _Row) -> ConversationState:
    return ConversationState(user, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])


class SqliteConversationStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    def ensure_schema(self, c: sqlite3.Connection) -> None:
        """On the db thread, before a statement of this store inside another's transaction."""
        self._tables.ensure(c)

    @staticmethod
    def record_last_rows(c: sqlite3.Connection, entries: Sequence[tuple[int, LastMessage]]) -> None:
        """record_last's statement for (app, entry) pairs, in the caller's transaction."""
        c.executemany(
            _RECORD_LAST,
            [
                (app, e.user, e.conversation, e.kind, e.peer, e.last_seq, e.last_time_ms)
                for app, e in entries
            ],
        )

    async def _upsert(self, sql: str, row: tuple[int, str, str, int]) -> None:
        await self._tables.run(lambda c: c.execute(sql, row))

    async def record_last(self, sdkappid: int, entries: Sequence[LastMessage]) -> None:
        await self._tables.write_many(
            _RECORD_LAST,
            [
                (sdkappid, e.user, e.conversation, e.kind, e.peer, e.last_seq, e.last_time_ms)
                for e in entries
            ],
        )

    async def get(
        self, sdkappid: int, user: str, conversations: Sequence[str]
    ) -> dict[str, ConversationState]:
        wanted = list(dict.fromkeys(conversations))
        if not wanted:
            return {}

        def read(c: sqlite3.Connection) -> list[_Row]:
            marks = placeholders(len(wanted))
            return c.execute(
                f"SELECT {_COLUMNS} FROM conversations"
                f" WHERE sdkappid = ? AND user_id = ? AND conversation IN ({marks})",
                (sdkappid, user, *wanted),
            ).fetchall()

        return {r[0]: _state(user, r) for r in await self._tables.run(read)}

    async def list_for_user(self, sdkappid: int, user: str) -> list[ConversationState]:
        rows: list[_Row] = await self._tables.run(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE sdkappid = ? AND user_id = ?"
                " ORDER BY last_time_ms DESC, conversation DESC",
                (sdkappid, user),
            ).fetchall()
        )
        return [_state(user, r) for r in rows]

    async def set_read(self, sdkappid: int, user: str, conversation: str, read_seq: int) -> None:
        await self._upsert(_RAISE_READ, (sdkappid, user, conversation, read_seq))

    async def hide(self, sdkappid: int, user: str, conversation: str, up_to_seq: int) -> None:
        await self._upsert(_RAISE_HIDDEN, (sdkappid, user, conversation, up_to_seq))

    async def set_pinned(
        self, sdkappid: int, user: str, conversation: str, pinned_at_ms: int
    ) -> None:
        await self._upsert(_SET_PINNED, (sdkappid, user, conversation, pinned_at_ms))
