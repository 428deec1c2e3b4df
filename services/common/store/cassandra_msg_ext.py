"""MsgExtStore on Cassandra (table msg_ext in cassandra.SCHEMA_CQL).

One partition per (app, conversation, message seq), clustered by version, newest first; the
current extensions are the newest row, as JSON. A change writes version n+1 with INSERT ...
IF NOT EXISTS, a lightweight transaction: of two changes made from version n, one claims n+1
and the other reads again and retries. The winner then deletes the versions before its own.
This is cassandra_group_kv.py's approach, for the same reason (mockylla binds no parameters
in IF clauses, so `UPDATE ... IF version = ?` cannot be tested).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeVar

from services.common.store.msg_ext import ExtChange, MsgExtBusy, MsgExtensions

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

T = TypeVar("T")

# Changes of one message's extensions tried before giving up (MsgExtBusy): each lost round
# means another change of the same message went through.
_ATTEMPTS = 16


class CassandraMsgExtStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        where = "WHERE sdkappid = ? AND conversation = ? AND msg_seq = ?"
        self._latest = cql.prepare(
            f"SELECT version, doc FROM msg_ext {where} ORDER BY version DESC LIMIT 1"
        )
        self._claim = cql.prepare(
            "INSERT INTO msg_ext (sdkappid, conversation, msg_seq, version, doc)"
            " VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"
        )
        self._prune = cql.prepare(f"DELETE FROM msg_ext {where} AND version < ?")

    async def _read(self, key: tuple[int, str, int]) -> tuple[int, MsgExtensions]:
        rows = await self._cql.execute(self._latest, key)
        if not rows:
            return 0, MsgExtensions()
        return int(rows[0][0]), MsgExtensions.from_doc(json.loads(rows[0][1]))

    async def get(self, sdkappid: int, conversation: str, msg_seq: int) -> MsgExtensions:
        return (await self._read((sdkappid, conversation, msg_seq)))[1]

    async def change(
        self, sdkappid: int, conversation: str, msg_seq: int, change: ExtChange[T]
    ) -> T:
        key = (sdkappid, conversation, msg_seq)
        for _ in range(_ATTEMPTS):
            version, current = await self._read(key)
            extensions, result = change(current)
            doc = json.dumps(extensions.to_doc())
            claimed = await self._cql.execute(self._claim, (*key, version + 1, doc))
            if claimed[0][0]:
                await self._cql.execute(self._prune, (*key, version + 1))
                return result
        raise MsgExtBusy(f"message {msg_seq} of {conversation!r}: changed concurrently too often")
