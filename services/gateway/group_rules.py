"""Tencent's group rules, as pure functions: group types and their old names, join options,
member capacities, roles, mutes, group ID formats and custom fields.

Every refusal is a TidingsError carrying Tencent's group code (10xxx) and a clear ErrorInfo.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import AVCHATROOM as AVCHATROOM
from services.common.store.groups import COMMUNITY as COMMUNITY
from services.common.store.groups import MEETING as MEETING
from services.common.store.groups import PUBLIC as PUBLIC
from services.common.store.groups import WORK as WORK
from services.gateway.quotas import members_per_group

BAD = ErrorCode.GROUP_INVALID_PARAM

# Group types: the current names, and the old names Tencent still accepts.
GROUP_TYPES = (WORK, PUBLIC, MEETING, AVCHATROOM, COMMUNITY)
_TYPE_NAMES = {**{t: t for t in GROUP_TYPES}, "Private": WORK, "ChatRoom": MEETING}

# Roles in a group; get_role_in_group also answers NotMember.
OWNER = "Owner"
ADMIN = "Admin"
MEMBER = "Member"
NOT_MEMBER = "NotMember"
ROLES = (OWNER, ADMIN, MEMBER)

# ApplyJoinOption (a user asks to join) and InviteJoinOption (a member invites someone).
FREE_ACCESS = "FreeAccess"
NEED_PERMISSION = "NeedPermission"
DISABLE_APPLY = "DisableApply"
DISABLE_INVITE = "DisableInvite"
APPLY_JOIN_OPTIONS = (FREE_ACCESS, NEED_PERMISSION, DISABLE_APPLY)
INVITE_JOIN_OPTIONS = (FREE_ACCESS, NEED_PERMISSION, DISABLE_INVITE)

# A member's message receiving option.
ACCEPT_AND_NOTIFY = "AcceptAndNotify"
MSG_FLAGS = (ACCEPT_AND_NOTIFY, "AcceptNotNotify", "Discard")

# Byte limits of the group profile (UTF-8), as Tencent documents them.
NAME_MAX_BYTES = 30
INTRODUCTION_MAX_BYTES = 240
NOTIFICATION_MAX_BYTES = 300
FACE_URL_MAX_BYTES = 100
NAME_CARD_MAX_BYTES = 50

# Custom fields: 10 per group, 5 per member; keys are letters, digits and `_`, not starting
# with a digit, at most 16 characters. A group value holds up to 512 bytes (Tencent's SDK
# documents this); Tencent gives no member value limit in this material, 64 bytes is ours.
MAX_GROUP_FIELDS = 10
MAX_MEMBER_FIELDS = 5
FIELD_KEY_MAX_CHARS = 16
GROUP_FIELD_VALUE_MAX_BYTES = 512
MEMBER_FIELD_VALUE_MAX_BYTES = 64

# Accounts per request, as Tencent's current reference documents them (10005 beyond); its
# earlier pages allowed 500 for add_group_member.
MAX_CREATE_MEMBERS = 100
MAX_ADD_MEMBERS = 300
MAX_IMPORT_MEMBERS = 300
MAX_DELETE_MEMBERS = 100
MAX_MUTE_ACCOUNTS = 500
MAX_ROLE_QUERY_ACCOUNTS = 500
MAX_GROUP_INFO_IDS = 50
# get_group_member_info: a Limit is at most 200 (Tencent's current reference; an older one
# said 6000); without one, every member (a Community: MAX_MEMBER_PAGE at a time).
MAX_MEMBER_LIMIT = 200
MAX_MEMBER_PAGE = 6000
MAX_APP_GROUP_PAGE = 10000
MAX_JOINED_GROUP_PAGE = 5000

# ShutUpTime / MuteTime is an unsigned 32-bit count of seconds; its maximum mutes for good.
PERMANENT_MUTE = 4294967295

COMMUNITY_MAX_MEMBERS = 100_000

# Group IDs: printable ASCII, at most 48 bytes. Generated IDs start with @TGS#; a custom ID
# must not (so it cannot collide with one), except that a Community's ID starts with @TGS#_.
MAX_GROUP_ID_BYTES = 48
GENERATED_PREFIX = "@TGS#"
COMMUNITY_PREFIX = "@TGS#_"
# The character after @TGS# in generated IDs, per type, as Tencent's own IDs show
# (@TGS#1… Private, @TGS#2… Public, @TGS#3… ChatRoom, @TGS#a… AVChatRoom, @TGS#_@TGS#c…
# Community).
_GENERATED_MARK = {WORK: "1", PUBLIC: "2", MEETING: "3", AVCHATROOM: "a"}
_ID_ALPHABET = string.ascii_uppercase + string.digits
_GENERATED_BODY_CHARS = 10


def canonical_type(name: str) -> str | None:
    """The current name of a group type given in either its old or its new name."""
    return _TYPE_NAMES.get(name)


def require_type(name: str, field: str = "Type") -> str:
    group_type = canonical_type(name)
    if group_type is None:
        raise TidingsError(
            BAD,
            f"{field} {name!r} is not a group type; use Work (Private), Public, "
            "Meeting (ChatRoom), AVChatRoom or Community",
        )
    return group_type


def has_member_list(group_type: str) -> bool:
    """AVChatRoom members join through the SDK only; REST cannot add, import or remove them."""
    return group_type != AVCHATROOM


def require_member_list(
    group_type: str, command: str, code: ErrorCode = ErrorCode.GROUP_NO_PERMISSION
) -> None:
    """Tencent answers 10007 for most commands, and documents 10004 for delete_group_member."""
    if not has_member_list(group_type):
        raise TidingsError(
            code,
            f"{command} does not support AVChatRoom groups: their members join through the SDK",
        )


def counts_against_join_quota(group_type: str) -> bool:
    """Live-room presence is transient, so only the other types count towards the edition's
    groups-per-user quota."""
    return group_type != AVCHATROOM


# --- join options -----------------------------------------------------------------------


def default_apply_join_option(group_type: str) -> str:
    # SPEC §4: Work is invitation only, Public needs approval, the others are free to join.
    if group_type == WORK:
        return DISABLE_APPLY
    if group_type == PUBLIC:
        return NEED_PERMISSION
    return FREE_ACCESS


def resolve_apply_join_option(group_type: str, requested: str | None) -> str:
    if requested is None or requested == "":
        return default_apply_join_option(group_type)
    if requested not in APPLY_JOIN_OPTIONS:
        raise TidingsError(BAD, f"ApplyJoinOption must be one of {', '.join(APPLY_JOIN_OPTIONS)}")
    if group_type == AVCHATROOM and requested != FREE_ACCESS:
        # A live room has no approval flow: anyone may enter.
        raise TidingsError(BAD, "an AVChatRoom group is always FreeAccess")
    return requested


def default_invite_join_option(group_type: str) -> str:
    # Tencent's SDK: Work groups invite freely; the other types do not allow invitations
    # until the app opens them, and AVChatRoom and Community never do.
    return FREE_ACCESS if group_type == WORK else DISABLE_INVITE


def resolve_invite_join_option(group_type: str, requested: str | None) -> str:
    if requested is None or requested == "":
        return default_invite_join_option(group_type)
    if requested not in INVITE_JOIN_OPTIONS:
        raise TidingsError(BAD, f"InviteJoinOption must be one of {', '.join(INVITE_JOIN_OPTIONS)}")
    if group_type in (AVCHATROOM, COMMUNITY) and requested != DISABLE_INVITE:
        raise TidingsError(BAD, f"InviteJoinOption cannot be changed for {group_type} groups")
    return requested


# --- capacity ---------------------------------------------------------------------------


def member_capacity(group_type: str, edition: str, addon: bool = False) -> int | None:
    """The most members a group of this type may have in this edition; None is unlimited."""
    if group_type == AVCHATROOM:
        return None
    if group_type == COMMUNITY:
        return COMMUNITY_MAX_MEMBERS
    per_group = members_per_group(edition, addon)
    # SPEC §1: Standard allows 200 members per group, 2,000 for Work groups.
    if group_type == WORK and edition == "Standard":
        return 2000
    return per_group


def resolve_max_members(
    group_type: str,
    edition: str,
    requested: int | None,
    current_members: int = 0,
    addon: bool = False,
) -> int:
    """MaxMemberCount / MaxMemberNum as stored: the edition's capacity unless a smaller one is
    asked for. 0 stands for unlimited (AVChatRoom, where Tencent ignores the field)."""
    capacity = member_capacity(group_type, edition, addon)
    if capacity is None:
        return 0
    if requested is None:
        return capacity
    if requested < 1:
        raise TidingsError(BAD, "the maximum member count must be at least 1")
    if requested > capacity:
        raise TidingsError(
            ErrorCode.GROUP_MEMBER_LIMIT,
            f"the {edition} edition allows at most {capacity} members in a {group_type} group",
        )
    if requested < current_members:
        raise TidingsError(
            BAD, f"the group already has {current_members} members, more than {requested}"
        )
    return requested


def check_room(max_members: int, current: int, adding: int) -> None:
    if max_members and current + adding > max_members:
        raise TidingsError(
            ErrorCode.GROUP_FULL,
            f"the group is full: {current} of {max_members} members, cannot add {adding}",
        )


def check_join_quota(joined: Mapping[str, int], limit: int) -> None:
    """joined: for each user about to join, how many groups they are in already."""
    over = sorted(u for u, n in joined.items() if n >= limit)
    if over:
        raise TidingsError(
            ErrorCode.GROUP_JOINED_LIMIT,
            f"{', '.join(over)} already joined {limit} groups, the edition's limit",
        )


def check_account_count(count: int, limit: int, field: str) -> None:
    if count > limit:
        raise TidingsError(
            ErrorCode.GROUP_TOO_MANY_ACCOUNTS, f"{field} holds {count} accounts, at most {limit}"
        )


# --- roles and mutes --------------------------------------------------------------------


def require_role_value(role: str, field: str = "Role") -> str:
    """A role the REST caller may give: Admin, or Member to take Admin back."""
    if role not in (ADMIN, MEMBER):
        raise TidingsError(
            BAD, f"{field} must be Admin or Member; the owner changes through change_group_owner"
        )
    return role


def check_role_change(current_role: str, new_role: str) -> None:
    require_role_value(new_role)
    if current_role == OWNER:
        raise TidingsError(
            BAD, "the owner's role cannot be changed; transfer ownership with change_group_owner"
        )


def require_mutable_members(group_type: str) -> None:
    # Tencent: Private (Work) group members cannot be muted.
    if group_type == WORK:
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION, "members of a Work (Private) group cannot be muted"
        )


def mute_until(now: int, seconds: int) -> int:
    """The unix time a mute of `seconds` ends: 0 lifts it, PERMANENT_MUTE keeps it for good."""
    if seconds <= 0:
        return 0
    if seconds >= PERMANENT_MUTE:
        return PERMANENT_MUTE
    return now + seconds


def is_muted(muted_until: int, now: int) -> bool:
    return muted_until > now


def require_transferable(group_type: str) -> None:
    if group_type == AVCHATROOM:
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION, "an AVChatRoom group's owner cannot be transferred"
        )


# --- group IDs --------------------------------------------------------------------------


def _printable_ascii(text: str) -> bool:
    return all(0x20 <= ord(ch) <= 0x7E for ch in text)


def is_well_formed_group_id(group_id: str) -> bool:
    """Whether an ID could name a group at all; a request naming anything else gets 10015."""
    return 0 < len(group_id) <= MAX_GROUP_ID_BYTES and _printable_ascii(group_id)


def require_group_id(group_id: str, field: str = "GroupId") -> str:
    if not is_well_formed_group_id(group_id):
        raise TidingsError(
            ErrorCode.GROUP_INVALID_ID,
            f"{field} {group_id!r} is not a group ID: printable ASCII, 1 to "
            f"{MAX_GROUP_ID_BYTES} bytes",
        )
    return group_id


def check_custom_group_id(group_id: str, group_type: str) -> None:
    if not is_well_formed_group_id(group_id):
        raise TidingsError(
            BAD,
            f"a custom GroupId is printable ASCII (0x20-0x7e), 1 to {MAX_GROUP_ID_BYTES} bytes",
        )
    if group_type == COMMUNITY:
        if not group_id.startswith(COMMUNITY_PREFIX) or group_id == COMMUNITY_PREFIX:
            raise TidingsError(BAD, f"a Community's custom GroupId starts with {COMMUNITY_PREFIX}")
    elif group_id.startswith(GENERATED_PREFIX):
        raise TidingsError(
            BAD, f"a custom GroupId must not start with {GENERATED_PREFIX}, kept for generated IDs"
        )


def generated_group_id(group_type: str, body: str) -> str:
    """A Tencent-shaped ID for a group whose creator did not name one; body is random."""
    if group_type == COMMUNITY:
        return f"{COMMUNITY_PREFIX}{GENERATED_PREFIX}c{body}"
    return f"{GENERATED_PREFIX}{_GENERATED_MARK[group_type]}{body}"


def random_id_body() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_GENERATED_BODY_CHARS))


# --- custom fields ----------------------------------------------------------------------


def _is_field_key(key: str) -> bool:
    return (
        0 < len(key) <= FIELD_KEY_MAX_CHARS
        and not key[0].isdigit()
        and all(ch == "_" or (ch.isascii() and ch.isalnum()) for ch in key)
    )


def parse_defined_data(raw: Any, field: str, max_keys: int, max_value_bytes: int) -> dict[str, str]:
    """[{Key, Value}] into an ordered dict. An empty Value is kept: in a modification it
    deletes the key (merge_defined_data)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise TidingsError(BAD, f"{field} must be an array of {{Key, Value}}")
    parsed: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, f"each {field} item must be an object with Key and Value")
        key, value = item.get("Key"), item.get("Value")
        if not isinstance(key, str) or not _is_field_key(key):
            raise TidingsError(
                BAD,
                f"{field} Key {key!r} must be letters, digits or _, not starting with a digit, "
                f"at most {FIELD_KEY_MAX_CHARS} characters",
            )
        if not isinstance(value, str):
            raise TidingsError(BAD, f"{field} Value of {key!r} must be a string")
        if len(value.encode()) > max_value_bytes:
            raise TidingsError(BAD, f"{field} Value of {key!r} is over {max_value_bytes} bytes")
        parsed[key] = value
    if len(parsed) > max_keys:
        raise TidingsError(BAD, f"{field} holds {len(parsed)} keys, at most {max_keys}")
    return parsed


def merge_defined_data(
    current: Mapping[str, str], changes: Mapping[str, str], field: str, max_keys: int
) -> dict[str, str]:
    """Apply changes: a key with an empty value is removed, others are set."""
    merged = dict(current)
    for key, value in changes.items():
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    if len(merged) > max_keys:
        raise TidingsError(BAD, f"{field} would hold {len(merged)} keys, at most {max_keys}")
    return merged


def without_empty(values: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


# --- listing ----------------------------------------------------------------------------


def listed_in_joined_groups(
    group_type: str, last_msg_time: int, with_huge_groups: bool, with_no_active_groups: bool
) -> bool:
    """get_joined_group_list leaves out AVChatRoom groups unless WithHugeGroups, and Work
    groups nobody has written in yet ("not active") unless WithNoActiveGroups."""
    if group_type == AVCHATROOM:
        return with_huge_groups
    if group_type == WORK and last_msg_time == 0:
        return with_no_active_groups
    return True


def page(items: Sequence[Any], offset: int, limit: int | None) -> list[Any]:
    end = None if limit is None else offset + limit
    return list(items[offset:end])
