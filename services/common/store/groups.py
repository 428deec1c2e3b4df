"""Groups and their members (Tencent's group_open_http_svc).

A group is one row; each member is one row keyed by (app, group, user), so reading a whole
group is one partition scan however big it is. Every user also has an index of the groups they
belong to (get_joined_group_list, the groups-per-user quota); adapters keep it in step with
the member rows.

The message fields (Group.last_msg_time / next_msg_seq, Member.msg_seq / last_send_msg_time /
unread_msg_num) are plain stored values: the group message path owns them and writes them
through record_messages and set_unread_msg_num; profile writes here (save_group, put_members)
carry them through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Group types: the current names (gateway/group_rules.py also takes Tencent's old names).
WORK = "Work"
PUBLIC = "Public"
MEETING = "Meeting"
AVCHATROOM = "AVChatRoom"
COMMUNITY = "Community"

MEMBER_ROLE = "Member"
DEFAULT_MSG_FLAG = "AcceptAndNotify"


@dataclass(slots=True)
class Group:
    group_id: str
    # The current type name: Work, Public, Meeting, AVChatRoom or Community.
    group_type: str
    name: str
    owner: str = ""
    introduction: str = ""
    notification: str = ""
    face_url: str = ""
    # 0: unlimited (AVChatRoom).
    max_members: int = 0
    apply_join_option: str = ""
    invite_join_option: str = ""
    mute_all: bool = False
    support_topic: bool = False
    create_time: int = 0
    info_seq: int = 0
    last_info_time: int = 0
    app_defined: dict[str, str] = field(default_factory=dict)
    last_msg_time: int = 0
    next_msg_seq: int = 1
    # get_appid_group_list's order and cursor: microseconds since the epoch at creation, set
    # by the store when left 0. Below 2**53, so JavaScript callers read it exactly.
    list_key: int = 0


@dataclass(slots=True)
class Member:
    user_id: str
    role: str = MEMBER_ROLE
    join_time: int = 0
    # Unix seconds the member's mute ends; 0 or past: not muted.
    mute_until: int = 0
    msg_flag: str = DEFAULT_MSG_FLAG
    name_card: str = ""
    app_defined: dict[str, str] = field(default_factory=dict)
    msg_seq: int = 0
    last_send_msg_time: int = 0
    unread_msg_num: int = 0


@dataclass(frozen=True, slots=True)
class GroupRef:
    group_id: str
    group_type: str
    list_key: int


@dataclass(frozen=True, slots=True)
class JoinedGroup:
    group_id: str
    group_type: str


class GroupStore(Protocol):
    async def create_group(self, sdkappid: int, group: Group, members: Sequence[Member]) -> bool:
        """Store a new group with its first members. False, and nothing written, when the
        group ID is taken."""

    async def get_group(self, sdkappid: int, group_id: str) -> Group | None: ...

    async def get_groups(self, sdkappid: int, group_ids: Sequence[str]) -> dict[str, Group]: ...

    async def save_group(self, sdkappid: int, group: Group) -> None:
        """Write an existing group's profile (every field but the message fields)."""

    async def delete_group(self, sdkappid: int, group_id: str) -> None:
        """The group, its members and their index entries."""

    async def list_groups(
        self, sdkappid: int, group_type: str | None, after_key: int, limit: int
    ) -> list[GroupRef]:
        """The app's groups (of one type, or all) with list_key > after_key, in list_key
        order, at most limit."""

    async def count_groups(self, sdkappid: int, group_type: str | None) -> int: ...

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        """Every member, ordered by user ID: one read, for fan-out to the whole group."""

    async def members_after(
        self, sdkappid: int, group_id: str, after_user: str, limit: int
    ) -> list[Member]:
        """Members whose user ID sorts after after_user, in user ID order, at most limit."""

    async def get_members(
        self, sdkappid: int, group_id: str, user_ids: Sequence[str]
    ) -> dict[str, Member]: ...

    async def count_members(self, sdkappid: int, group_id: str) -> int: ...

    async def add_members(
        self, sdkappid: int, group_id: str, group_type: str, members: Sequence[Member]
    ) -> list[str]:
        """Add the members not in the group yet; existing members stay as they are. Returns
        the user IDs added."""

    async def put_members(self, sdkappid: int, group_id: str, members: Sequence[Member]) -> None:
        """Rewrite existing members' rows (role, mute, name card, flags, custom fields)."""

    async def remove_members(self, sdkappid: int, group_id: str, user_ids: Sequence[str]) -> None:
        """Remove members; user IDs not in the group are ignored."""

    async def joined_groups(self, sdkappid: int, user_id: str) -> list[JoinedGroup]:
        """Every group the user is a member of, ordered by group ID."""

    async def record_messages(
        self, sdkappid: int, group_id: str, last_msg_time: int, next_msg_seq: int
    ) -> None:
        """Move the group's last message time (Unix seconds) and next seq forward to these
        values; each only ever grows, so a replay of older messages changes nothing. A group
        that does not exist (any more) is left alone."""

    async def set_unread_msg_num(
        self, sdkappid: int, group_id: str, user_id: str, unread_msg_num: int
    ) -> None:
        """Set a member's unread count; a user who is not a member is ignored."""


def defined_to_doc(values: Mapping[str, str]) -> str:
    return json.dumps(dict(values), ensure_ascii=False)


def doc_to_defined(doc: str | None) -> dict[str, str]:
    if not doc:
        return {}
    loaded: dict[str, str] = json.loads(doc)
    return loaded
