"""The cluster adapter for the conversation store: one partition per (app, user).

One table, not one per writer. Every write is an UPDATE naming only its own columns, and
Cassandra resolves conflicts cell by cell, so audit's last-message writes and the gateway's
read/hide/pin writes never overwrite each other even though they share a row; a second table
would only make `get` and `list_for_user` read twice. (An INSERT of some columns would merge
the same way on a cluster, but mockylla replaces the whole row on INSERT, so UPDATE it is.)

"Never lower" is a read then a conditional write: CQL has no conditional max short of LWT,
and mockylla cannot bind LWT conditions. Two writers of the same field of the same
user-conversation could interleave and land the lower value last. In practice each field has
one writer at a time: last_* comes from audit, which consumes a conversation's messages from
one partition, in order; read/hide come from the gateway on the user's own requests, where a
lost race between two devices is corrected by the next read report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.conversations import ConversationState, LastMessage

if TYPE_CHECKING:
    from cassandra.query import PreparedStatement

    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

# Cells never written (a row created by set_read has no last message) read back as null.
_SELECT = (
    "SELECT conversation, kind, peer, last_seq, last_time_ms, read_seq, hidden_seq,"
    " pinned_at_ms FROM conversations"
)
_KEY = " WHERE sdkappid = ? AND user_id = ? AND conversation = ?"


def _state(user: str, r: Any) -> ConversationState:
    return ConversationState(
        user,
        r[0],
        r[1] or 0,
        r[2] or "",
        r[3] or 0,
        r[4] or 0,
        r[5] or 0,
        r[6] or 0,
        r[7] or 0,
    )


class CassandraConversationStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        # One read per conversation rather than `conversation IN ?`: mockylla cannot bind IN.
        self._get_one = cql.prepare(_SELECT + _KEY)
        self._list = cql.prepare(_SELECT + " WHERE sdkappid = ? AND user_id = ?")
        self._set_last = cql.prepare(
            "UPDATE conversations SET kind = ?, peer = ?, last_seq = ?, last_time_ms = ?" + _KEY
        )
        self._set_read = cql.prepare("UPDATE conversations SET read_seq = ?" + _KEY)
        self._set_hidden = cql.prepare("UPDATE conversations SET hidden_seq = ?" + _KEY)
        self._set_pinned = cql.prepare("UPDATE conversations SET pinned_at_ms = ?" + _KEY)

    async def _current(
        self, sdkappid: int, user: str, conversation: str
    ) -> ConversationState | None:
        rows = await self._cql.execute(self._get_one, (sdkappid, user, conversation))
        return _state(user, rows[0]) if rows else None

    async def record_last(self, sdkappid: int, entries: Sequence[LastMessage]) -> None:
        # Only the newest entry per user-conversation can win, and writing one per key keeps
        # the batch's own entries from racing each other.
        newest: dict[tuple[str, str], LastMessage] = {}
        for e in entries:
            key = (e.user, e.conversation)
            if key not in newest or e.last_seq > newest[key].last_seq:
                newest[key] = e
        await asyncio.gather(*(self._record_one(sdkappid, e) for e in newest.values()))

    async def _record_one(self, sdkappid: int, e: LastMessage) -> None:
        current = await self._current(sdkappid, e.user, e.conversation)
        if current is None or e.last_seq > current.last_seq:
            await self._cql.execute(
                self._set_last,
                (e.kind, e.peer, e.last_seq, e.last_time_ms, sdkappid, e.user, e.conversation),
            )

    async def get(
        self, sdkappid: int, user: str, conversations: Sequence[str]
    ) -> dict[str, ConversationState]:
        found = await asyncio.gather(
            *(self._current(sdkappid, user, c) for c in dict.fromkeys(conversations))
        )
        return {s.conversation: s for s in found if s is not None}

    async def list_for_user(self, sdkappid: int, user: str) -> list[ConversationState]:
        # The whole partition is the user's list; the conversation breaks ties as in SQLite.
        rows = await self._cql.execute(self._list, (sdkappid, user))
        states = [_state(user, r) for r in rows]
        states.sort(key=lambda s: (s.last_time_ms, s.conversation), reverse=True)
        return states

    async def set_read(self, sdkappid: int, user: str, conversation: str, read_seq: int) -> None:
        current = await self._current(sdkappid, user, conversation)
        if current is None or read_seq > current.read_seq:
            await self._write(self._set_read, read_seq, sdkappid, user, conversation)

    async def hide(self, sdkappid: int, user: str, conversation: str, up_to_seq: int) -> None:
        # Never lowered either: a late, older delete must not bring back what a newer one hid.
        current = await self._current(sdkappid, user, conversation)
        if current is None or up_to_seq > current.hidden_seq:
            await self._write(self._set_hidden, up_to_seq, sdkappid, user, conversation)

    async def set_pinned(
        self, sdkappid: int, user: str, conversation: str, pinned_at_ms: int
    ) -> None:
        await self._write(self._set_pinned, pinned_at_ms, sdkappid, user, conversation)

    async def _write(
        self, statement: PreparedStatement, value: int, sdkappid: int, user: str, conv: str
    ) -> None:
        await self._cql.execute(statement, (value, sdkappid, user, conv))
