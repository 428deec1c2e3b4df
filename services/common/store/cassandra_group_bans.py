"""GroupBanStore on Cassandra (the group_bans table of cassandra.SCHEMA_CQL).

One partition per group, clustered by user ID: a group's list is a single-partition read,
filtered and ordered here (mockylla ignores clustering order), and a user's ban is one row
read (one query per user, as mockylla cannot bind `IN ?`). Writes are plain upserts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.group_bans import GroupBan

if TYPE_CHECKING:
    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_GROUP = " WHERE sdkappid = ? AND group_id = ?"


def _ban(row: Any) -> GroupBan:
    return GroupBan(row[0], int(row[1]), row[2] or "")


class CassandraGroupBanStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._put = cql.prepare(
            "INSERT INTO group_bans (sdkappid, group_id, user_id, banned_until, description)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._delete = cql.prepare("DELETE FROM group_bans" + _GROUP + " AND user_id = ?")
        self._one = cql.prepare(
            "SELECT user_id, banned_until, description FROM group_bans"
            + _GROUP
            + " AND user_id = ?"
        )
        self._all = cql.prepare(
            "SELECT user_id, banned_until, description FROM group_bans" + _GROUP
        )
        self._drop = cql.prepare("DELETE FROM group_bans" + _GROUP)

    async def ban(self, sdkappid: int, group_id: str, bans: Sequence[GroupBan]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._put, (sdkappid, group_id, b.user_id, b.until, b.description)
                )
                for b in {b.user_id: b for b in bans}.values()
            )
        )

    async def unban(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._delete, (sdkappid, group_id, u))
                for u in dict.fromkeys(users)
            )
        )

    async def banned(
        self, sdkappid: int, group_id: str, users: Sequence[str], now: int
    ) -> dict[str, GroupBan]:
        found = await asyncio.gather(
            *(self._cql.execute(self._one, (sdkappid, group_id, u)) for u in dict.fromkeys(users))
        )
        bans = [_ban(row) for rows in found for row in rows]
        return {b.user_id: b for b in bans if b.until > now}

    async def list_bans(self, sdkappid: int, group_id: str, now: int) -> list[GroupBan]:
        rows = await self._cql.execute(self._all, (sdkappid, group_id))
        return sorted((b for b in map(_ban, rows) if b.until > now), key=lambda b: b.user_id)

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await self._cql.execute(self._drop, (sdkappid, group_id))
