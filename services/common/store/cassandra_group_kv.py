"""GroupKvStore on Cassandra (table group_kv in cassandra.SCHEMA_CQL).

One partition per (app, group, kind), clustered by version, newest first; the current values
are the newest row, as JSON. A change writes version n+1 with INSERT ... IF NOT EXISTS, a
lightweight transaction: of two changes made from version n, one claims n+1 and the other
reads again and retries. The winner then deletes the versions before its own, so a partition
holds one live row. (A compare-and-set on one row, `UPDATE ... IF version = ?`, would be
the obvious form, but mockylla binds no parameters in IF clauses.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from services.common.store.group_kv import ATTRS, COUNTERS, AttrChange, CounterChange, GroupKvBusy

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

V = TypeVar("V")

# Changes of one group's counters or attributes tried before giving up (GroupKvBusy): each
# lost round means another change of the same group went through.
_ATTEMPTS = 16


class CassandraGroupKvStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        where = "WHERE sdkappid = ? AND group_id = ? AND kind = ?"
        self._latest = cql.prepare(
            f"SELECT version, doc FROM group_kv {where} ORDER BY version DESC LIMIT 1"
        )
        self._claim = cql.prepare(
            "INSERT INTO group_kv (sdkappid, group_id, kind, version, doc)"
            " VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"
        )
        self._prune = cql.prepare(f"DELETE FROM group_kv {where} AND version < ?")
        self._drop = cql.prepare(f"DELETE FROM group_kv {where}")

    async def _read(self, key: tuple[int, str, str]) -> tuple[int, dict[str, Any]]:
        rows = await self._cql.execute(self._latest, key)
        if not rows:
            return 0, {}
        return int(rows[0][0]), dict(json.loads(rows[0][1]))

    async def _change(
        self,
        sdkappid: int,
        group_id: str,
        kind: str,
        change: Callable[[dict[str, V]], dict[str, V]],
    ) -> dict[str, V]:
        key = (sdkappid, group_id, kind)
        for _ in range(_ATTEMPTS):
            version, current = await self._read(key)
            values = change(current)
            claimed = await self._cql.execute(self._claim, (*key, version + 1, json.dumps(values)))
            if claimed[0][0]:
                await self._cql.execute(self._prune, (*key, version + 1))
                return values
        raise GroupKvBusy(f"group {group_id!r}: {kind} changed concurrently too often")

    async def get_counters(self, sdkappid: int, group_id: str) -> dict[str, int]:
        return (await self._read((sdkappid, group_id, COUNTERS)))[1]

    async def change_counters(
        self, sdkappid: int, group_id: str, change: CounterChange
    ) -> dict[str, int]:
        return await self._change(sdkappid, group_id, COUNTERS, change)

    async def get_attrs(self, sdkappid: int, group_id: str) -> dict[str, str]:
        return (await self._read((sdkappid, group_id, ATTRS)))[1]

    async def change_attrs(
        self, sdkappid: int, group_id: str, change: AttrChange
    ) -> dict[str, str]:
        return await self._change(sdkappid, group_id, ATTRS, change)

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        for kind in (COUNTERS, ATTRS):
            await self._cql.execute(self._drop, (sdkappid, group_id, kind))
