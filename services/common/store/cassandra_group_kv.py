"""GroupKvStore on Cassandra (table group_kv in cassandra.SCHEMA_CQL): each (app, group, kind)
is one document that changes atomically (cassandra_versioned.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from services.common.store.cassandra_versioned import VersionedDocuments
from services.common.store.group_kv import ATTRS, COUNTERS, AttrChange, CounterChange, GroupKvBusy

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

V = TypeVar("V")


class CassandraGroupKvStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._docs = VersionedDocuments(cql, "group_kv", ("sdkappid", "group_id", "kind"))

    async def _get(self, sdkappid: int, group_id: str, kind: str) -> dict[str, Any]:
        _, doc = await self._docs.read((sdkappid, group_id, kind))
        return dict(doc or {})

    async def _change(
        self,
        sdkappid: int,
        group_id: str,
        kind: str,
        change: Callable[[dict[str, V]], dict[str, V]],
    ) -> dict[str, V]:
        def apply(doc: Any) -> tuple[dict[str, V], dict[str, V]]:
            values = change(dict(doc or {}))
            return values, values

        def busy() -> Exception:
            return GroupKvBusy(f"group {group_id!r}: {kind} changed concurrently too often")

        return await self._docs.change((sdkappid, group_id, kind), apply, busy)

    async def get_counters(self, sdkappid: int, group_id: str) -> dict[str, int]:
        return await self._get(sdkappid, group_id, COUNTERS)

    async def change_counters(
        self, sdkappid: int, group_id: str, change: CounterChange
    ) -> dict[str, int]:
        return await self._change(sdkappid, group_id, COUNTERS, change)

    async def get_attrs(self, sdkappid: int, group_id: str) -> dict[str, str]:
        return await self._get(sdkappid, group_id, ATTRS)

    async def change_attrs(
        self, sdkappid: int, group_id: str, change: AttrChange
    ) -> dict[str, str]:
        return await self._change(sdkappid, group_id, ATTRS, change)

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        for kind in (COUNTERS, ATTRS):
            await self._docs.drop((sdkappid, group_id, kind))
