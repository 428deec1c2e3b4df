"""Pure rules of Tencent's relationship chain (REST service "sns"): field formats, limits,
add-friend decisions, relation values and paging. No I/O; the handlers in rest_v4/sns.py
gather the facts and apply what these functions decide.

Limits and value names follow Tencent's relationship-chain reference (product/269/1501) and the
per-command pages; where Tencent is silent, the comment says what was chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from services.common.errors import ErrorCode, TidingsError
from services.common.store.sns import BlockEntry, CustomValue, Friend
from services.gateway import ids
from services.gateway.bounds import STORED_U64, checked_int

BAD = ErrorCode.SNS_INVALID_PARAM

# "单次请求的 To_Account 数不得超过1000" (friend_check, black_list_check, friend_delete...).
MAX_ACCOUNTS_PER_REQUEST = 1000
MAX_USER_ID_BYTES = ids.MAX_USER_ID_BYTES
MAX_REMARK_BYTES = 96
MAX_GROUP_NAME_BYTES = 30
MAX_GROUPS = 32
MAX_WORDING_BYTES = 256
MAX_CUSTOM_VALUE_BYTES = 500
MAX_CUSTOM_FIELDS = 20
# Tencent's blocklist cap; the reference gives 30013 for it without a number we could confirm.
MAX_BLOCKED = 1000
# friend_get pages; Tencent's samples never show more than 100 per page.
FRIEND_PAGE_SIZE = 100

ADD_SOURCE_PREFIX = "AddSource_Type_"
# The keyword after the prefix: English letters, at most 8 bytes.
_ADD_SOURCE_KEYWORD = re.compile(r"[A-Za-z]{1,8}")
CUSTOM_TAG_PREFIX = "Tag_SNS_Custom_"
# Custom friend field names: English letters only, at most 8 (console rule).
_CUSTOM_NAME = re.compile(r"[A-Za-z]{1,8}")
PROFILE_TAG_PREFIX = "Tag_Profile_"

TAG_GROUP = "Tag_SNS_IM_Group"
TAG_REMARK = "Tag_SNS_IM_Remark"
TAG_ADD_SOURCE = "Tag_SNS_IM_AddSource"
TAG_ADD_WORDING = "Tag_SNS_IM_AddWording"
TAG_ADD_TIME = "Tag_SNS_IM_AddTime"
STANDARD_TAGS = (TAG_ADD_SOURCE, TAG_REMARK, TAG_GROUP, TAG_ADD_WORDING, TAG_ADD_TIME)
# friend_update may write these; the source and time of an add are history.
WRITABLE_STANDARD_TAGS = (TAG_REMARK, TAG_GROUP, TAG_ADD_WORDING)

ADD_TYPE_SINGLE = "Add_Type_Single"
ADD_TYPE_BOTH = "Add_Type_Both"
DELETE_TYPE_SINGLE = "Delete_Type_Single"
DELETE_TYPE_BOTH = "Delete_Type_Both"

CHECK_TYPE_SINGLE = "CheckResult_Type_Single"
CHECK_TYPE_BOTH = "CheckResult_Type_Both"
RELATION_BOTH_WAY = "CheckResult_Type_BothWay"
RELATION_A_WITH_B = "CheckResult_Type_AWithB"
RELATION_B_WITH_A = "CheckResult_Type_BWithA"
RELATION_NONE = "CheckResult_Type_NoRelation"

BLACK_CHECK_TYPE_SINGLE = "BlackCheckResult_Type_Single"
BLACK_CHECK_TYPE_BOTH = "BlackCheckResult_Type_Both"
BLACK_RELATION_BOTH_WAY = "BlackCheckResult_Type_BothWay"
BLACK_RELATION_A_WITH_B = "BlackCheckResult_Type_AWithB"
BLACK_RELATION_B_WITH_A = "BlackCheckResult_Type_BWithA"
BLACK_RELATION_NONE = "BlackCheckResult_Type_NO"

ALLOW_TYPE_ANY = "AllowType_Type_AllowAny"
ALLOW_TYPE_NEED_CONFIRM = "AllowType_Type_NeedConfirm"
ALLOW_TYPE_DENY_ANY = "AllowType_Type_DenyAny"

NEED_FRIEND_YES = "Need_Friend_Type_Yes"

T = TypeVar("T")


def _too_long(value: str, limit: int) -> bool:
    return len(value.encode()) > limit


# ---- request shapes -------------------------------------------------------------------------


def choice(value: Any, name: str, allowed: Sequence[str], default: str | None = None) -> str:
    """One of Tencent's enumerated strings; `default` when absent (None: the field is required)."""
    if value is None:
        if default is None:
            raise TidingsError(BAD, f"{name} is required")
        return default
    if not isinstance(value, str) or value not in allowed:
        raise TidingsError(BAD, f"{name} must be one of {', '.join(allowed)}")
    return value


def user_ids(
    value: Any, name: str, *, required: bool = True, maximum: int = MAX_ACCOUNTS_PER_REQUEST
) -> list[str]:
    """A JSON array of UserIDs, duplicates dropped in order."""
    if value is None:
        if required:
            raise TidingsError(BAD, f"{name} is required")
        return []
    if not isinstance(value, list):
        raise TidingsError(BAD, f"{name} must be an array of UserIDs")
    if required and not value:
        raise TidingsError(BAD, f"{name} must not be empty")
    if len(value) > maximum:
        raise TidingsError(BAD, f"{name} holds more than {maximum} accounts")
    for user in value:
        if not isinstance(user, str) or not user or _too_long(user, MAX_USER_ID_BYTES):
            raise TidingsError(BAD, f"{name} must hold non-empty UserIDs of at most 32 bytes")
    return list(dict.fromkeys(value))


def object_list(
    value: Any, name: str, maximum: int = MAX_ACCOUNTS_PER_REQUEST
) -> list[dict[str, Any]]:
    """A required, non-empty JSON array of objects (AddFriendItem, UpdateItem...)."""
    if not isinstance(value, list) or not value:
        raise TidingsError(BAD, f"{name} must be a non-empty array")
    if len(value) > maximum:
        raise TidingsError(BAD, f"{name} holds more than {maximum} items")
    if not all(isinstance(item, dict) for item in value):
        raise TidingsError(BAD, f"{name} must hold objects")
    return value


def string_list(value: Any, name: str, *, maximum: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TidingsError(BAD, f"{name} must be an array of strings")
    if len(value) > maximum:
        raise TidingsError(BAD, f"{name} holds more than {maximum} items")
    return list(dict.fromkeys(value))


def stored_int(value: Any, name: str, default: int = 0) -> int:
    """A friend's integer field (AddTime, RemarkTime, an integer custom value): Tencent's
    uint64, as far as the store's signed 64 bits hold it."""
    if value is None:
        return default
    return checked_int(value, name, STORED_U64, BAD)


# ---- standard and custom friend fields -------------------------------------------------------


def add_source(value: Any, name: str = "AddSource") -> str:
    if not isinstance(value, str):
        raise TidingsError(BAD, f"{name} is required and must be a string")
    keyword = value.removeprefix(ADD_SOURCE_PREFIX)
    if keyword == value or not _ADD_SOURCE_KEYWORD.fullmatch(keyword):
        raise TidingsError(
            BAD, f"{name} must be {ADD_SOURCE_PREFIX} followed by 1 to 8 English letters"
        )
    return value


def bounded_text(value: Any, name: str, limit: int) -> str:
    """An optional string of at most `limit` bytes ("" when absent)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TidingsError(BAD, f"{name} must be a string")
    if _too_long(value, limit):
        raise TidingsError(BAD, f"{name} is longer than {limit} bytes")
    return value


def group_names(value: Any, name: str) -> tuple[str, ...]:
    """Friend-list group names: non-empty, at most 30 bytes each, duplicates dropped."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TidingsError(BAD, f"{name} must be an array of strings")
    for group in names:
        if not group or _too_long(group, MAX_GROUP_NAME_BYTES):
            raise TidingsError(
                BAD, f"{name}: a group name must be 1 to {MAX_GROUP_NAME_BYTES} bytes"
            )
    if len(set(names)) > MAX_GROUPS:
        raise TidingsError(ErrorCode.SNS_GROUP_LIMIT, f"at most {MAX_GROUPS} groups")
    return tuple(dict.fromkeys(names))


def custom_field(tag: Any, value: Any) -> tuple[str, CustomValue]:
    if not isinstance(tag, str) or not tag.startswith(CUSTOM_TAG_PREFIX):
        raise TidingsError(BAD, f"a custom friend field's Tag must start with {CUSTOM_TAG_PREFIX}")
    if not _CUSTOM_NAME.fullmatch(tag.removeprefix(CUSTOM_TAG_PREFIX)):
        raise TidingsError(BAD, f"{tag}: the name after the prefix must be 1 to 8 English letters")
    # Tencent documents string values and its own friend_import example sends 0: take both.
    if isinstance(value, int) and not isinstance(value, bool):
        return tag, stored_int(value, f"{tag}: Value")
    if not isinstance(value, str):
        raise TidingsError(BAD, f"{tag}: Value must be a string or an integer")
    if _too_long(value, MAX_CUSTOM_VALUE_BYTES):
        raise TidingsError(BAD, f"{tag}: Value is longer than {MAX_CUSTOM_VALUE_BYTES} bytes")
    return tag, value


def custom_fields(value: Any, name: str) -> dict[str, CustomValue]:
    """A CustomItem array [{Tag, Value}] (friend_import)."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise TidingsError(BAD, f"{name} must be an array of {{Tag, Value}} objects")
    fields = dict(custom_field(item.get("Tag"), item.get("Value")) for item in value)
    _check_custom_count(fields)
    return fields


def _check_custom_count(custom: dict[str, CustomValue]) -> None:
    # Tencent caps an app at 20 custom friend fields, so one friend carries at most 20.
    if len(custom) > MAX_CUSTOM_FIELDS:
        raise TidingsError(BAD, f"at most {MAX_CUSTOM_FIELDS} custom friend fields")


def apply_sns_items(friend: Friend, items: Any, now: int) -> Friend:
    """friend_update's SnsItem array [{Tag, Value}] applied to one friend entry."""
    if not isinstance(items, list) or not items:
        raise TidingsError(BAD, "SnsItem must be a non-empty array")
    updated = friend
    custom = dict(friend.custom)
    for item in items:
        if not isinstance(item, dict):
            raise TidingsError(BAD, "SnsItem must hold {Tag, Value} objects")
        tag, value = item.get("Tag"), item.get("Value")
        if tag == TAG_REMARK:
            remark = _required_text(value, TAG_REMARK, MAX_REMARK_BYTES)
            updated = replace(updated, remark=remark, remark_time=now)
        elif tag == TAG_GROUP:
            updated = replace(updated, groups=group_names(value, TAG_GROUP))
        elif tag == TAG_ADD_WORDING:
            wording = _required_text(value, TAG_ADD_WORDING, MAX_WORDING_BYTES)
            updated = replace(updated, add_wording=wording)
        elif isinstance(tag, str) and tag in STANDARD_TAGS:
            raise TidingsError(BAD, f"{tag} cannot be updated")
        else:
            key, custom_value = custom_field(tag, value)
            custom[key] = custom_value
    _check_custom_count(custom)
    return replace(updated, custom=custom)


def _required_text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise TidingsError(BAD, f"{name}: Value must be a string")
    return bounded_text(value, name, limit)


def merge_groups(existing: Sequence[str], added: Iterable[str]) -> tuple[str, ...]:
    """The user's groups with `added` appended in order, none twice."""
    return tuple(dict.fromkeys([*existing, *added]))


# ---- friend_add decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddFacts:
    """What friend_add knows about one (From_Account=A, To_Account=B) item."""

    is_self: bool
    exists: bool
    a_blocked_b: bool
    b_blocked_a: bool
    a_has_b: bool
    b_has_a: bool
    both: bool
    forced: bool
    b_allow_type: str
    a_friend_count: int
    b_friend_count: int
    friend_limit: int


def add_refusal(f: AddFacts) -> tuple[ErrorCode, str] | None:
    """Why B cannot be added now, or None. 30539 means a pending request was formed instead."""
    if f.is_self:
        return BAD, "Err_SNS_FriendAdd_Cannot_Add_Self"
    if not f.exists:
        return ErrorCode.SNS_ACCOUNT_NOT_FOUND, "To_Account does not exist"
    if f.a_has_b and (f.b_has_a or not f.both):
        return BAD, "Err_SNS_FriendAdd_Friend_Exist"
    # ForceAddFlags overrides the peer's verification setting only: a blocklist still holds.
    if f.a_blocked_b:
        return ErrorCode.SNS_IN_SELF_BLACKLIST, "To_Account is in From_Account's blocklist"
    if f.b_blocked_a:
        return ErrorCode.SNS_IN_PEER_BLACKLIST, "From_Account is in To_Account's blocklist"
    if not f.forced and f.b_allow_type == ALLOW_TYPE_DENY_ANY:
        return ErrorCode.SNS_ALLOW_TYPE_DENY_ANY, "To_Account allows nobody to add it"
    if not f.forced and f.b_allow_type == ALLOW_TYPE_NEED_CONFIRM:
        return ErrorCode.SNS_ALLOW_TYPE_NEED_CONFIRM, "pending: To_Account must confirm"
    if not f.a_has_b and f.a_friend_count >= f.friend_limit:
        return ErrorCode.SNS_FRIEND_LIMIT, "Err_SNS_FriendAdd_My_Friend_Num_Exceed_Threshold"
    if f.both and not f.b_has_a and f.b_friend_count >= f.friend_limit:
        return ErrorCode.SNS_PEER_FRIEND_LIMIT, "Err_SNS_FriendAdd_Peer_Friend_Num_Exceed_Threshold"
    return None


def import_refusal(
    *, is_self: bool, exists: bool, a_has_b: bool, a_friend_count: int, friend_limit: int
) -> tuple[ErrorCode, str] | None:
    """friend_import: one-way, no verification setting and no blocklist (the app's own data)."""
    if is_self:
        return BAD, "Err_SNS_FriendImport_Cannot_Import_Self"
    if not exists:
        return ErrorCode.SNS_ACCOUNT_NOT_FOUND, "To_Account does not exist"
    if a_has_b:
        return BAD, "Err_SNS_FriendImport_Friend_Exist"
    if a_friend_count >= friend_limit:
        return ErrorCode.SNS_FRIEND_LIMIT, "Err_SNS_FriendImport_My_Friend_Num_Exceed_Threshold"
    return None


# ---- relations -------------------------------------------------------------------------------


def friend_relation(a_has_b: bool, b_has_a: bool, both: bool) -> str:
    """friend_check: Single looks only at A's list, Both at both lists."""
    if not both:
        return RELATION_A_WITH_B if a_has_b else RELATION_NONE
    if a_has_b and b_has_a:
        return RELATION_BOTH_WAY
    if a_has_b:
        return RELATION_A_WITH_B
    return RELATION_B_WITH_A if b_has_a else RELATION_NONE


def black_relation(a_blocked_b: bool, b_blocked_a: bool, both: bool) -> str:
    """black_list_check: Single looks only at A's blocklist, Both at both."""
    if not both:
        return BLACK_RELATION_A_WITH_B if a_blocked_b else BLACK_RELATION_NONE
    if a_blocked_b and b_blocked_a:
        return BLACK_RELATION_BOTH_WAY
    if a_blocked_b:
        return BLACK_RELATION_A_WITH_B
    return BLACK_RELATION_B_WITH_A if b_blocked_a else BLACK_RELATION_NONE


# ---- reading friend data ---------------------------------------------------------------------


def sns_value(friend: Friend, tag: str) -> Any:
    """A friend field's value, or None when the field is unset (Tencent leaves it out)."""
    standard: dict[str, Any] = {
        TAG_ADD_SOURCE: friend.add_source,
        TAG_REMARK: friend.remark,
        TAG_GROUP: list(friend.groups),
        TAG_ADD_WORDING: friend.add_wording,
        TAG_ADD_TIME: friend.add_time,
    }
    value = standard[tag] if tag in standard else friend.custom.get(tag)
    return None if value in ("", [], None) else value


def value_items(friend: Friend, *, standard: bool, custom: bool) -> list[dict[str, Any]]:
    """friend_get's ValueItem array: standard fields in Tencent's sample order, then custom."""
    tags = [*(STANDARD_TAGS if standard else ()), *(sorted(friend.custom) if custom else ())]
    items = []
    for tag in tags:
        value = sns_value(friend, tag)
        if value is not None:
            items.append({"Tag": tag, "Value": value})
    return items


def is_sns_tag(tag: str) -> bool:
    return tag in STANDARD_TAGS or tag.startswith(CUSTOM_TAG_PREFIX)


def page(items: Sequence[T], start: int, size: int) -> tuple[list[T], int]:
    """One page from `start` and the next page's start, 0 when this page is the last."""
    chunk = list(items[start : start + size])
    following = start + size
    return chunk, following if following < len(items) else 0


def blocked_item(entry: BlockEntry) -> dict[str, Any]:
    return {"To_Account": entry.peer, "AddBlackTimeStamp": entry.added_at}


def result_item(
    to_account: str, code: ErrorCode | int = ErrorCode.OK, info: str = ""
) -> dict[str, Any]:
    return {"To_Account": to_account, "ResultCode": int(code), "ResultInfo": info}


def batch_reply(items: list[dict[str, Any]], key: str = "ResultItem") -> dict[str, Any]:
    """Tencent's batch reply: every item, plus Fail_Account only when some item failed."""
    reply: dict[str, Any] = {key: items}
    failed = [i["To_Account"] for i in items if i["ResultCode"] != 0]
    if failed:
        reply["Fail_Account"] = failed
    return reply
