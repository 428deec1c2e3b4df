"""MessageDeletionStore on Cassandra (tables msg_hidden and group_msg_cleared of
cassandra.SCHEMA_CQL).

A user's hidden seqs of one conversation are one partition. A group's clears are one partition
with a row per clear, and the mark is their highest seq: plain upserts, so two clears at the
same moment cannot lower the mark (mockylla ignores clustering order, so the maximum is taken
here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession


class CassandraMessageDeletionStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._hide = cql.prepare(
            "INSERT INTO msg_hidden (sdkappid, user_id, conversation, seq) VALUES (?, ?, ?, ?)"
        )
        self._hidden = cql.prepare(
            "SELECT seq FROM msg_hidden WHERE sdkappid = ? AND user_id = ? AND conversation = ?"
        )
        self._clear = cql.prepare(
            "INSERT INTO group_msg_cleared (sdkappid, group_id, up_to_seq) VALUES (?, ?, ?)"
        )
        self._cleared = cql.prepare(
            "SELECT up_to_seq FROM group_msg_cleared WHERE sdkappid = ? AND group_id = ?"
        )

    async def hide(self, sdkappid: int, user: str, conversation: str, seqs: Sequence[int]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._hide, (sdkappid, user, conversation, s))
                for s in dict.fromkeys(seqs)
            )
        )

    async def hidden(self, sdkappid: int, user: str, conversation: str) -> set[int]:
        rows = await self._cql.execute(self._hidden, (sdkappid, user, conversation))
        return {int(r[0]) for r in rows}

    async def clear_group(self, sdkappid: int, group_id: str, up_to_seq: int) -> None:
        await self._cql.execute(self._clear, (sdkappid, group_id, up_to_seq))

    async def group_cleared(self, sdkappid: int, group_id: str) -> int:
        rows = await self._cql.execute(self._cleared, (sdkappid, group_id))
        return max((int(r[0]) for r in rows), default=0)
