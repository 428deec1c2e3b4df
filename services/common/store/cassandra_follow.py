"""FollowStore on Cassandra (the follow_* tables of cassandra.SCHEMA_CQL).

Each list is its own table with one partition per (app, user), clustered by the other user's
UserID, so a page is a single-partition range read and a count a single-partition count:
follow_following (whom the user follows), follow_fans (who follows the user) and follow_mutual
(both ways). A follow writes the follower's and the followed user's rows; mutual rows are
written by the follow that completes the pair.

A follow writes its own rows before it reads whether the peer follows back, so when two users
follow each other at the same moment, at least one of the two requests sees the other's row and
writes the mutual pair. An unfollow racing the peer's follow can leave a mutual pair behind
until either of them follows or unfollows again. Writes are plain upserts without LWT.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.follow import FollowCounts, FollowEntry, FollowList

if TYPE_CHECKING:
    from cassandra.query import PreparedStatement

    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_OWNER = " WHERE sdkappid = ? AND owner = ?"
# (table, clustering column) of each list.
_TABLES = {
    FollowList.FOLLOWING: ("follow_following", "peer"),
    FollowList.FANS: ("follow_fans", "fan"),
    FollowList.MUTUAL: ("follow_mutual", "peer"),
}
_FAN_BATCH = 100


class _Table:
    """The statements of one list table."""

    def __init__(self, cql: CassandraSession, table: str, column: str) -> None:
        self.one = cql.prepare(f"SELECT {column} FROM {table}" + _OWNER + f" AND {column} = ?")
        self.all = cql.prepare(f"SELECT {column} FROM {table}" + _OWNER)
        self.count = cql.prepare(f"SELECT count(*) FROM {table}" + _OWNER)
        self.page = cql.prepare(
            f"SELECT {column}, since FROM {table}"
            + _OWNER
            + f" AND {column} > ? ORDER BY {column} ASC LIMIT ?"
        )
        self.put = cql.prepare(
            f"INSERT INTO {table} (sdkappid, owner, {column}, since) VALUES (?, ?, ?, ?)"
        )
        self.delete = cql.prepare(f"DELETE FROM {table}" + _OWNER + f" AND {column} = ?")
        self.delete_all = cql.prepare(f"DELETE FROM {table}" + _OWNER)


class CassandraFollowStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._tables = {which: _Table(cql, *names) for which, names in _TABLES.items()}
        self._following = self._tables[FollowList.FOLLOWING]
        self._fans = self._tables[FollowList.FANS]
        self._mutual = self._tables[FollowList.MUTUAL]

    async def _run_all(self, calls: Sequence[tuple[PreparedStatement, tuple[object, ...]]]) -> None:
        await asyncio.gather(*(self._cql.execute(s, args) for s, args in calls))

    async def _present(
        self, table: _Table, sdkappid: int, owner: str, keys: Sequence[str]
    ) -> set[str]:
        """The keys with a row in the owner's partition: point reads, as mockylla cannot bind
        `IN ?`."""
        wanted = list(dict.fromkeys(keys))
        found = await asyncio.gather(
            *(self._cql.execute(table.one, (sdkappid, owner, k)) for k in wanted)
        )
        return {k for k, rows in zip(wanted, found, strict=True) if rows}

    async def follow(self, sdkappid: int, owner: str, peers: Sequence[str], at: int) -> None:
        known = await self.following_among(sdkappid, owner, peers)
        new = [p for p in dict.fromkeys(peers) if p not in known]
        await self._run_all(
            [(self._following.put, (sdkappid, owner, p, at)) for p in new]
            + [(self._fans.put, (sdkappid, p, owner, at)) for p in new]
        )
        # Read after our own writes: see the module docstring.
        back = await self.fans_among(sdkappid, owner, new)
        await self._run_all(
            [(self._mutual.put, (sdkappid, owner, p, at)) for p in back]
            + [(self._mutual.put, (sdkappid, p, owner, at)) for p in back]
        )

    async def _unlink(self, sdkappid: int, follower: str, followed: Sequence[str]) -> None:
        """Delete the follower's follows of each followed user, and their mutual rows."""
        calls: list[tuple[PreparedStatement, tuple[object, ...]]] = []
        for p in dict.fromkeys(followed):
            calls += [
                (self._following.delete, (sdkappid, follower, p)),
                (self._fans.delete, (sdkappid, p, follower)),
                (self._mutual.delete, (sdkappid, follower, p)),
                (self._mutual.delete, (sdkappid, p, follower)),
            ]
        await self._run_all(calls)

    async def unfollow(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._unlink(sdkappid, owner, peers)

    async def following_among(self, sdkappid: int, owner: str, peers: Sequence[str]) -> set[str]:
        return await self._present(self._following, sdkappid, owner, peers)

    async def fans_among(self, sdkappid: int, owner: str, users: Sequence[str]) -> set[str]:
        return await self._present(self._fans, sdkappid, owner, users)

    async def _count(self, table: _Table, sdkappid: int, owner: str) -> int:
        rows = await self._cql.execute(table.count, (sdkappid, owner))
        return int(rows[0][0])

    async def counts(self, sdkappid: int, users: Sequence[str]) -> dict[str, FollowCounts]:
        wanted = list(dict.fromkeys(users))
        found = await asyncio.gather(
            *(
                self._count(table, sdkappid, u)
                for u in wanted
                for table in (self._following, self._fans, self._mutual)
            )
        )
        return {u: FollowCounts(*found[3 * i : 3 * i + 3]) for i, u in enumerate(wanted)}

    async def page(
        self, sdkappid: int, owner: str, which: FollowList, after: str, limit: int
    ) -> list[FollowEntry]:
        rows = await self._cql.execute(self._tables[which].page, (sdkappid, owner, after, limit))
        return [FollowEntry(r[0], int(r[1])) for r in rows]

    async def _keys(self, table: _Table, sdkappid: int, owner: str) -> list[str]:
        return [r[0] for r in await self._cql.execute(table.all, (sdkappid, owner))]

    async def delete_users(self, sdkappid: int, users: Sequence[str]) -> None:
        for user in dict.fromkeys(users):
            await self._unlink(sdkappid, user, await self._keys(self._following, sdkappid, user))
            fans = await self._keys(self._fans, sdkappid, user)
            # A user's fans are not capped: their rows go a batch of fans at a time.
            for start in range(0, len(fans), _FAN_BATCH):
                await asyncio.gather(
                    *(self._unlink(sdkappid, f, [user]) for f in fans[start : start + _FAN_BATCH])
                )
            await self._run_all([(t.delete_all, (sdkappid, user)) for t in self._tables.values()])
