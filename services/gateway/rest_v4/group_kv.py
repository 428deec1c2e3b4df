"""Group counters and group custom attributes (Tencent REST v4), kept per group.

Tencent's reference, followed here:
- Counters, under group_open_http_svc: get_group_counter (GroupId, optional GroupCounterKeys;
  reply GroupCounter [{Key, Value}]), update_group_counter (GroupCounter [{Key, Value}], Mode
  Set, Increase or Decrease; an absent key starts at 0; reply GroupCounter with the updated
  keys' new values) and delete_group_counter (optional GroupCounterKeys; none deletes all).
  At most 20 counters a group, keys at most 128 bytes, values signed 64-bit. Every group type
  but Community.
- Attributes, lower-case `key`/`value`: get_group_attr under group_open_attr_http_svc (reply
  GroupAttrAry), and under group_open_http_svc the writers modify_group_attr (merge),
  set_group_attr (replace all), delete_group_attr (GroupAttr [{key}]; a key that does not exist
  is 10050) and clear_group_attr (all; not for Community groups, as Tencent's table says).
  At most 16 attributes (10047), keys at most 32 bytes (10045), values at most 4000 bytes
  (10046), and the values together at most 16 KB (10048; the SDK guide gives the 16 KB).
- Common codes: 10004 bad parameter, 10007 a group type the command does not support, 10010
  no such group (or dissolved), 10015 a malformed group ID, 10002 internal error (retry).

Where Tencent is silent:
- get_group_attr is served under group_open_http_svc too, where OpenAPI-generated Tencent
  SDKs call it.
- An absent Mode is Set (one edition of the reference marks Mode optional). A request that
  names a key twice is refused (10004) rather than guessing which entry counts. A result past
  the signed 64-bit range is refused (10004). Too many counters is 10004, Tencent naming no
  code of its own.
- An empty GroupCounterKeys is taken like an absent one: every counter. get_group_counter
  leaves out keys that have no counter; delete_group_counter ignores them.
- Values are returned in the order their keys were first set.
- Counters are not tied to an edition (Tencent sells them with its top editions).
- Each change is atomic per group (see store/group_kv.py); changes are not pushed to clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.common.store.group_kv import GroupKvBusy
from services.common.store.groups import COMMUNITY, Group
from services.gateway.bounds import IntRange, checked_int
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import load_group

BAD = ErrorCode.GROUP_INVALID_PARAM

MAX_COUNTERS = 20
COUNTER_KEY_MAX_BYTES = 128
INT64 = IntRange(-(2**63), 2**63 - 1)
SET, INCREASE, DECREASE = "Set", "Increase", "Decrease"
MODES = (SET, INCREASE, DECREASE)

MAX_ATTRS = 16
ATTR_KEY_MAX_BYTES = 32
ATTR_VALUE_MAX_BYTES = 4000
ATTR_VALUES_MAX_BYTES = 16 * 1024

T = TypeVar("T")
V = TypeVar("V")


# --- counters: pure rules -------------------------------------------------------------------


def _counter_key(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise TidingsError(BAD, "a group counter Key must be a non-empty string")
    if len(raw.encode()) > COUNTER_KEY_MAX_BYTES:
        raise TidingsError(BAD, f"a group counter Key is at most {COUNTER_KEY_MAX_BYTES} bytes")
    return raw


def parse_counter_changes(raw: object) -> dict[str, int]:
    """GroupCounter of update_group_counter: Key -> Value, in request order."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, "GroupCounter must be a non-empty array of {Key, Value}")
    if len(raw) > MAX_COUNTERS:
        raise TidingsError(BAD, f"GroupCounter holds at most {MAX_COUNTERS} counters")
    changes: dict[str, int] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, "each GroupCounter item must be an object with Key and Value")
        key = _counter_key(item.get("Key"))
        if key in changes:
            raise TidingsError(BAD, f"GroupCounter names Key {key!r} twice")
        changes[key] = checked_int(item.get("Value"), "Value", INT64, BAD)
    return changes


def parse_counter_keys(raw: object) -> list[str] | None:
    """GroupCounterKeys: the keys asked for, or None for every counter (absent or empty)."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TidingsError(BAD, "GroupCounterKeys must be an array of strings")
    if len(raw) > MAX_COUNTERS:
        raise TidingsError(BAD, f"GroupCounterKeys holds at most {MAX_COUNTERS} keys")
    return list(dict.fromkeys(_counter_key(k) for k in raw)) or None


def parse_mode(raw: object) -> str:
    if raw is None:
        return SET
    if raw not in MODES:
        raise TidingsError(BAD, "Mode must be Set, Increase or Decrease")
    return str(raw)


def apply_counter_changes(
    current: Mapping[str, int], changes: Mapping[str, int], mode: str
) -> dict[str, int]:
    """The group's counters after update_group_counter; 10004 past a limit."""
    updated = dict(current)
    for key, value in changes.items():
        old = updated.get(key, 0)
        new = value if mode == SET else old + value if mode == INCREASE else old - value
        if not INT64.low <= new <= INT64.high:
            raise TidingsError(BAD, f"counter {key!r} would leave the signed 64-bit range")
        updated[key] = new
    if len(updated) > MAX_COUNTERS:
        raise TidingsError(BAD, f"a group has at most {MAX_COUNTERS} counters")
    return updated


def without_keys(current: Mapping[str, V], keys: Sequence[str] | None) -> dict[str, V]:
    """The values left after deleting `keys` (None: all of them)."""
    if keys is None:
        return {}
    gone = set(keys)
    return {k: v for k, v in current.items() if k not in gone}


def counter_list(counters: Mapping[str, int], keys: Sequence[str] | None = None) -> list[Reply]:
    """Tencent's GroupCounter array, of `keys` that have a counter (None: every counter)."""
    wanted = counters.keys() if keys is None else [k for k in keys if k in counters]
    return [{"Key": k, "Value": counters[k]} for k in wanted]


# --- attributes: pure rules -----------------------------------------------------------------


def _attr_key(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise TidingsError(BAD, "a group attribute key must be a non-empty string")
    if len(raw.encode()) > ATTR_KEY_MAX_BYTES:
        raise TidingsError(
            ErrorCode.GROUP_ATTR_KEY_TOO_LONG,
            f"a group attribute key is at most {ATTR_KEY_MAX_BYTES} bytes",
        )
    return raw


def _attr_items(raw: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, f"GroupAttr must be a non-empty array of {what}")
    if len(raw) > MAX_ATTRS:
        raise TidingsError(
            ErrorCode.GROUP_ATTR_TOO_MANY_KEYS, f"a group has at most {MAX_ATTRS} attributes"
        )
    if not all(isinstance(item, dict) for item in raw):
        raise TidingsError(BAD, f"each GroupAttr item must be an object {what}")
    return raw


def parse_attrs(raw: object) -> dict[str, str]:
    """GroupAttr of modify/set_group_attr: key -> value, in request order."""
    attrs: dict[str, str] = {}
    for item in _attr_items(raw, "{key, value}"):
        key = _attr_key(item.get("key"))
        value = item.get("value")
        if not isinstance(value, str):
            raise TidingsError(BAD, f"the value of group attribute {key!r} must be a string")
        if len(value.encode()) > ATTR_VALUE_MAX_BYTES:
            raise TidingsError(
                ErrorCode.GROUP_ATTR_VALUE_TOO_LONG,
                f"a group attribute value is at most {ATTR_VALUE_MAX_BYTES} bytes",
            )
        if key in attrs:
            raise TidingsError(BAD, f"GroupAttr names key {key!r} twice")
        attrs[key] = value
    return attrs


def parse_attr_keys(raw: object) -> list[str]:
    """GroupAttr of delete_group_attr: the keys, in request order."""
    return list(dict.fromkeys(_attr_key(item.get("key")) for item in _attr_items(raw, "{key}")))


def check_attr_limits(attrs: Mapping[str, str]) -> dict[str, str]:
    """`attrs` if a group may hold them (10047, 10048 otherwise)."""
    if len(attrs) > MAX_ATTRS:
        raise TidingsError(
            ErrorCode.GROUP_ATTR_TOO_MANY_KEYS, f"a group has at most {MAX_ATTRS} attributes"
        )
    if sum(len(v.encode()) for v in attrs.values()) > ATTR_VALUES_MAX_BYTES:
        raise TidingsError(
            ErrorCode.GROUP_ATTR_TOTAL_TOO_LARGE,
            f"a group's attribute values are at most {ATTR_VALUES_MAX_BYTES} bytes together",
        )
    return dict(attrs)


def delete_attr_keys(current: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    """The attributes left after delete_group_attr; 10050 if a key has no attribute."""
    missing = [k for k in keys if k not in current]
    if missing:
        raise TidingsError(
            ErrorCode.GROUP_ATTR_KEY_NOT_FOUND,
            f"no group attribute with key {', '.join(map(repr, missing))}",
        )
    return without_keys(current, keys)


def attr_list(attrs: Mapping[str, str]) -> list[Reply]:
    """Tencent's GroupAttrAry."""
    return [{"key": k, "value": v} for k, v in attrs.items()]


# --- handlers -------------------------------------------------------------------------------


def _not_for_community(group: Group, what: str) -> None:
    if group.group_type == COMMUNITY:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, f"Community groups do not support {what}")


async def _changed(change: Awaitable[T]) -> T:
    """The store's change, with a lost race reported as Tencent's retryable 10002."""
    try:
        return await change
    except GroupKvBusy as exc:
        raise TidingsError(ErrorCode.GROUP_INTERNAL, f"{exc}, please retry") from exc


async def get_group_counter(ctx: RestContext, body: dict[str, Any]) -> Reply:
    keys = parse_counter_keys(fields.raw(body, "GroupCounterKeys"))
    group = await load_group(ctx, body)
    _not_for_community(group, "group counters")
    counters = await ctx.deps.stores.group_kv.get_counters(ctx.app.sdkappid, group.group_id)
    return {"GroupCounter": counter_list(counters, keys)}


async def update_group_counter(ctx: RestContext, body: dict[str, Any]) -> Reply:
    changes = parse_counter_changes(fields.raw(body, "GroupCounter"))
    mode = parse_mode(fields.raw(body, "Mode"))
    group = await load_group(ctx, body)
    _not_for_community(group, "group counters")
    store = ctx.deps.stores.group_kv
    counters = await _changed(
        store.change_counters(
            ctx.app.sdkappid,
            group.group_id,
            lambda current: apply_counter_changes(current, changes, mode),
        )
    )
    return {"GroupCounter": counter_list(counters, list(changes))}


async def delete_group_counter(ctx: RestContext, body: dict[str, Any]) -> Reply:
    keys = parse_counter_keys(fields.raw(body, "GroupCounterKeys"))
    group = await load_group(ctx, body)
    _not_for_community(group, "group counters")
    store = ctx.deps.stores.group_kv
    await _changed(
        store.change_counters(
            ctx.app.sdkappid, group.group_id, lambda current: without_keys(current, keys)
        )
    )
    return {}


async def get_group_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    attrs = await ctx.deps.stores.group_kv.get_attrs(ctx.app.sdkappid, group.group_id)
    return {"GroupAttrAry": attr_list(attrs)}


async def _change_attrs(
    ctx: RestContext, group: Group, change: Callable[[dict[str, str]], dict[str, str]]
) -> Reply:
    store = ctx.deps.stores.group_kv
    await _changed(store.change_attrs(ctx.app.sdkappid, group.group_id, change))
    return {}


async def modify_group_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    attrs = parse_attrs(fields.raw(body, "GroupAttr"))
    group = await load_group(ctx, body)
    return await _change_attrs(ctx, group, lambda current: check_attr_limits({**current, **attrs}))


async def set_group_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    attrs = check_attr_limits(parse_attrs(fields.raw(body, "GroupAttr")))
    group = await load_group(ctx, body)
    return await _change_attrs(ctx, group, lambda _: attrs)


async def delete_group_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    keys = parse_attr_keys(fields.raw(body, "GroupAttr"))
    group = await load_group(ctx, body)
    return await _change_attrs(ctx, group, lambda current: delete_attr_keys(current, keys))


async def clear_group_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    _not_for_community(group, "clear_group_attr")
    return await _change_attrs(ctx, group, lambda _: {})


# group_open_http_svc: counters, attribute writers, and get_group_attr (see the docstring).
COMMANDS: dict[str, Handler] = {
    "get_group_counter": get_group_counter,
    "update_group_counter": update_group_counter,
    "delete_group_counter": delete_group_counter,
    "get_group_attr": get_group_attr,
    "modify_group_attr": modify_group_attr,
    "set_group_attr": set_group_attr,
    "delete_group_attr": delete_group_attr,
    "clear_group_attr": clear_group_attr,
}

# group_open_attr_http_svc: where Tencent documents get_group_attr.
ATTR_COMMANDS: dict[str, Handler] = {"get_group_attr": get_group_attr}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class GroupIdRequest(BaseModel):
    GroupId: str


class GroupCounterItem(BaseModel):
    Key: str = Field(description=f"at most {COUNTER_KEY_MAX_BYTES} bytes")
    Value: int = Field(ge=INT64.low, le=INT64.high)


class UpdateGroupCounterRequest(BaseModel):
    GroupId: str
    GroupCounter: list[GroupCounterItem] = Field(min_length=1, max_length=MAX_COUNTERS)
    Mode: Literal["Set", "Increase", "Decrease"] | None = Field(
        default=None, description="Set when absent"
    )


class GroupCounterKeysRequest(BaseModel):
    GroupId: str
    GroupCounterKeys: list[str] | None = Field(
        default=None, max_length=MAX_COUNTERS, description="every counter when absent or empty"
    )


class GroupAttrItem(BaseModel):
    key: str = Field(description=f"at most {ATTR_KEY_MAX_BYTES} bytes")
    value: str = Field(description=f"at most {ATTR_VALUE_MAX_BYTES} bytes")


class GroupAttrRequest(BaseModel):
    GroupId: str
    GroupAttr: list[GroupAttrItem] = Field(min_length=1, max_length=MAX_ATTRS)


class GroupAttrKeyItem(BaseModel):
    key: str


class DeleteGroupAttrRequest(BaseModel):
    GroupId: str
    GroupAttr: list[GroupAttrKeyItem] = Field(min_length=1, max_length=MAX_ATTRS)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "get_group_counter": GroupCounterKeysRequest,
    "update_group_counter": UpdateGroupCounterRequest,
    "delete_group_counter": GroupCounterKeysRequest,
    "get_group_attr": GroupIdRequest,
    "modify_group_attr": GroupAttrRequest,
    "set_group_attr": GroupAttrRequest,
    "delete_group_attr": DeleteGroupAttrRequest,
    "clear_group_attr": GroupIdRequest,
}
