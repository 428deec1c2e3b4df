"""AVChatRoomStore on Cassandra (the avchatroom_admins and avchatroom_marks tables of
cassandra.SCHEMA_CQL).

One partition per group in each table, clustered by user ID (and mark): a group's admins or
marks are a single-partition read, ordered here (mockylla ignores clustering order). Writes
are plain upserts and deletes, one statement per row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.avchatroom import MemberMark

if TYPE_CHECKING:
    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_GROUP = " WHERE sdkappid = ? AND group_id = ?"


class CassandraAVChatRoomStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._put_admin = cql.prepare(
            "INSERT INTO avchatroom_admins (sdkappid, group_id, user_id) VALUES (?, ?, ?)"
        )
        self._delete_admin = cql.prepare(
            "DELETE FROM avchatroom_admins" + _GROUP + " AND user_id = ?"
        )
        self._admins = cql.prepare("SELECT user_id FROM avchatroom_admins" + _GROUP)
        self._drop_admins = cql.prepare("DELETE FROM avchatroom_admins" + _GROUP)
        self._put_mark = cql.prepare(
            "INSERT INTO avchatroom_marks (sdkappid, group_id, user_id, mark, set_ms)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._delete_mark = cql.prepare(
            "DELETE FROM avchatroom_marks" + _GROUP + " AND user_id = ? AND mark = ?"
        )
        self._marks = cql.prepare("SELECT user_id, mark, set_ms FROM avchatroom_marks" + _GROUP)
        self._drop_marks = cql.prepare("DELETE FROM avchatroom_marks" + _GROUP)

    async def add_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._put_admin, (sdkappid, group_id, u))
                for u in dict.fromkeys(users)
            )
        )

    async def remove_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._delete_admin, (sdkappid, group_id, u))
                for u in dict.fromkeys(users)
            )
        )

    async def admins(self, sdkappid: int, group_id: str) -> list[str]:
        rows = await self._cql.execute(self._admins, (sdkappid, group_id))
        return sorted(row[0] for row in rows)

    async def put_marks(self, sdkappid: int, group_id: str, marks: Sequence[MemberMark]) -> None:
        latest = {(m.user_id, m.mark): m for m in marks}
        await asyncio.gather(
            *(
                self._cql.execute(self._put_mark, (sdkappid, group_id, m.user_id, m.mark, m.set_ms))
                for m in latest.values()
            )
        )

    async def remove_marks(
        self, sdkappid: int, group_id: str, marks: Sequence[tuple[str, int]]
    ) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._delete_mark, (sdkappid, group_id, u, m))
                for u, m in dict.fromkeys(marks)
            )
        )

    async def marks(self, sdkappid: int, group_id: str) -> list[MemberMark]:
        rows = await self._cql.execute(self._marks, (sdkappid, group_id))
        found = [MemberMark(row[0], int(row[1]), int(row[2])) for row in rows]
        return sorted(found, key=lambda m: (m.user_id, m.mark))

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await asyncio.gather(
            self._cql.execute(self._drop_admins, (sdkappid, group_id)),
            self._cql.execute(self._drop_marks, (sdkappid, group_id)),
        )
