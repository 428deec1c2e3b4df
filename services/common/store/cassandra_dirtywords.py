"""DirtyWordStore on Cassandra (table in cassandra.SCHEMA_CQL): one partition per app."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraDirtyWordStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._list = cql.prepare("SELECT word FROM dirty_words WHERE sdkappid = ?")
        self._add = cql.prepare("INSERT INTO dirty_words (sdkappid, word) VALUES (?, ?)")
        self._delete = cql.prepare("DELETE FROM dirty_words WHERE sdkappid = ? AND word = ?")

    async def list_words(self, sdkappid: int) -> list[str]:
        rows = await self._cql.execute(self._list, (sdkappid,))
        # Sorted here: mockylla ignores the clustering order.
        return sorted(r[0] for r in rows)

    async def add_words(self, sdkappid: int, words: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._add, (sdkappid, w)) for w in dict.fromkeys(words))
        )

    async def delete_words(self, sdkappid: int, words: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._delete, (sdkappid, w)) for w in dict.fromkeys(words))
        )
