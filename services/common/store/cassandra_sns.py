"""The cluster adapter for the relationship chain: one partition per (app, owner) per table
(the sns_* tables of cassandra.SCHEMA_CQL).

Every read names the owner, so each is a single-partition read; "whose list holds this peer"
is a point read per candidate owner, which is what friend_check and black_list_check ask (the
owners are the request's To_Account list), so no table keyed by peer is kept.

Writes are plain upserts without LWT. Two requests writing the same owner's meta (sequences,
groups) at once can lose one increment; Tencent answers 30008 (write conflict) in that case
and asks callers to batch a user's writes, which keeps the window as small here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.sns import (
    BlockEntry,
    Friend,
    Pendency,
    SnsMeta,
    doc_to_friend,
    doc_to_meta,
    doc_to_pendency,
    friend_to_doc,
    meta_to_doc,
    pendency_to_doc,
)

if TYPE_CHECKING:
    from cassandra.query import PreparedStatement

    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_OWNER = " WHERE sdkappid = ? AND owner = ?"


class CassandraSnsStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        # Point reads per key rather than `peer IN ?`: mockylla cannot bind IN.
        self._friend_one = cql.prepare(
            "SELECT peer, add_time, doc FROM sns_friends" + _OWNER + " AND peer = ?"
        )
        self._friend_all = cql.prepare("SELECT peer, add_time, doc FROM sns_friends" + _OWNER)
        self._friend_count = cql.prepare("SELECT count(*) FROM sns_friends" + _OWNER)
        self._friend_put = cql.prepare(
            "INSERT INTO sns_friends (sdkappid, owner, peer, add_time, doc) VALUES (?, ?, ?, ?, ?)"
        )
        self._friend_delete = cql.prepare("DELETE FROM sns_friends" + _OWNER + " AND peer = ?")
        self._block_one = cql.prepare(
            "SELECT peer, added_at FROM sns_blocks" + _OWNER + " AND peer = ?"
        )
        self._block_all = cql.prepare("SELECT peer, added_at FROM sns_blocks" + _OWNER)
        self._block_count = cql.prepare("SELECT count(*) FROM sns_blocks" + _OWNER)
        self._block_put = cql.prepare(
            "INSERT INTO sns_blocks (sdkappid, owner, peer, added_at) VALUES (?, ?, ?, ?)"
        )
        self._block_delete = cql.prepare("DELETE FROM sns_blocks" + _OWNER + " AND peer = ?")
        self._pendency_all = cql.prepare(
            "SELECT requester, add_time, doc FROM sns_pendencies" + _OWNER
        )
        self._pendency_put = cql.prepare(
            "INSERT INTO sns_pendencies (sdkappid, owner, requester, add_time, doc)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._pendency_delete = cql.prepare(
            "DELETE FROM sns_pendencies" + _OWNER + " AND requester = ?"
        )
        self._meta_get = cql.prepare("SELECT doc FROM sns_meta" + _OWNER)
        self._meta_put = cql.prepare("INSERT INTO sns_meta (sdkappid, owner, doc) VALUES (?, ?, ?)")

    async def _point_reads(
        self, statement: PreparedStatement, sdkappid: int, owner: str, keys: Sequence[str]
    ) -> list[Any]:
        found = await asyncio.gather(
            *(self._cql.execute(statement, (sdkappid, owner, k)) for k in dict.fromkeys(keys))
        )
        return [r for rows in found for r in rows]

    async def _owners_holding(
        self, statement: PreparedStatement, sdkappid: int, peer: str, owners: Sequence[str]
    ) -> set[str]:
        candidates = list(dict.fromkeys(owners))
        found = await asyncio.gather(
            *(self._cql.execute(statement, (sdkappid, o, peer)) for o in candidates)
        )
        return {o for o, rows in zip(candidates, found, strict=True) if rows}

    async def _deletes(
        self, statement: PreparedStatement, sdkappid: int, owner: str, keys: Sequence[str]
    ) -> None:
        await asyncio.gather(
            *(self._cql.execute(statement, (sdkappid, owner, k)) for k in dict.fromkeys(keys))
        )

    async def get_friends(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, Friend]:
        rows = await self._point_reads(self._friend_one, sdkappid, owner, peers)
        return {r[0]: doc_to_friend(owner, r[0], r[1], r[2]) for r in rows}

    async def list_friends(self, sdkappid: int, owner: str) -> list[Friend]:
        rows = await self._cql.execute(self._friend_all, (sdkappid, owner))
        # Rows come clustered by peer; the port promises add-time order. At most a user's
        # friend quota (3,000) rows.
        friends = [doc_to_friend(owner, r[0], r[1], r[2]) for r in rows]
        return sorted(friends, key=lambda f: (f.add_time, f.peer))

    async def count_friends(self, sdkappid: int, owner: str) -> int:
        rows = await self._cql.execute(self._friend_count, (sdkappid, owner))
        return int(rows[0][0])

    async def friend_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        return await self._owners_holding(self._friend_one, sdkappid, peer, owners)

    async def put_friends(self, sdkappid: int, friends: Sequence[Friend]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._friend_put, (sdkappid, f.owner, f.peer, f.add_time, friend_to_doc(f))
                )
                for f in friends
            )
        )

    async def delete_friends(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._deletes(self._friend_delete, sdkappid, owner, peers)

    async def get_blocked(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, BlockEntry]:
        rows = await self._point_reads(self._block_one, sdkappid, owner, peers)
        return {r[0]: BlockEntry(owner, r[0], r[1]) for r in rows}

    async def list_blocked(self, sdkappid: int, owner: str) -> list[BlockEntry]:
        rows = await self._cql.execute(self._block_all, (sdkappid, owner))
        entries = [BlockEntry(owner, r[0], r[1]) for r in rows]
        return sorted(entries, key=lambda e: (e.added_at, e.peer))

    async def count_blocked(self, sdkappid: int, owner: str) -> int:
        rows = await self._cql.execute(self._block_count, (sdkappid, owner))
        return int(rows[0][0])

    async def blocker_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        return await self._owners_holding(self._block_one, sdkappid, peer, owners)

    async def put_blocked(self, sdkappid: int, entries: Sequence[BlockEntry]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._block_put, (sdkappid, e.owner, e.peer, e.added_at))
                for e in entries
            )
        )

    async def delete_blocked(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._deletes(self._block_delete, sdkappid, owner, peers)

    async def put_pendencies(self, sdkappid: int, pendencies: Sequence[Pendency]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._pendency_put,
                    (sdkappid, p.owner, p.requester, p.add_time, pendency_to_doc(p)),
                )
                for p in pendencies
            )
        )

    async def list_pendencies(self, sdkappid: int, owner: str) -> list[Pendency]:
        rows = await self._cql.execute(self._pendency_all, (sdkappid, owner))
        pendencies = [doc_to_pendency(owner, r[0], r[1], r[2]) for r in rows]
        return sorted(pendencies, key=lambda p: (p.add_time, p.requester))

    async def delete_pendencies(self, sdkappid: int, owner: str, requesters: Sequence[str]) -> None:
        await self._deletes(self._pendency_delete, sdkappid, owner, requesters)

    async def get_meta(self, sdkappid: int, owner: str) -> SnsMeta:
        rows = await self._cql.execute(self._meta_get, (sdkappid, owner))
        return doc_to_meta(rows[0][0]) if rows else SnsMeta()

    async def put_meta(self, sdkappid: int, owner: str, meta: SnsMeta) -> None:
        await self._cql.execute(self._meta_put, (sdkappid, owner, meta_to_doc(meta)))
