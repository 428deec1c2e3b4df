"""openim_msg_ext_http_svc: message extensions (custom key-value pairs on a message, which
clients use for reactions and polls).

Tencent's reference, followed here:
- get_key_values (From_Account, To_Account, MsgKey; optional StartSeq) and set_key_values
  (the same, plus OperateType and ExtensionList) for one-to-one messages; group_get_key_values
  and group_set_key_values (GroupId, MsgSeq) for group messages, which AVChatRoom groups do
  not support (10007).
- OperateType 1 sets the listed keys, 2 deletes them, 3 clears every key (ExtensionList then
  not needed). ExtensionList holds at most 20 {Key, Value, Seq}; a Key is at most 100 bytes,
  a Value at most 1000 bytes; a message holds at most 300 keys.
- Each key carries the message's extension Seq of the change that last wrote it; a change of
  the message's extensions is one Seq. A write names the Seq it last saw of each key (0 for a
  key it has not seen) and fails for that key alone with 23001 when the key moved on; deleting
  a key that has no value is 23004. The set reply's ExtensionList has, per key in request
  order, its ErrorCode and the Extension {Key, Value, Seq} now stored (on 23001, the value
  that won, so the caller can retry).
- The get reply: ExtensionList sorted by Seq, those with Seq >= StartSeq, at most 200 a reply;
  CompleteFlag 1 when all are returned, else 0 (continue with StartSeq = the last Seq + 1);
  LatestSeq and ClearSeq.
- A one-to-one message is found as admin_msgwithdraw finds it (20022 none, 20023 recalled,
  90054 a malformed MsgKey); a group message by its seq (10030 none, 10031 recalled, 10010 no
  such group). Malformed fields are 90010 for one-to-one and 10004 for group messages.

Where Tencent is silent:
- While the app's console switch `msg_extensions` is off (its default, as Tencent's), every
  command is refused: 20001 for one-to-one messages, 10007 for group messages.
- Every stored message supports extensions: Tidings' messages carry no "support message
  extension" flag, and a message without extensions simply has none.
- An item without Seq is written without the check (the app admin overrides); a request that
  names a key twice is refused (90010/10004), as is one that would pass 300 keys.
- An absent From_Account is the calling admin, the sender Tencent's optional field implies.
- LatestSeq is the Seq of the message's latest change (deletes and clears count, as in
  Tencent's extension callback); ClearSeq the Seq of the last clear. Deleted keys are not
  listed. A page ends at a whole Seq, so StartSeq = last Seq + 1 skips nothing.
- Changes are not pushed to online clients, and the message's deletion or expiry does not
  drop its extensions.
- Concurrent changes of one message that keep losing the race answer 91000 (one-to-one) or
  10002 (group), both retryable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from services.common import conversation, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import AVCHATROOM
from services.common.store.msg_ext import Extension, MsgExtBusy, MsgExtensions
from services.gateway.bounds import MSG_SEQ, STORED_U64, IntRange
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import load_group
from services.gateway.rest_v4.openim_messages import _target

C2C_BAD = ErrorCode.OPENIM_JSON_FIELDS
GROUP_BAD = ErrorCode.GROUP_INVALID_PARAM
# Extensions switched off (`msg_extensions`): Tencent names no code; openim's "invalid request"
# for one-to-one messages, the group service's "no permission" (as for AVChatRoom) for groups.
C2C_OFF = ErrorCode.MSG_INVALID_REQUEST
GROUP_OFF = ErrorCode.GROUP_NO_PERMISSION

SET, DELETE, CLEAR = 1, 2, 3
OPERATE_TYPE = IntRange(SET, CLEAR)
MAX_WRITES = 20
KEY_MAX_BYTES = 100
VALUE_MAX_BYTES = 1000
MAX_KEYS = 300
PAGE_SIZE = 200

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExtWrite:
    key: str
    value: str
    # The key's Seq the writer last saw; None writes without the check.
    seq: int | None


# --- pure rules -----------------------------------------------------------------------------


def parse_writes(raw: object, operate: int, code: ErrorCode) -> list[ExtWrite]:
    """ExtensionList of set_key_values, in request order (a delete needs no Value)."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(code, "ExtensionList must be a non-empty array of {Key, Value, Seq}")
    if len(raw) > MAX_WRITES:
        raise TidingsError(code, f"ExtensionList holds at most {MAX_WRITES} items")
    writes: list[ExtWrite] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(code, "each ExtensionList item must be an object {Key, Value, Seq}")
        key = fields.text(item, "Key", code=code, max_len=KEY_MAX_BYTES)
        value = fields.text(
            item, "Value", code=code, required=operate == SET, max_len=VALUE_MAX_BYTES
        )
        seq = fields.optional_integer(item, "Seq", code=code, within=STORED_U64)
        if any(w.key == key for w in writes):
            raise TidingsError(code, f"ExtensionList names Key {key!r} twice")
        writes.append(ExtWrite(key, "" if operate == DELETE else value, seq))
    return writes


def _result(code: ErrorCode, key: str, value: str, seq: int) -> Reply:
    return {"ErrorCode": int(code), "Extension": {"Key": key, "Value": value, "Seq": seq}}


def apply_writes(
    current: MsgExtensions, writes: Sequence[ExtWrite], operate: int, code: ErrorCode
) -> tuple[MsgExtensions, list[Reply]]:
    """The extensions after setting (SET) or deleting (DELETE) `writes`, and the reply's
    ExtensionList. Keys whose Seq moved on (23001) or, deleted, have no value (23004) are
    left as they are; the others take the next Seq. `code` refuses passing 300 keys."""
    seq = current.latest_seq + 1
    items = dict(current.items)
    results: list[Reply] = []
    for w in writes:
        have = items.get(w.key)
        if operate == DELETE and have is None:
            results.append(_result(ErrorCode.MSG_EXTENSION_NOT_EXIST, w.key, "", 0))
        elif w.seq is not None and w.seq != (have.seq if have else 0):
            value, seen = (have.value, have.seq) if have else ("", 0)
            results.append(_result(ErrorCode.MSG_EXTENSION_CONFLICT, w.key, value, seen))
        elif operate == DELETE:
            del items[w.key]
            results.append(_result(ErrorCode.OK, w.key, "", seq))
        else:
            items[w.key] = Extension(w.value, seq)
            results.append(_result(ErrorCode.OK, w.key, w.value, seq))
    if len(items) > MAX_KEYS:
        raise TidingsError(code, f"a message has at most {MAX_KEYS} extensions")
    if all(r["ErrorCode"] for r in results):
        return current, results
    return MsgExtensions(seq, current.clear_seq, items), results


def clear_all(current: MsgExtensions) -> tuple[MsgExtensions, list[Reply]]:
    """The extensions after OperateType 3: none, the clear being the next Seq."""
    seq = current.latest_seq + 1
    return MsgExtensions(seq, seq, {}), []


def extension_page(current: MsgExtensions, start_seq: int) -> Reply:
    """The get reply's fields: the keys with Seq >= start_seq, by Seq, at most 200, cut at a
    whole Seq (one change writes at most 20 keys, so a page is never empty)."""
    listed = sorted(
        ((k, e) for k, e in current.items.items() if e.seq >= start_seq), key=lambda ke: ke[1].seq
    )
    page = listed[:PAGE_SIZE]
    complete = len(page) == len(listed)
    if not complete and listed[PAGE_SIZE][1].seq == page[-1][1].seq:
        cut = page[-1][1].seq
        page = [(k, e) for k, e in page if e.seq != cut]
    return {
        "CompleteFlag": 1 if complete else 0,
        "LatestSeq": current.latest_seq,
        "ClearSeq": current.clear_seq,
        "ExtensionList": [{"Key": k, "Value": e.value, "Seq": e.seq} for k, e in page],
    }


# --- handlers -------------------------------------------------------------------------------


async def _c2c_message(ctx: RestContext, body: dict[str, Any]) -> tuple[str, int]:
    """The conversation and seq of the one-to-one message named by the body."""
    messaging_settings.require_feature(ctx.app.settings, "msg_extensions", C2C_OFF)
    sender = fields.text(
        body, "From_Account", code=ErrorCode.OPENIM_NO_FROM_ACCOUNT, required=False
    )
    sender, to, found = await _target(ctx, {**body, "From_Account": sender or ctx.identifier})
    return conversation.c2c(sender, to), found.seq


async def _group_message(ctx: RestContext, body: dict[str, Any]) -> tuple[str, int]:
    """The conversation and seq of the group message named by the body."""
    messaging_settings.require_feature(ctx.app.settings, "msg_extensions", GROUP_OFF)
    seq = fields.integer(body, "MsgSeq", code=GROUP_BAD, within=MSG_SEQ)
    group = await load_group(ctx, body)
    if group.group_type == AVCHATROOM:
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION, "AVChatRoom groups do not support message extensions"
        )
    conv = conversation.group(group.group_id)
    found = await ctx.deps.archive.get(ctx.app.sdkappid, conv, [seq])
    if not found or found[0].deleted:
        raise TidingsError(ErrorCode.GROUP_MSG_NOT_FOUND, f"group message {seq} does not exist")
    if found[0].recalled:
        raise TidingsError(ErrorCode.GROUP_MSG_ALREADY_RECALLED, f"group message {seq} recalled")
    return conv, seq


async def _changed(change: Awaitable[T], busy: ErrorCode) -> T:
    """The store's change, with a lost race reported as the service's retryable code."""
    try:
        return await change
    except MsgExtBusy as exc:
        raise TidingsError(busy, f"{exc}, please retry") from exc


async def _get(ctx: RestContext, target: tuple[str, int], start_seq: int) -> Reply:
    conv, seq = target
    return extension_page(await ctx.deps.stores.msg_ext.get(ctx.app.sdkappid, conv, seq), start_seq)


def _start_seq(body: dict[str, Any], code: ErrorCode) -> int:
    return fields.integer(body, "StartSeq", code=code, within=STORED_U64, required=False)


def _writes(body: dict[str, Any], code: ErrorCode) -> tuple[int, list[ExtWrite]]:
    """OperateType and its ExtensionList (none for a clear)."""
    operate = fields.integer(body, "OperateType", code=code, within=OPERATE_TYPE)
    if operate == CLEAR:
        return operate, []
    return operate, parse_writes(fields.raw(body, "ExtensionList"), operate, code)


async def _set(
    ctx: RestContext,
    target: tuple[str, int],
    request: tuple[int, list[ExtWrite]],
    code: ErrorCode,
    busy: ErrorCode,
) -> Reply:
    conv, seq = target
    operate, writes = request
    store = ctx.deps.stores.msg_ext
    results = await _changed(
        store.change(
            ctx.app.sdkappid,
            conv,
            seq,
            clear_all if operate == CLEAR else lambda cur: apply_writes(cur, writes, operate, code),
        ),
        busy,
    )
    return {"ExtensionList": results}


async def get_key_values(ctx: RestContext, body: dict[str, Any]) -> Reply:
    start = _start_seq(body, C2C_BAD)
    return await _get(ctx, await _c2c_message(ctx, body), start)


async def set_key_values(ctx: RestContext, body: dict[str, Any]) -> Reply:
    request = _writes(body, C2C_BAD)
    target = await _c2c_message(ctx, body)
    return await _set(ctx, target, request, C2C_BAD, ErrorCode.OPENIM_SERVICE_INTERNAL)


async def group_get_key_values(ctx: RestContext, body: dict[str, Any]) -> Reply:
    start = _start_seq(body, GROUP_BAD)
    return await _get(ctx, await _group_message(ctx, body), start)


async def group_set_key_values(ctx: RestContext, body: dict[str, Any]) -> Reply:
    request = _writes(body, GROUP_BAD)
    target = await _group_message(ctx, body)
    return await _set(ctx, target, request, GROUP_BAD, ErrorCode.GROUP_INTERNAL)


COMMANDS: dict[str, Handler] = {
    "get_key_values": get_key_values,
    "set_key_values": set_key_values,
    "group_get_key_values": group_get_key_values,
    "group_set_key_values": group_set_key_values,
}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class MsgExtItem(BaseModel):
    Key: str = Field(description=f"at most {KEY_MAX_BYTES} bytes")
    Value: str = Field(default="", description=f"at most {VALUE_MAX_BYTES} bytes")
    Seq: int | None = Field(
        default=None, ge=0, le=STORED_U64.high, description="the key's Seq last seen; 0 if new"
    )


class C2CMsgExtGetRequest(BaseModel):
    From_Account: str | None = None
    To_Account: str
    MsgKey: str
    StartSeq: int | None = Field(default=None, ge=0, le=STORED_U64.high)


class C2CMsgExtSetRequest(BaseModel):
    From_Account: str | None = None
    To_Account: str
    MsgKey: str
    OperateType: int = Field(ge=SET, le=CLEAR, description="1 set, 2 delete, 3 clear all")
    ExtensionList: list[MsgExtItem] | None = Field(default=None, max_length=MAX_WRITES)


class GroupMsgExtGetRequest(BaseModel):
    GroupId: str
    MsgSeq: int = Field(ge=MSG_SEQ.low, le=MSG_SEQ.high)
    StartSeq: int | None = Field(default=None, ge=0, le=STORED_U64.high)


class GroupMsgExtSetRequest(BaseModel):
    GroupId: str
    MsgSeq: int = Field(ge=MSG_SEQ.low, le=MSG_SEQ.high)
    OperateType: int = Field(ge=SET, le=CLEAR, description="1 set, 2 delete, 3 clear all")
    ExtensionList: list[MsgExtItem] | None = Field(default=None, max_length=MAX_WRITES)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "get_key_values": C2CMsgExtGetRequest,
    "set_key_values": C2CMsgExtSetRequest,
    "group_get_key_values": GroupMsgExtGetRequest,
    "group_set_key_values": GroupMsgExtSetRequest,
}
