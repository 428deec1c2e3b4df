"""FollowStore on the embedded SQLite file: one row per (app, follower, followed user).

Fans are read through the index by followed user; a mutual follow is a row whose reverse row
exists, dated by the later of the two (when the pair became mutual).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.follow import FollowCounts, FollowEntry, FollowList
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
  sdkappid INTEGER NOT NULL,
  owner TEXT NOT NULL,
  peer TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, owner, peer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS follows_by_peer ON follows (sdkappid, peer, owner);
"""

# The owner's rows whose reverse row exists: the owner's mutual follows.
_MUTUAL = (
    " FROM follows a JOIN follows b"
    " ON b.sdkappid = a.sdkappid AND b.owner = a.peer AND b.peer = a.owner"
)

_PAGE_SQL = {
    FollowList.FOLLOWING: "SELECT peer, since FROM follows"
    " WHERE sdkappid = ? AND owner = ? AND peer > ? ORDER BY peer LIMIT ?",
    FollowList.FANS: "SELECT owner, since FROM follows"
    " WHERE sdkappid = ? AND peer = ? AND owner > ? ORDER BY owner LIMIT ?",
    FollowList.MUTUAL: "SELECT a.peer, max(a.since, b.since)"
    + _MUTUAL
    + " WHERE a.sdkappid = ? AND a.owner = ? AND a.peer > ? ORDER BY a.peer LIMIT ?",
}


class SqliteFollowStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def follow(self, sdkappid: int, owner: str, peers: Sequence[str], at: int) -> None:
        await self._tables.write_many(
            "INSERT OR IGNORE INTO follows (sdkappid, owner, peer, since) VALUES (?, ?, ?, ?)",
            [(sdkappid, owner, p, at) for p in dict.fromkeys(peers)],
        )

    async def unfollow(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._tables.write_many(
            "DELETE FROM follows WHERE sdkappid = ? AND owner = ? AND peer = ?",
            [(sdkappid, owner, p) for p in dict.fromkeys(peers)],
        )

    async def _among(self, sql: str, sdkappid: int, user: str, others: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(others))
        if not wanted:
            return set()
        rows = await self._tables.run(
            lambda c: c.execute(
                sql.format(marks=placeholders(len(wanted))), (sdkappid, user, *wanted)
            ).fetchall()
        )
        return {r[0] for r in rows}

    async def following_among(self, sdkappid: int, owner: str, peers: Sequence[str]) -> set[str]:
        return await self._among(
            "SELECT peer FROM follows WHERE sdkappid = ? AND owner = ? AND peer IN ({marks})",
            sdkappid,
            owner,
            peers,
        )

    async def fans_among(self, sdkappid: int, owner: str, users: Sequence[str]) -> set[str]:
        return await self._among(
            "SELECT owner FROM follows WHERE sdkappid = ? AND peer = ? AND owner IN ({marks})",
            sdkappid,
            owner,
            users,
        )

    async def counts(self, sdkappid: int, users: Sequence[str]) -> dict[str, FollowCounts]:
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return {}
        marks = placeholders(len(wanted))
        args = (sdkappid, *wanted)

        def read(c: sqlite3.Connection) -> dict[str, FollowCounts]:
            def per_user(sql: str) -> dict[str, int]:
                return {u: int(n) for u, n in c.execute(sql, args).fetchall()}

            following = per_user(
                "SELECT owner, count(*) FROM follows"
                f" WHERE sdkappid = ? AND owner IN ({marks}) GROUP BY owner"
            )
            fans = per_user(
                "SELECT peer, count(*) FROM follows"
                f" WHERE sdkappid = ? AND peer IN ({marks}) GROUP BY peer"
            )
            mutual = per_user(
                "SELECT a.owner, count(*)"
                + _MUTUAL
                + f" WHERE a.sdkappid = ? AND a.owner IN ({marks}) GROUP BY a.owner"
            )
            return {
                u: FollowCounts(following.get(u, 0), fans.get(u, 0), mutual.get(u, 0))
                for u in wanted
            }

        return await self._tables.run(read)

    async def page(
        self, sdkappid: int, owner: str, which: FollowList, after: str, limit: int
    ) -> list[FollowEntry]:
        rows = await self._tables.run(
            lambda c: c.execute(_PAGE_SQL[which], (sdkappid, owner, after, limit)).fetchall()
        )
        return [FollowEntry(r[0], int(r[1])) for r in rows]

    async def delete_users(self, sdkappid: int, users: Sequence[str]) -> None:
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return
        marks = placeholders(len(wanted))
        await self._tables.write_many(
            f"DELETE FROM follows WHERE sdkappid = ? AND (owner IN ({marks}) OR peer IN ({marks}))",
            [(sdkappid, *wanted, *wanted)],
        )
