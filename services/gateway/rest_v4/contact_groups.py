"""recentcontact: conversation groups and conversation marks (create_contact_group,
del_contact_group, update_contact_group, search_contact_group, get_contact_group, mark_contact).

Field names, limits and codes follow Tencent's reference for these commands:
- a conversation is a ContactItem {Type: 1, To_Account} or {Type: 2, ToGroupId};
- a user has at most 20 groups (51010); a group name is 1 to 32 bytes (51011);
- create_contact_group and del_contact_group take one group per request; at most 100
  conversations are grouped or marked per request (51006), 300 searched (50002);
- at most 1000 of a user's conversations are in groups, and at most 1000 are marked
  (standard or custom mark); past that a conversation's ResultCode is 51008;
- a custom mark is at most 256 bytes; an unknown From_Account is 50001, a malformed request
  50002, an unknown group name 51009, a Type 2 conversation whose group does not exist 51007
  (in that conversation's ResultCode).

Where Tencent's reference is silent:
- SetMark/ClearMark bit n is bit n of the conversation's 64-bit mark (0 <= n < 64), the bit
  the client SDKs call `1 << n` (star 0, unread 1, fold 2, hide 3; 32 and up are the app's
  own); ClearMark is applied before SetMark. StandardMark is written bit 0 first ("0111" for
  bits 1, 2 and 3), which is how Tencent's examples read ("011111110").
- A new group gets the lowest free id from 1. Creating a group under a name the user already
  has is 50002: names address groups in update and delete. create_contact_group's
  ContactItem must not be empty.
- get_contact_group pages 100 conversations at a time, ordered by (Type, peer), and lists
  all the user's groups on every page; search_contact_group answers only the conversations
  that have groups or marks, and all the user's groups.
- The conversation need not be in the user's conversation list, and a C2C peer is not
  checked; a ContactOptType 2 (remove) of a conversation not in the group succeeds.
- Changes for one user are applied one request at a time within a gateway process; two
  gateway processes changing one user's marks at the same instant may lose one change.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.common.store.contact_groups import ContactEntry, ContactGroup, ContactKey
from services.common.store.conversations import C2C, GROUP
from services.gateway.bounds import UINT32, IntRange, checked_int
from services.gateway.group_rules import is_well_formed_group_id
from services.gateway.ids import user_id_problem
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.CONV_INVALID_PARAM
MAX_GROUPS = 20
MAX_GROUP_NAME_BYTES = 32
MAX_ITEMS = 100
MAX_SEARCH = 300
MAX_GROUPED = 1000
MAX_MARKED = 1000
MAX_CUSTOM_MARK_BYTES = 256
MARK_BITS = IntRange(0, 63)
PAGE = 100

# MarkItem OptType.
OPT_STANDARD = 1
OPT_CUSTOM = 2
OPT_BOTH = 3
# ContactUpdateItem ContactOptType.
ADD = 1
REMOVE = 2
# UpdateGroup UpdateGroupType.
RENAME = 1
REGROUP = 2

_RESULT_INFO = {
    ErrorCode.OK: "",
    ErrorCode.CONV_MARK_OPERATE_FAILED: "the group does not exist",
    ErrorCode.CONV_MARK_TOTAL_COUNT_LIMIT: "over 1000 conversations of this user",
}


@dataclass(frozen=True, slots=True)
class MarkOp:
    """One MarkItem: which marks of one conversation to change."""

    opt_type: int
    key: ContactKey
    set_bits: tuple[int, ...] = ()
    clear_bits: tuple[int, ...] = ()
    # The new custom mark ("" clears it) when opt_type sets custom marks.
    custom_mark: str = ""


# Pure parts: parsing, limits, merging, paging and reply shapes (no I/O).


def parse_contact(raw: object) -> ContactKey:
    if not isinstance(raw, dict):
        raise TidingsError(BAD, "a ContactItem is an object {Type, To_Account or ToGroupId}")
    kind = fields.integer(raw, "Type", code=BAD, within=UINT32)
    if kind == C2C:
        peer = fields.text(raw, "To_Account", code=BAD)
        problem = user_id_problem(peer)
        if problem:
            raise TidingsError(BAD, f"To_Account {peer!r} {problem}")
    elif kind == GROUP:
        peer = fields.text(raw, "ToGroupId", "GroupId", code=BAD)
        if not is_well_formed_group_id(peer):
            raise TidingsError(BAD, f"ToGroupId {peer!r} is not a group ID")
    else:
        raise TidingsError(BAD, "Type must be 1 (C2C) or 2 (group)")
    return kind, peer


def parse_contacts(raw: object, field: str, limit: int, over_limit: ErrorCode) -> list[ContactKey]:
    if not isinstance(raw, list):
        raise TidingsError(BAD, f"{field} must be an array")
    if len(raw) > limit:
        raise TidingsError(over_limit, f"at most {limit} items in {field}")
    return [parse_contact(item) for item in raw]


def group_name(value: object, field: str) -> str:
    """A name to give a group: 1 to 32 bytes."""
    if not isinstance(value, str) or not value:
        raise TidingsError(BAD, f"{field} must be a non-empty string")
    if len(value.encode()) > MAX_GROUP_NAME_BYTES:
        raise TidingsError(
            ErrorCode.CONV_GROUP_NAME_TOO_LONG,
            f"{field} is longer than {MAX_GROUP_NAME_BYTES} bytes",
        )
    return value


def _bits(item: dict[str, Any], field: str) -> tuple[int, ...]:
    raw = item.get(field)
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MARK_BITS.high + 1:
        raise TidingsError(BAD, f"{field} must be an array of at most 64 bit numbers")
    return tuple(checked_int(n, field, MARK_BITS, BAD) for n in raw)


def parse_mark(raw: object) -> MarkOp:
    if not isinstance(raw, dict):
        raise TidingsError(BAD, "a MarkItem is an object {OptType, ContactItem, ...}")
    opt_type = fields.integer(raw, "OptType", code=BAD, within=UINT32)
    if opt_type not in (OPT_STANDARD, OPT_CUSTOM, OPT_BOTH):
        raise TidingsError(BAD, "OptType must be 1 (standard), 2 (custom) or 3 (both)")
    key = parse_contact(raw.get("ContactItem"))
    custom = ""
    if opt_type != OPT_STANDARD:
        if raw.get("CustomMark") is None:
            raise TidingsError(BAD, "CustomMark is required with OptType 2 or 3")
        custom = fields.text(
            raw, "CustomMark", code=BAD, required=False, max_len=MAX_CUSTOM_MARK_BYTES
        )
    return MarkOp(
        opt_type=opt_type,
        key=key,
        set_bits=_bits(raw, "SetMark"),
        clear_bits=_bits(raw, "ClearMark"),
        custom_mark=custom,
    )


def next_group_id(groups: Iterable[ContactGroup]) -> int:
    taken = {g.group_id for g in groups}
    return next(i for i in itertools.count(1) if i not in taken)


def regroup(
    entries: Mapping[ContactKey, ContactEntry],
    changes: Sequence[tuple[int, ContactKey]],
    group_id: int,
    unknown: Set[ContactKey],
    now_ms: int,
) -> tuple[dict[ContactKey, ContactEntry], list[ErrorCode]]:
    """Apply (ADD or REMOVE, conversation) in order to `entries` (all the user's): the
    entries that changed, and a result code per change. `unknown`: group conversations whose
    group does not exist, which cannot be added."""
    changed: dict[ContactKey, ContactEntry] = {}
    grouped = sum(1 for e in entries.values() if e.grouped)
    codes: list[ErrorCode] = []
    for op, key in changes:
        entry = changed.get(key) or entries.get(key) or ContactEntry(*key)
        ids = set(entry.group_ids)
        if op == ADD:
            if key in unknown:
                codes.append(ErrorCode.CONV_MARK_OPERATE_FAILED)
                continue
            if group_id in ids:
                codes.append(ErrorCode.OK)
                continue
            if not ids:
                if grouped >= MAX_GROUPED:
                    codes.append(ErrorCode.CONV_MARK_TOTAL_COUNT_LIMIT)
                    continue
                grouped += 1
            ids.add(group_id)
        elif group_id in ids:
            ids.discard(group_id)
            if not ids:
                grouped -= 1
        else:
            codes.append(ErrorCode.OK)
            continue
        changed[key] = replace(entry, group_ids=tuple(sorted(ids)), updated_ms=now_ms)
        codes.append(ErrorCode.OK)
    return changed, codes


def without_group(
    entries: Iterable[ContactEntry], group_id: int, now_ms: int
) -> list[ContactEntry]:
    """The entries that name the group, with it taken out."""
    return [
        replace(e, group_ids=tuple(g for g in e.group_ids if g != group_id), updated_ms=now_ms)
        for e in entries
        if group_id in e.group_ids
    ]


def apply_marks(
    entries: Mapping[ContactKey, ContactEntry],
    ops: Sequence[MarkOp],
    unknown: Set[ContactKey],
    now_ms: int,
) -> tuple[dict[ContactKey, ContactEntry], list[ErrorCode]]:
    """Apply MarkItems in order to `entries` (all the user's): the entries that changed, and a
    result code per item."""
    changed: dict[ContactKey, ContactEntry] = {}
    marked = sum(1 for e in entries.values() if e.marked)
    codes: list[ErrorCode] = []
    for op in ops:
        if op.key in unknown:
            codes.append(ErrorCode.CONV_MARK_OPERATE_FAILED)
            continue
        entry = changed.get(op.key) or entries.get(op.key) or ContactEntry(*op.key)
        bits, custom = entry.standard_mark, entry.custom_mark
        if op.opt_type != OPT_CUSTOM:
            for n in op.clear_bits:
                bits &= ~(1 << n)
            for n in op.set_bits:
                bits |= 1 << n
        if op.opt_type != OPT_STANDARD:
            custom = op.custom_mark
        new = replace(entry, standard_mark=bits, custom_mark=custom, updated_ms=now_ms)
        if new.marked and not entry.marked:
            if marked >= MAX_MARKED:
                codes.append(ErrorCode.CONV_MARK_TOTAL_COUNT_LIMIT)
                continue
            marked += 1
        elif entry.marked and not new.marked:
            marked -= 1
        if (bits, custom) != (entry.standard_mark, entry.custom_mark):
            changed[op.key] = new
        codes.append(ErrorCode.OK)
    return changed, codes


def page_of(entries: Sequence[ContactEntry], start: int) -> tuple[Sequence[ContactEntry], int]:
    """One page from `start`, and the next StartIndex (0 when this page is the last)."""
    page = entries[start : start + PAGE]
    end = start + len(page)
    return page, end if end < len(entries) else 0


def mark_text(bits: int) -> str:
    """StandardMark: one character per bit, bit 0 first, up to the highest set bit."""
    return "".join("1" if bits >> n & 1 else "0" for n in range(bits.bit_length()))


def contact_item(key: ContactKey) -> Reply:
    kind, peer = key
    return {"Type": kind, "To_Account" if kind == C2C else "ToGroupId": peer}


def mark_fields(entry: ContactEntry) -> Reply:
    """A conversation's StandardMark, CustomMark and ContactGroupId, each only when it has one
    (also in recentcontact/get_list's SessionItem)."""
    item: Reply = {}
    if entry.standard_mark:
        item["StandardMark"] = mark_text(entry.standard_mark)
    if entry.custom_mark:
        item["CustomMark"] = entry.custom_mark
    if entry.group_ids:
        item["ContactGroupId"] = list(entry.group_ids)
    return item


def entry_item(entry: ContactEntry) -> Reply:
    return {
        **contact_item(entry.key),
        **mark_fields(entry),
        "Timestamp": entry.updated_ms // 1000,
    }


def group_item(group: ContactGroup) -> Reply:
    return {"GroupName": group.name, "GroupId": group.group_id}


def result_fields(code: ErrorCode) -> Reply:
    return {"ResultCode": int(code), "ResultInfo": _RESULT_INFO.get(code, code.default_info)}


# Handlers.

_user_locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def _lock(ctx: RestContext, user: str) -> asyncio.Lock:
    """Serializes one user's read-modify-write changes within this process."""
    key = (ctx.app.sdkappid, user)
    lock = _user_locks.get(key)
    if lock is None:
        lock = _user_locks[key] = asyncio.Lock()
    return lock


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _user(ctx: RestContext, body: dict[str, Any]) -> str:
    user = fields.text(body, "From_Account", code=BAD)
    problem = user_id_problem(user)
    if problem:
        raise TidingsError(BAD, f"From_Account {problem}")
    if await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, [user]):
        raise TidingsError(ErrorCode.CONV_ACCOUNT_NOT_FOUND, f"From_Account {user!r} not found")
    return user


async def _unknown_groups(ctx: RestContext, keys: Iterable[ContactKey]) -> set[ContactKey]:
    ids = list(dict.fromkeys(peer for kind, peer in keys if kind == GROUP))
    if not ids:
        return set()
    found = await ctx.deps.stores.groups.get_groups(ctx.app.sdkappid, ids)
    return {(GROUP, g) for g in ids if g not in found}


def _named(groups: Iterable[ContactGroup], name: object, field: str) -> ContactGroup:
    if not isinstance(name, str) or not name:
        raise TidingsError(BAD, f"{field} must be a non-empty string")
    for g in groups:
        if g.name == name:
            return g
    raise TidingsError(ErrorCode.CONV_GROUP_NOT_FOUND, f"no conversation group {name!r}")


async def _all_entries(ctx: RestContext, user: str) -> dict[ContactKey, ContactEntry]:
    entries = await ctx.deps.stores.contact_groups.list_entries(ctx.app.sdkappid, user)
    return {e.key: e for e in entries}


async def _claim(ctx: RestContext, user: str, name: str) -> ContactGroup:
    """A new group under `name` with the lowest free id (another request may take an id
    first; then the next one is tried)."""
    store = ctx.deps.stores.contact_groups
    for _ in range(MAX_GROUPS + 1):
        groups = await store.list_groups(ctx.app.sdkappid, user)
        if any(g.name == name for g in groups):
            raise TidingsError(BAD, f"conversation group {name!r} already exists")
        if len(groups) >= MAX_GROUPS:
            raise TidingsError(
                ErrorCode.CONV_GROUP_COUNT_LIMIT, f"at most {MAX_GROUPS} conversation groups"
            )
        group = ContactGroup(next_group_id(groups), name)
        if await store.claim_group(ctx.app.sdkappid, user, group):
            return group
    raise TidingsError(ErrorCode.CONV_GROUP_COUNT_LIMIT, "no free conversation group id")


async def create_contact_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    raw = body.get("GroupContactItem")
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
        raise TidingsError(BAD, "GroupContactItem must hold one group {GroupName, ContactItem}")
    name = group_name(raw[0].get("GroupName"), "GroupName")
    keys = parse_contacts(
        raw[0].get("ContactItem"), "ContactItem", MAX_ITEMS, ErrorCode.CONV_MARK_REQ_COUNT_LIMIT
    )
    if not keys:
        raise TidingsError(BAD, "ContactItem must not be empty")
    unknown = await _unknown_groups(ctx, keys)
    async with _lock(ctx, user):
        group = await _claim(ctx, user, name)
        changed, codes = regroup(
            await _all_entries(ctx, user),
            [(ADD, k) for k in keys],
            group.group_id,
            unknown,
            _now_ms(),
        )
        await ctx.deps.stores.contact_groups.put_entries(
            ctx.app.sdkappid, user, list(changed.values())
        )
    return {
        "GroupResultItem": [
            {
                "GroupItem": group_item(group),
                "ResultItem": [
                    {"ContactItem": contact_item(k), **result_fields(c)}
                    for k, c in zip(keys, codes, strict=True)
                ],
            }
        ]
    }


async def del_contact_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    names = body.get("GroupName")
    if not isinstance(names, list) or len(names) != 1:
        raise TidingsError(BAD, "GroupName must be an array of one group name")
    store = ctx.deps.stores.contact_groups
    async with _lock(ctx, user):
        group = _named(await store.list_groups(ctx.app.sdkappid, user), names[0], "GroupName")
        entries = await store.list_entries(ctx.app.sdkappid, user)
        # Entries first: a group left behind by a failure is harmless, a dangling id is not.
        await store.put_entries(
            ctx.app.sdkappid, user, without_group(entries, group.group_id, _now_ms())
        )
        await store.delete_group(ctx.app.sdkappid, user, group.group_id)
    return {"GroupItem": [group_item(group)]}


def _contact_updates(raw: object) -> list[tuple[int, ContactKey]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TidingsError(BAD, "ContactUpdateItem must be an array")
    if len(raw) > MAX_ITEMS:
        raise TidingsError(
            ErrorCode.CONV_MARK_REQ_COUNT_LIMIT, f"at most {MAX_ITEMS} items in ContactUpdateItem"
        )
    updates: list[tuple[int, ContactKey]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, "a ContactUpdateItem is {ContactOptType, ContactItem}")
        op = fields.integer(item, "ContactOptType", code=BAD, within=UINT32)
        if op not in (ADD, REMOVE):
            raise TidingsError(BAD, "ContactOptType must be 1 (add) or 2 (remove)")
        updates.append((op, parse_contact(item.get("ContactItem"))))
    return updates


async def update_contact_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    if fields.integer(body, "UpdateType", code=BAD, within=UINT32) != 1:
        raise TidingsError(BAD, "UpdateType must be 1")
    update = body.get("UpdateGroup")
    if not isinstance(update, dict):
        raise TidingsError(BAD, "UpdateGroup must be an object")
    update_type = fields.integer(update, "UpdateGroupType", code=BAD, within=UINT32)
    store = ctx.deps.stores.contact_groups
    if update_type == RENAME:
        new_name = group_name(update.get("NewGroupName"), "NewGroupName")
        async with _lock(ctx, user):
            groups = await store.list_groups(ctx.app.sdkappid, user)
            group = _named(groups, update.get("OldGroupName"), "OldGroupName")
            if any(g.name == new_name and g != group for g in groups):
                raise TidingsError(BAD, f"conversation group {new_name!r} already exists")
            await store.rename_group(ctx.app.sdkappid, user, ContactGroup(group.group_id, new_name))
        outcome: Reply = {
            "UpdateGroupType": RENAME,
            "GroupName": new_name,
            "GroupId": group.group_id,
            "OldGroupName": group.name,
        }
    elif update_type == REGROUP:
        updates = _contact_updates(update.get("ContactUpdateItem"))
        unknown = await _unknown_groups(ctx, (k for op, k in updates if op == ADD))
        async with _lock(ctx, user):
            group = _named(
                await store.list_groups(ctx.app.sdkappid, user),
                update.get("OldGroupName"),
                "OldGroupName",
            )
            changed, codes = regroup(
                await _all_entries(ctx, user), updates, group.group_id, unknown, _now_ms()
            )
            await store.put_entries(ctx.app.sdkappid, user, list(changed.values()))
        outcome = {
            "UpdateGroupType": REGROUP,
            "GroupName": group.name,
            "GroupId": group.group_id,
            "ContactResultItem": [
                {"ContactOptType": op, "ContactItem": contact_item(k), **result_fields(c)}
                for (op, k), c in zip(updates, codes, strict=True)
            ],
        }
    else:
        raise TidingsError(BAD, "UpdateGroupType must be 1 (rename) or 2 (conversations)")
    return {"UpdateType": 1, "UpdateGroupResult": outcome}


async def search_contact_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    keys = parse_contacts(body.get("ContactItem"), "ContactItem", MAX_SEARCH, BAD)
    store = ctx.deps.stores.contact_groups
    found, groups = await asyncio.gather(
        store.get_entries(ctx.app.sdkappid, user, keys),
        store.list_groups(ctx.app.sdkappid, user),
    )
    return {
        "ContactResultItem": [entry_item(found[k]) for k in dict.fromkeys(keys) if k in found],
        "GroupItem": [group_item(g) for g in groups],
    }


async def get_contact_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32, required=False)
    store = ctx.deps.stores.contact_groups
    entries, groups = await asyncio.gather(
        store.list_entries(ctx.app.sdkappid, user), store.list_groups(ctx.app.sdkappid, user)
    )
    page, next_start = page_of(entries, start)
    return {
        "ContactItem": [entry_item(e) for e in page],
        "GroupItem": [group_item(g) for g in groups],
        "CompleteFlag": 0 if next_start else 1,
        "NextStartIndex": next_start,
    }


async def mark_contact(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    raw = body.get("MarkItem")
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, "MarkItem must be a non-empty array")
    if len(raw) > MAX_ITEMS:
        raise TidingsError(
            ErrorCode.CONV_MARK_REQ_COUNT_LIMIT, f"at most {MAX_ITEMS} items in MarkItem"
        )
    ops = [parse_mark(item) for item in raw]
    unknown = await _unknown_groups(ctx, (op.key for op in ops))
    async with _lock(ctx, user):
        changed, codes = apply_marks(await _all_entries(ctx, user), ops, unknown, _now_ms())
        await ctx.deps.stores.contact_groups.put_entries(
            ctx.app.sdkappid, user, list(changed.values())
        )
    return {
        "ResultItem": [
            {"OptType": op.opt_type, "ContactItem": contact_item(op.key), **result_fields(c)}
            for op, c in zip(ops, codes, strict=True)
        ]
    }


COMMANDS: dict[str, Handler] = {
    "create_contact_group": create_contact_group,
    "del_contact_group": del_contact_group,
    "update_contact_group": update_contact_group,
    "search_contact_group": search_contact_group,
    "get_contact_group": get_contact_group,
    "mark_contact": mark_contact,
}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class ContactItemModel(BaseModel):
    Type: int = Field(description="1: C2C, 2: group")
    To_Account: str | None = Field(default=None, description="the peer of a C2C conversation")
    ToGroupId: str | None = Field(default=None, description="the group of a group conversation")


class GroupContactItemModel(BaseModel):
    GroupName: str = Field(min_length=1, description=f"at most {MAX_GROUP_NAME_BYTES} bytes")
    ContactItem: list[ContactItemModel] = Field(min_length=1, max_length=MAX_ITEMS)


class CreateContactGroupRequest(BaseModel):
    From_Account: str
    GroupContactItem: list[GroupContactItemModel] = Field(min_length=1, max_length=1)


class DelContactGroupRequest(BaseModel):
    From_Account: str
    GroupName: list[str] = Field(min_length=1, max_length=1)


class ContactUpdateItemModel(BaseModel):
    ContactOptType: int = Field(description="1: add to the group, 2: remove from it")
    ContactItem: ContactItemModel


class UpdateGroupModel(BaseModel):
    UpdateGroupType: int = Field(description="1: rename, 2: add or remove conversations")
    OldGroupName: str = Field(description="the group to change")
    NewGroupName: str | None = Field(default=None, description="with UpdateGroupType 1")
    ContactUpdateItem: list[ContactUpdateItemModel] | None = Field(
        default=None, max_length=MAX_ITEMS, description="with UpdateGroupType 2"
    )


class UpdateContactGroupRequest(BaseModel):
    From_Account: str
    UpdateType: int = Field(description="always 1")
    UpdateGroup: UpdateGroupModel


class SearchContactGroupRequest(BaseModel):
    From_Account: str
    ContactItem: list[ContactItemModel] = Field(max_length=MAX_SEARCH)


class GetContactGroupRequest(BaseModel):
    From_Account: str
    StartIndex: int = Field(
        default=0, ge=0, le=UINT32.high, description="0, then the previous NextStartIndex"
    )


class MarkItemModel(BaseModel):
    OptType: int = Field(description="1: standard marks, 2: custom mark, 3: both")
    ContactItem: ContactItemModel
    SetMark: list[int] | None = Field(default=None, description="bit numbers to set, 0 to 63")
    ClearMark: list[int] | None = Field(default=None, description="bit numbers to clear")
    CustomMark: str | None = Field(
        default=None, description=f"at most {MAX_CUSTOM_MARK_BYTES} bytes; empty clears it"
    )


class MarkContactRequest(BaseModel):
    From_Account: str
    MarkItem: list[MarkItemModel] = Field(min_length=1, max_length=MAX_ITEMS)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "create_contact_group": CreateContactGroupRequest,
    "del_contact_group": DelContactGroupRequest,
    "update_contact_group": UpdateContactGroupRequest,
    "search_contact_group": SearchContactGroupRequest,
    "get_contact_group": GetContactGroupRequest,
    "mark_contact": MarkContactRequest,
}
