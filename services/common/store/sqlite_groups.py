"""The embedded adapter for groups: a profile row per group and a row per member.

Members carry their group's type so "the groups a user is in" is one indexed read. Every write
that must be all-or-nothing (creating a group with its members, deleting one) is one
transaction on the database thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.groups import (
    Group,
    GroupRef,
    JoinedGroup,
    Member,
    defined_to_doc,
    doc_to_defined,
)
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS group_profiles (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  group_type TEXT NOT NULL,
  list_key INTEGER NOT NULL,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  introduction TEXT NOT NULL,
  notification TEXT NOT NULL,
  face_url TEXT NOT NULL,
  max_members INTEGER NOT NULL,
  apply_join_option TEXT NOT NULL,
  invite_join_option TEXT NOT NULL,
  mute_all INTEGER NOT NULL,
  support_topic INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  info_seq INTEGER NOT NULL,
  last_info_time INTEGER NOT NULL,
  app_defined TEXT NOT NULL,
  last_msg_time INTEGER NOT NULL,
  next_msg_seq INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_profiles_by_list_key
  ON group_profiles (sdkappid, list_key, group_id);
CREATE TABLE IF NOT EXISTS group_members (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  group_type TEXT NOT NULL,
  role TEXT NOT NULL,
  join_time INTEGER NOT NULL,
  mute_until INTEGER NOT NULL,
  msg_flag TEXT NOT NULL,
  name_card TEXT NOT NULL,
  app_defined TEXT NOT NULL,
  msg_seq INTEGER NOT NULL,
  last_send_msg_time INTEGER NOT NULL,
  unread_msg_num INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_by_user ON group_members (sdkappid, user_id, group_id);
"""

_GROUP_COLUMNS = (
    "group_id, group_type, list_key, name, owner, introduction, notification, face_url,"
    " max_members, apply_join_option, invite_join_option, mute_all, support_topic,"
    " create_time, info_seq, last_info_time, app_defined, last_msg_time, next_msg_seq"
)
_MEMBER_COLUMNS = (
    "user_id, role, join_time, mute_until, msg_flag, name_card, app_defined, msg_seq,"
    " last_send_msg_time, unread_msg_num"
)
_INSERT_MEMBER = (
    "INSERT OR IGNORE INTO group_members (sdkappid, group_id, group_type, "
    + _MEMBER_COLUMNS
    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _group_row(sdkappid: int, g: Group) -> tuple[object, ...]:
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
        int(g.mute_all),
        int(g.support_topic),
        g.create_time,
        g.info_seq,
        g.last_info_time,
        defined_to_doc(g.app_defined),
        g.last_msg_time,
        g.next_msg_seq,
    )


def _to_group(r: Sequence[Any]) -> Group:
    return Group(
        group_id=r[0],
        group_type=r[1],
        list_key=r[2],
        name=r[3],
        owner=r[4],
        introduction=r[5],
        notification=r[6],
        face_url=r[7],
        max_members=r[8],
        apply_join_option=r[9],
        invite_join_option=r[10],
        mute_all=bool(r[11]),
        support_topic=bool(r[12]),
        create_time=r[13],
        info_seq=r[14],
        last_info_time=r[15],
        app_defined=doc_to_defined(r[16]),
        last_msg_time=r[17],
        next_msg_seq=r[18],
    )


def _member_row(sdkappid: int, group_id: str, group_type: str, m: Member) -> tuple[object, ...]:
    return (
        sdkappid,
        group_id,
        group_type,
        m.user_id,
        m.role,
        m.join_time,
        m.mute_until,
        m.msg_flag,
        m.name_card,
        defined_to_doc(m.app_defined),
        m.msg_seq,
        m.last_send_msg_time,
        m.unread_msg_num,
    )


def _to_member(r: Sequence[Any]) -> Member:
    return Member(
        user_id=r[0],
        role=r[1],
        join_time=r[2],
        mute_until=r[3],
        msg_flag=r[4],
        name_card=r[5],
        app_defined=doc_to_defined(r[6]),
        msg_seq=r[7],
        last_send_msg_time=r[8],
        unread_msg_num=r[9],
    )


# max() in the statement: never backwards, whatever order the writes land in.
_RECORD_MESSAGES = (
    "UPDATE group_profiles SET last_msg_time = max(last_msg_time, ?),"
    " next_msg_seq = max(next_msg_seq, ?) WHERE sdkappid = ? AND group_id = ?"
)


class SqliteGroupStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    def ensure_schema(self, c: sqlite3.Connection) -> None:
        """On the db thread, before a statement of this store inside another's transaction."""
        self._tables.ensure(c)

    @staticmethod
    def record_messages_rows(
        c: sqlite3.Connection, activity: Mapping[tuple[int, str], tuple[int, int]]
    ) -> None:
        """record_messages for many groups, in the caller's transaction."""
        c.executemany(
            _RECORD_MESSAGES,
            [(t, seq, app, group) for (app, group), (t, seq) in activity.items()],
        )

    async def create_group(self, sdkappid: int, group: Group, members: Sequence[Member]) -> bool:
        if not group.list_key:
            group.list_key = time.time_ns() // 1000
        group_row = _group_row(sdkappid, group)
        member_rows = [_member_row(sdkappid, group.group_id, group.group_type, m) for m in members]

        def write(c: sqlite3.Connection) -> bool:
            c.execute("BEGIN")
            # Commits on success, rolls back if a statement fails.
            with c:
                created = c.execute(
                    f"INSERT OR IGNORE INTO group_profiles (sdkappid, {_GROUP_COLUMNS})"
                    f" VALUES ({placeholders(20)})",
                    group_row,
                ).rowcount
                if created:
                    c.executemany(_INSERT_MEMBER, member_rows)
            return bool(created)

        return await self._tables.run(write)

    async def get_group(self, sdkappid: int, group_id: str) -> Group | None:
        found = await self.get_groups(sdkappid, [group_id])
        return found.get(group_id)

    async def get_groups(self, sdkappid: int, group_ids: Sequence[str]) -> dict[str, Group]:
        ids = list(dict.fromkeys(group_ids))
        if not ids:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                f"SELECT {_GROUP_COLUMNS} FROM group_profiles"
                f" WHERE sdkappid = ? AND group_id IN ({placeholders(len(ids))})",
                (sdkappid, *ids),
            ).fetchall()
        )
        return {r[0]: _to_group(r) for r in rows}

    async def save_group(self, sdkappid: int, group: Group) -> None:
        g = group
        await self._tables.run(
            lambda c: c.execute(
                "UPDATE group_profiles SET name = ?, owner = ?, introduction = ?,"
                " notification = ?, face_url = ?, max_members = ?, apply_join_option = ?,"
                " invite_join_option = ?, mute_all = ?, support_topic = ?, info_seq = ?,"
                " last_info_time = ?, app_defined = ? WHERE sdkappid = ? AND group_id = ?",
                (
                    g.name,
                    g.owner,
                    g.introduction,
                    g.notification,
                    g.face_url,
                    g.max_members,
                    g.apply_join_option,
                    g.invite_join_option,
                    int(g.mute_all),
                    int(g.support_topic),
                    g.info_seq,
                    g.last_info_time,
                    defined_to_doc(g.app_defined),
                    sdkappid,
                    g.group_id,
                ),
            )
        )

    async def delete_group(self, sdkappid: int, group_id: str) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            with c:
                c.execute(
                    "DELETE FROM group_members WHERE sdkappid = ? AND group_id = ?",
                    (sdkappid, group_id),
                )
                c.execute(
                    "DELETE FROM group_profiles WHERE sdkappid = ? AND group_id = ?",
                    (sdkappid, group_id),
                )

        await self._tables.run(write)

    async def list_groups(
        self, sdkappid: int, group_type: str | None, after_key: int, limit: int
    ) -> list[GroupRef]:
        type_clause = "" if group_type is None else " AND group_type = ?"
        params: tuple[object, ...] = (sdkappid, after_key)
        if group_type is not None:
            params += (group_type,)
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT group_id, group_type, list_key FROM group_profiles"
                f" WHERE sdkappid = ? AND list_key > ?{type_clause}"
                " ORDER BY list_key, group_id LIMIT ?",
                (*params, limit),
            ).fetchall()
        )
        return [GroupRef(r[0], r[1], r[2]) for r in rows]

    async def count_groups(self, sdkappid: int, group_type: str | None) -> int:
        sql = "SELECT count(*) FROM group_profiles WHERE sdkappid = ?"
        params: tuple[object, ...] = (sdkappid,)
        if group_type is not None:
            sql += " AND group_type = ?"
            params += (group_type,)
        row = await self._tables.run(lambda c: c.execute(sql, params).fetchone())
        return int(row[0])

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        rows = await self._tables.run(
            lambda c: c.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM group_members"
                " WHERE sdkappid = ? AND group_id = ? ORDER BY user_id",
                (sdkappid, group_id),
            ).fetchall()
        )
        return [_to_member(r) for r in rows]

    async def members_after(
        self, sdkappid: int, group_id: str, after_user: str, limit: int
    ) -> list[Member]:
        rows = await self._tables.run(
            lambda c: c.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM group_members"
                " WHERE sdkappid = ? AND group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
                (sdkappid, group_id, after_user, limit),
            ).fetchall()
        )
        return [_to_member(r) for r in rows]

    async def get_members(
        self, sdkappid: int, group_id: str, user_ids: Sequence[str]
    ) -> dict[str, Member]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM group_members WHERE sdkappid = ?"
                f" AND group_id = ? AND user_id IN ({placeholders(len(ids))})",
                (sdkappid, group_id, *ids),
            ).fetchall()
        )
        return {r[0]: _to_member(r) for r in rows}

    async def count_members(self, sdkappid: int, group_id: str) -> int:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT count(*) FROM group_members WHERE sdkappid = ? AND group_id = ?",
                (sdkappid, group_id),
            ).fetchone()
        )
        return int(row[0])

    async def add_members(
        self, sdkappid: int, group_id: str, group_type: str, members: Sequence[Member]
    ) -> list[str]:
        unique = list({m.user_id: m for m in members}.values())
        rows = [_member_row(sdkappid, group_id, group_type, m) for m in unique]

        def write(c: sqlite3.Connection) -> list[str]:
            added: list[str] = []
            c.execute("BEGIN")
            with c:
                for member, row in zip(unique, rows, strict=True):
                    if c.execute(_INSERT_MEMBER, row).rowcount:
                        added.append(member.user_id)
            return added

        return await self._tables.run(write)

    async def put_members(self, sdkappid: int, group_id: str, members: Sequence[Member]) -> None:
        rows = [
            (
                m.role,
                m.mute_until,
                m.msg_flag,
                m.name_card,
                defined_to_doc(m.app_defined),
                sdkappid,
                group_id,
                m.user_id,
            )
            for m in members
        ]
        await self._tables.write_many(
            "UPDATE group_members SET role = ?, mute_until = ?, msg_flag = ?,"
            " name_card = ?, app_defined = ?"
            " WHERE sdkappid = ? AND group_id = ? AND user_id = ?",
            rows,
        )

    async def remove_members(self, sdkappid: int, group_id: str, user_ids: Sequence[str]) -> None:
        await self._tables.write_many(
            "DELETE FROM group_members WHERE sdkappid = ? AND group_id = ? AND user_id = ?",
            [(sdkappid, group_id, u) for u in dict.fromkeys(user_ids)],
        )

    async def joined_groups(self, sdkappid: int, user_id: str) -> list[JoinedGroup]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT group_id, group_type FROM group_members"
                " WHERE sdkappid = ? AND user_id = ? ORDER BY group_id",
                (sdkappid, user_id),
            ).fetchall()
        )
        return [JoinedGroup(r[0], r[1]) for r in rows]

    async def record_messages(
        self, sdkappid: int, group_id: str, last_msg_time: int, next_msg_seq: int
    ) -> None:
        await self._tables.run(
            lambda c: c.execute(_RECORD_MESSAGES, (last_msg_time, next_msg_seq, sdkappid, group_id))
        )

    async def set_unread_msg_num(
        self, sdkappid: int, group_id: str, user_id: str, unread_msg_num: int
    ) -> None:
        await self._tables.run(
            lambda c: c.execute(
                "UPDATE group_members SET unread_msg_num = ?"
                " WHERE sdkappid = ? AND group_id = ? AND user_id = ?",
                (unread_msg_num, sdkappid, group_id, user_id),
            )
        )
