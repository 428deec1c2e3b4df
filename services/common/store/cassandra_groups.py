"""The cluster adapter for groups (the group_* and user_groups tables of cassandra.SCHEMA_CQL).

- group_profiles: one partition per group, the profile. group_msg_state: the same key, the
  message path's fields (last message time, next seq). Two tables so that each has one
  writer and neither rewrites the other's cells.
- group_list: one partition per app, clustered by (list_key, group_id), for paging
  get_appid_group_list. A type filter reads through the app's partition (ALLOW FILTERING)
  until the page is full, which is what paging it in Python would do, minus the shipping.
- group_members / group_member_msg: one partition per group, clustered by user ID; the
  profile part and the message part, split for the same reason as the group tables.
- user_groups: one partition per (app, user): the groups a user is in.

A new group's ID is claimed with a lightweight transaction (INSERT ... IF NOT EXISTS), and so
is each new member, so two concurrent adds of one user add it once. Other writes are plain
upserts; the index tables are written after the member rows they mirror.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.groups import (
    Group,
    GroupRef,
    JoinedGroup,
    Member,
    defined_to_doc,
    doc_to_defined,
)

if TYPE_CHECKING:
    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_PROFILE_COLUMNS = (
    "group_type, list_key, name, owner, introduction, notification, face_url, max_members,"
    " apply_join_option, invite_join_option, mute_all, support_topic, create_time, info_seq,"
    " last_info_time, app_defined"
)
_MEMBER_COLUMNS = "user_id, role, join_time, mute_until, msg_flag, name_card, app_defined"
_MEMBER_MSG_COLUMNS = "user_id, msg_seq, last_send_msg_time, unread_msg_num"
_GROUP = " WHERE sdkappid = ? AND group_id = ?"


def _profile_row(sdkappid: int, g: Group) -> tuple[object, ...]:
    return (
        sdkappid,
        g.group_id,
        g.group_type,
        g.list_key,
        g.name,
        g.owner,
        g.introduction,
        g.notification,
        g.face_url,
        g.max_members,
        g.apply_join_option,
        g.invite_join_option,
        g.mute_all,
        g.support_topic,
        g.create_time,
        g.info_seq,
        g.last_info_time,
        defined_to_doc(g.app_defined),
    )


def _to_group(group_id: str, r: Sequence[Any], msg_state: Sequence[Any] | None) -> Group:
    return Group(
        group_id=group_id,
        group_type=r[0],
        list_key=r[1],
        name=r[2],
        owner=r[3],
        introduction=r[4],
        notification=r[5],
        face_url=r[6],
        max_members=r[7],
        apply_join_option=r[8],
        invite_join_option=r[9],
        mute_all=bool(r[10]),
        support_topic=bool(r[11]),
        create_time=r[12],
        info_seq=r[13],
        last_info_time=r[14],
        app_defined=doc_to_defined(r[15]),
        last_msg_time=msg_state[0] if msg_state else 0,
        next_msg_seq=msg_state[1] if msg_state else 1,
    )


def _member_row(sdkappid: int, group_id: str, m: Member) -> tuple[object, ...]:
    return (
        sdkappid,
        group_id,
        m.user_id,
        m.role,
        m.join_time,
        m.mute_until,
        m.msg_flag,
        m.name_card,
        defined_to_doc(m.app_defined),
    )


def _to_member(r: Sequence[Any], msg: Sequence[Any] | None) -> Member:
    return Member(
        user_id=r[0],
        role=r[1],
        join_time=r[2],
        mute_until=r[3],
        msg_flag=r[4],
        name_card=r[5],
        app_defined=doc_to_defined(r[6]),
        msg_seq=msg[1] if msg else 0,
        last_send_msg_time=msg[2] if msg else 0,
        unread_msg_num=msg[3] if msg else 0,
    )


class CassandraGroupStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        p = cql.prepare
        self._profile_claim = p(
            f"INSERT INTO group_profiles (sdkappid, group_id, {_PROFILE_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
        )
        self._profile_put = p(
            f"INSERT INTO group_profiles (sdkappid, group_id, {_PROFILE_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._profile_get = p(f"SELECT {_PROFILE_COLUMNS} FROM group_profiles" + _GROUP)
        self._profile_delete = p("DELETE FROM group_profiles" + _GROUP)
        self._msg_state_put = p(
            "INSERT INTO group_msg_state (sdkappid, group_id, last_msg_time, next_msg_seq)"
            " VALUES (?, ?, ?, ?)"
        )
        self._msg_state_get = p("SELECT last_msg_time, next_msg_seq FROM group_msg_state" + _GROUP)
        self._msg_state_delete = p("DELETE FROM group_msg_state" + _GROUP)
        self._list_put = p(
            "INSERT INTO group_list (sdkappid, list_key, group_id, group_type) VALUES (?, ?, ?, ?)"
        )
        self._list_delete = p(
            "DELETE FROM group_list WHERE sdkappid = ? AND list_key = ? AND group_id = ?"
        )
        # mockylla ignores clustering order, so every multi-row read names its order.
        self._list_all = p(
            "SELECT group_id, group_type, list_key FROM group_list"
            " WHERE sdkappid = ? AND list_key > ? ORDER BY list_key ASC LIMIT ?"
        )
        self._list_typed = p(
            "SELECT group_id, group_type, list_key FROM group_list"
            " WHERE sdkappid = ? AND list_key > ? AND group_type = ?"
            " ORDER BY list_key ASC LIMIT ? ALLOW FILTERING"
        )
        self._count_all = p("SELECT count(*) FROM group_list WHERE sdkappid = ?")
        self._count_typed = p(
            "SELECT count(*) FROM group_list WHERE sdkappid = ? AND group_type = ? ALLOW FILTERING"
        )
        self._member_claim = p(
            f"INSERT INTO group_members (sdkappid, group_id, {_MEMBER_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
        )
        self._member_put = p(
            f"INSERT INTO group_members (sdkappid, group_id, {_MEMBER_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._member_all = p(
            f"SELECT {_MEMBER_COLUMNS} FROM group_members" + _GROUP + " ORDER BY user_id ASC"
        )
        self._member_after = p(
            f"SELECT {_MEMBER_COLUMNS} FROM group_members"
            + _GROUP
            + " AND user_id > ? ORDER BY user_id ASC LIMIT ?"
        )
        self._member_one = p(
            f"SELECT {_MEMBER_COLUMNS} FROM group_members" + _GROUP + " AND user_id = ?"
        )
        self._member_count = p("SELECT count(*) FROM group_members" + _GROUP)
        self._member_delete = p("DELETE FROM group_members" + _GROUP + " AND user_id = ?")
        self._members_delete = p("DELETE FROM group_members" + _GROUP)
        self._member_msg_put = p(
            f"INSERT INTO group_member_msg (sdkappid, group_id, {_MEMBER_MSG_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._member_msg_all = p(f"SELECT {_MEMBER_MSG_COLUMNS} FROM group_member_msg" + _GROUP)
        self._member_msg_range = p(
            f"SELECT {_MEMBER_MSG_COLUMNS} FROM group_member_msg"
            + _GROUP
            + " AND user_id > ? AND user_id <= ?"
        )
        self._member_msg_one = p(
            f"SELECT {_MEMBER_MSG_COLUMNS} FROM group_member_msg" + _GROUP + " AND user_id = ?"
        )
        self._member_msg_delete = p("DELETE FROM group_member_msg" + _GROUP + " AND user_id = ?")
        self._members_msg_delete = p("DELETE FROM group_member_msg" + _GROUP)
        self._joined_put = p(
            "INSERT INTO user_groups (sdkappid, user_id, group_id, group_type) VALUES (?, ?, ?, ?)"
        )
        self._joined_all = p(
            "SELECT group_id, group_type FROM user_groups WHERE sdkappid = ? AND user_id = ?"
        )
        self._joined_delete = p(
            "DELETE FROM user_groups WHERE sdkappid = ? AND user_id = ? AND group_id = ?"
        )

    async def create_group(self, sdkappid: int, group: Group, members: Sequence[Member]) -> bool:
        if not group.list_key:
            group.list_key = time.time_ns() // 1000
        claimed = await self._cql.execute(self._profile_claim, _profile_row(sdkappid, group))
        if not claimed[0][0]:
            return False
        g = group
        await asyncio.gather(
            self._cql.execute(
                self._msg_state_put, (sdkappid, g.group_id, g.last_msg_time, g.next_msg_seq)
            ),
            self._cql.execute(self._list_put, (sdkappid, g.list_key, g.group_id, g.group_type)),
        )
        # A fresh group has no members yet, so every claim succeeds.
        await self.add_members(sdkappid, g.group_id, g.group_type, members)
        return True

    async def get_group(self, sdkappid: int, group_id: str) -> Group | None:
        profile, msg_state = await asyncio.gather(
            self._cql.execute(self._profile_get, (sdkappid, group_id)),
            self._cql.execute(self._msg_state_get, (sdkappid, group_id)),
        )
        if not profile:
            return None
        return _to_group(group_id, profile[0], msg_state[0] if msg_state else None)

    async def get_groups(self, sdkappid: int, group_ids: Sequence[str]) -> dict[str, Group]:
        ids = list(dict.fromkeys(group_ids))
        found = await asyncio.gather(*(self.get_group(sdkappid, g) for g in ids))
        return {g.group_id: g for g in found if g is not None}

    async def save_group(self, sdkappid: int, group: Group) -> None:
        await self._cql.execute(self._profile_put, _profile_row(sdkappid, group))

    async def delete_group(self, sdkappid: int, group_id: str) -> None:
        group = await self.get_group(sdkappid, group_id)
        if group is None:
            return
        members = await self._cql.execute(self._member_all, (sdkappid, group_id))
        await asyncio.gather(
            *(self._cql.execute(self._joined_delete, (sdkappid, r[0], group_id)) for r in members)
        )
        await asyncio.gather(
            self._cql.execute(self._members_delete, (sdkappid, group_id)),
            self._cql.execute(self._members_msg_delete, (sdkappid, group_id)),
            self._cql.execute(self._list_delete, (sdkappid, group.list_key, group_id)),
            self._cql.execute(self._msg_state_delete, (sdkappid, group_id)),
        )
        # Last, so a delete that fails half way can be retried: the group is still found.
        await self._cql.execute(self._profile_delete, (sdkappid, group_id))

    async def list_groups(
        self, sdkappid: int, group_type: str | None, after_key: int, limit: int
    ) -> list[GroupRef]:
        if group_type is None:
            rows = await self._cql.execute(self._list_all, (sdkappid, after_key, limit))
        else:
            rows = await self._cql.execute(
                self._list_typed, (sdkappid, after_key, group_type, limit)
            )
        return [GroupRef(r[0], r[1], r[2]) for r in rows]

    async def count_groups(self, sdkappid: int, group_type: str | None) -> int:
        if group_type is None:
            rows = await self._cql.execute(self._count_all, (sdkappid,))
        else:
            rows = await self._cql.execute(self._count_typed, (sdkappid, group_type))
        return int(rows[0][0])

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        rows, msg_rows = await asyncio.gather(
            self._cql.execute(self._member_all, (sdkappid, group_id)),
            self._cql.execute(self._member_msg_all, (sdkappid, group_id)),
        )
        msg = {r[0]: r for r in msg_rows}
        return [_to_member(r, msg.get(r[0])) for r in rows]

    async def members_after(
        self, sdkappid: int, group_id: str, after_user: str, limit: int
    ) -> list[Member]:
        rows = await self._cql.execute(self._member_after, (sdkappid, group_id, after_user, limit))
        if not rows:
            return []
        msg_rows = await self._cql.execute(
            self._member_msg_range, (sdkappid, group_id, after_user, rows[-1][0])
        )
        msg = {r[0]: r for r in msg_rows}
        return [_to_member(r, msg.get(r[0])) for r in rows]

    async def get_members(
        self, sdkappid: int, group_id: str, user_ids: Sequence[str]
    ) -> dict[str, Member]:
        # One read per user rather than `user_id IN ?`: mockylla cannot bind IN.
        ids = list(dict.fromkeys(user_ids))
        found = await asyncio.gather(
            *(self._cql.execute(self._member_one, (sdkappid, group_id, u)) for u in ids),
            *(self._cql.execute(self._member_msg_one, (sdkappid, group_id, u)) for u in ids),
        )
        profiles, msgs = found[: len(ids)], found[len(ids) :]
        return {
            rows[0][0]: _to_member(rows[0], msg_rows[0] if msg_rows else None)
            for rows, msg_rows in zip(profiles, msgs, strict=True)
            if rows
        }

    async def count_members(self, sdkappid: int, group_id: str) -> int:
        rows = await self._cql.execute(self._member_count, (sdkappid, group_id))
        return int(rows[0][0])

    async def add_members(
        self, sdkappid: int, group_id: str, group_type: str, members: Sequence[Member]
    ) -> list[str]:
        unique = list({m.user_id: m for m in members}.values())
        claims = await asyncio.gather(
            *(
                self._cql.execute(self._member_claim, _member_row(sdkappid, group_id, m))
                for m in unique
            )
        )
        added = [m for m, rows in zip(unique, claims, strict=True) if rows[0][0]]
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._member_msg_put,
                    (
                        sdkappid,
                        group_id,
                        m.user_id,
                        m.msg_seq,
                        m.last_send_msg_time,
                        m.unread_msg_num,
                    ),
                )
                for m in added
            ),
            *(
                self._cql.execute(self._joined_put, (sdkappid, m.user_id, group_id, group_type))
                for m in added
            ),
        )
        return [m.user_id for m in added]

    async def put_members(self, sdkappid: int, group_id: str, members: Sequence[Member]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._member_put, _member_row(sdkappid, group_id, m))
                for m in members
            )
        )

    async def remove_members(self, sdkappid: int, group_id: str, user_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(user_ids))
        await asyncio.gather(
            *(self._cql.execute(self._member_delete, (sdkappid, group_id, u)) for u in ids),
            *(self._cql.execute(self._member_msg_delete, (sdkappid, group_id, u)) for u in ids),
            *(self._cql.execute(self._joined_delete, (sdkappid, u, group_id)) for u in ids),
        )

    async def joined_groups(self, sdkappid: int, user_id: str) -> list[JoinedGroup]:
        rows = await self._cql.execute(self._joined_all, (sdkappid, user_id))
        # Sorted here: mockylla ignores the clustering order.
        return sorted((JoinedGroup(r[0], r[1]) for r in rows), key=lambda j: j.group_id)

    async def record_messages(
        self, sdkappid: int, group_id: str, last_msg_time: int, next_msg_seq: int
    ) -> None:
        # Read, then write the larger values, without a lightweight transaction: the audit
        # archive is the only writer, and one consumer owns a group's partition, so writes for
        # a group do not race; a replay reads the newer values and writes nothing. A missing
        # row means the group was destroyed, and is not brought back.
        rows = await self._cql.execute(self._msg_state_get, (sdkappid, group_id))
        if not rows:
            return
        old_time, old_seq = rows[0][0] or 0, rows[0][1] or 0
        new_time, new_seq = max(old_time, last_msg_time), max(old_seq, next_msg_seq)
        if (new_time, new_seq) != (old_time, old_seq):
            await self._cql.execute(self._msg_state_put, (sdkappid, group_id, new_time, new_seq))

    async def set_unread_msg_num(
        self, sdkappid: int, group_id: str, user_id: str, unread_msg_num: int
    ) -> None:
        # The member's message row is rewritten whole: an UPDATE of one cell would create a
        # row with empty cells for a user who is not a member.
        found = await self.get_members(sdkappid, group_id, [user_id])
        member = found.get(user_id)
        if member is None:
            return
        await self._cql.execute(
            self._member_msg_put,
            (
                sdkappid,
                group_id,
                user_id,
                member.msg_seq,
                member.last_send_msg_time,
                unread_msg_num,
            ),
        )
