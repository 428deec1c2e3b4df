"""Read receipts over REST: openim/c2c_msg_read_receipt, and group_open_http_svc's
group_msg_receipt, get_group_msg_receipt and get_group_msg_receipt_detail (reference:
cloud.tencent.com/document/product/269/104121, 269/107478, 269/77694 and 269/77693).

They act on the WebSocket endpoint's receipt state (services/gateway/receipts.py): a group
message that asked for receipts is indexed with its sender, each member who reads it is counted
once, and the sender gets a `receipt` push with the new count.

Tencent's rules kept here: c2c_msg_read_receipt's C2CMsgInfo items name messages From_Account =
Peer_Account to To_Account = Operator_Account (anything else, or a malformed field, is 20001);
group_msg_receipt takes at most 50 MsgSeq; get_group_msg_receipt answers one item per MsgSeq
with Code 10062 for a message with no receipt state; get_group_msg_receipt_detail's Filter is 0
(members who read) or 1 (members who did not), Count at most 200, Cursor "" first and then the
previous page's Cursor until IsFinish is 1; AVChatRoom and Community groups have no receipts.

Where Tencent is silent:
- c2c_msg_read_receipt leaves read marks and unread counts alone (receipts and read marks are
  apart, as in Tencent's SDK); it takes at most 100 C2CMsgInfo items; an account that was never
  imported is 20003, a MsgKey that names no message from Peer_Account to Operator_Account 20022.
  The peer's devices get one `receipt` push per message, with its `msg_key` (a read mark's
  receipt has none).
- group_msg_receipt counts From_Account (a member, else 10019) as a reader of each listed message
  that asked for receipts and is not its own; other seqs change nothing. Read marks stay.
- get_group_msg_receipt takes at most 100 MsgSeq; a MsgSeq named twice is answered once.
- Read and unread members are the group's current members other than the sender, by UserID;
  get_group_msg_receipt_detail's Count defaults to 200, its Cursor is opaque (the last UserID of
  the page, base64url), and its reply also names GroupId, MsgSeq and Filter.
- A group of another kind, of a type the app has not enabled for receipts (messaging setting
  `group_receipt_types`; Tencent's console switch, off by default), or of more than 200 members
  answers 10007, as Tencent does for commands a group type lacks, and changes nothing.
- The read receipt callback (Group.CallbackAfterReadReceipt) is not sent yet.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.groups import Group
from services.gateway import ids, profiles
from services.gateway.bounds import FLAG, MSG_SEQ, IntRange
from services.gateway.msgkeys import find_by_msg_key, parse_msg_key
from services.gateway.receipts import (
    c2c_message_receipt_notice,
    group_receipt_notice,
    notify,
    read_split,
    receipt_refusal,
)
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.accounts_check import missing_accounts
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import load_group

BAD_C2C = ErrorCode.MSG_INVALID_REQUEST
BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_C2C_RECEIPTS = 100
MAX_GROUP_RECEIPTS = 50
MAX_RECEIPT_QUERIES = 100
MAX_DETAIL_COUNT = 200
DETAIL_COUNT = IntRange(1, MAX_DETAIL_COUNT)
FILTER_READ = 0
# A Cursor: the base64url of a UserID of at most 32 bytes.
MAX_CURSOR_CHARS = 43
_MAX_KEY_CHARS = 64


# ---- pure rules -------------------------------------------------------------------------------


def user_field(body: dict[str, Any], name: str, code: ErrorCode) -> str:
    raw = fields.raw(body, name)
    if raw is None:
        raise TidingsError(code, f"{name} is required")
    return profiles.user_id(raw, name, code)


def c2c_msg_keys(raw: Any, operator: str, peer: str) -> list[str]:
    """The MsgKeys of C2CMsgInfo, once each, in order: every item a message from the peer to
    the operator."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD_C2C, "C2CMsgInfo must be a non-empty array")
    if len(raw) > MAX_C2C_RECEIPTS:
        raise TidingsError(BAD_C2C, f"at most {MAX_C2C_RECEIPTS} C2CMsgInfo items a request")
    keys: list[str] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD_C2C, "each C2CMsgInfo item must be an object")
        if user_field(item, "From_Account", BAD_C2C) != peer:
            raise TidingsError(BAD_C2C, "C2CMsgInfo From_Account must be the Peer_Account")
        if user_field(item, "To_Account", BAD_C2C) != operator:
            raise TidingsError(BAD_C2C, "C2CMsgInfo To_Account must be the Operator_Account")
        keys.append(fields.text(item, "MsgKey", code=BAD_C2C, max_len=_MAX_KEY_CHARS))
    return list(dict.fromkeys(keys))


def msg_seqs(raw: Any, limit: int) -> list[int]:
    """MsgSeqList, [{"MsgSeq": n}, ...], as its seqs once each, in order."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, 'MsgSeqList must be a non-empty array of {"MsgSeq": n}')
    if len(raw) > limit:
        raise TidingsError(BAD, f"at most {limit} MsgSeq a request")
    seqs: list[int] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, 'each MsgSeqList item must be {"MsgSeq": n}')
        seqs.append(fields.integer(item, "MsgSeq", code=BAD, within=MSG_SEQ))
    return list(dict.fromkeys(seqs))


def encode_cursor(last_user: str) -> str:
    return base64.urlsafe_b64encode(last_user.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The UserID a page resumes after; "" (the first page) for an empty cursor."""
    if not cursor:
        return ""
    try:
        user = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    # binascii.Error and UnicodeDecodeError are ValueErrors.
    except ValueError:
        raise TidingsError(BAD, "Cursor is not a Cursor this command answered") from None
    if ids.user_id_problem(user) is not None or encode_cursor(user) != cursor:
        raise TidingsError(BAD, "Cursor is not a Cursor this command answered")
    return user


def detail_page(users: Sequence[str], after: str, count: int) -> tuple[list[str], str]:
    """The sorted `users` after the UserID `after`, at most `count`, and the Cursor of the next
    page ("" when none is left)."""
    rest = [u for u in users if u > after]
    page = rest[:count]
    return page, encode_cursor(page[-1]) if len(rest) > count else ""


def receipt_item(seq: int, counts: tuple[int, int] | None) -> dict[str, int]:
    """A GroupMsgReceiptList item: the read and unread counts, or Code 10062 for a message
    with no receipt state (None)."""
    if counts is None:
        code, counts = ErrorCode.GROUP_RECEIPT_NOT_FOUND, (0, 0)
    else:
        code = ErrorCode.OK
    return {"Code": int(code), "MsgSeq": seq, "ReadNum": counts[0], "UnreadNum": counts[1]}


# ---- commands ---------------------------------------------------------------------------------


async def _c2c_message(ctx: RestContext, conv: str, peer: str, key: str) -> Message:
    found = await find_by_msg_key(
        ctx.deps.archive, ctx.app.sdkappid, conv, parse_msg_key(key, BAD_C2C)
    )
    if found is None or found.sender != peer:
        raise TidingsError(ErrorCode.MSG_NOT_FOUND, f"MsgKey {key!r} names no message of the peer")
    return found


async def c2c_msg_read_receipt(ctx: RestContext, body: dict[str, Any]) -> Reply:
    operator = user_field(body, "Operator_Account", BAD_C2C)
    peer = user_field(body, "Peer_Account", BAD_C2C)
    if operator == peer:
        raise TidingsError(BAD_C2C, "Operator_Account and Peer_Account must differ")
    keys = c2c_msg_keys(fields.raw(body, "C2CMsgInfo"), operator, peer)
    missing = await missing_accounts(ctx, [operator, peer])
    if missing:
        raise TidingsError(
            ErrorCode.MSG_ACCOUNT_INVALID, f"accounts not imported: {', '.join(sorted(missing))}"
        )
    conv = conversation.c2c(operator, peer)
    found = await asyncio.gather(*(_c2c_message(ctx, conv, peer, k) for k in keys))
    now_ms = int(time.time() * 1000)
    by_seq = {m.seq: m for m in found}
    notices = [
        c2c_message_receipt_notice(ctx.app.sdkappid, operator, peer, m.seq, m.msg_key, now_ms)
        for m in by_seq.values()
    ]
    await notify(ctx.deps.channels, ctx.deps.sessions, notices)
    return {}


async def _receipt_group(ctx: RestContext, body: dict[str, Any]) -> Group:
    group = await load_group(ctx, body)
    count = await ctx.deps.stores.groups.count_members(ctx.app.sdkappid, group.group_id)
    refusal = receipt_refusal(ctx.app.settings, group, count)
    if refusal is not None:
        raise refusal
    return group


async def group_msg_receipt(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _receipt_group(ctx, body)
    reader = user_field(body, "From_Account", BAD)
    seqs = msg_seqs(fields.raw(body, "MsgSeqList"), MAX_GROUP_RECEIPTS)
    sdkappid, group_id = ctx.app.sdkappid, group.group_id
    if not await ctx.deps.stores.groups.get_members(sdkappid, group_id, [reader]):
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND, f"{reader!r} is not a member of group {group_id!r}"
        )
    receipts = ctx.deps.receipts
    counted = await asyncio.gather(
        *(receipts.mark_read(sdkappid, group_id, reader, seq - 1, seq) for seq in seqs)
    )
    now_ms = int(time.time() * 1000)
    notices = [
        group_receipt_notice(sdkappid, group_id, reader, c, now_ms) for cs in counted for c in cs
    ]
    await notify(ctx.deps.channels, ctx.deps.sessions, notices)
    return {}


async def get_group_msg_receipt(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _receipt_group(ctx, body)
    seqs = msg_seqs(fields.raw(body, "MsgSeqList"), MAX_RECEIPT_QUERIES)
    sdkappid, group_id = ctx.app.sdkappid, group.group_id
    receipts = ctx.deps.receipts
    senders, readers, members = await asyncio.gather(
        asyncio.gather(*(receipts.sender_of(sdkappid, group_id, s) for s in seqs)),
        asyncio.gather(*(receipts.readers(sdkappid, group_id, s) for s in seqs)),
        ctx.deps.stores.groups.members(sdkappid, group_id),
    )
    member_ids = [m.user_id for m in members]
    items: list[dict[str, int]] = []
    for seq, sender, seq_readers in zip(seqs, senders, readers, strict=True):
        if sender is None:
            items.append(receipt_item(seq, None))
            continue
        read, unread = read_split(seq_readers, member_ids, sender)
        items.append(receipt_item(seq, (len(read), len(unread))))
    return {"GroupMsgReceiptList": items}


async def get_group_msg_receipt_detail(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _receipt_group(ctx, body)
    seq = fields.integer(body, "MsgSeq", code=BAD, within=MSG_SEQ)
    which = fields.integer(body, "Filter", code=BAD, within=FLAG)
    after = decode_cursor(
        fields.text(body, "Cursor", code=BAD, required=False, max_len=MAX_CURSOR_CHARS)
    )
    count = fields.integer(
        body, "Count", code=BAD, within=DETAIL_COUNT, required=False, default=MAX_DETAIL_COUNT
    )
    sdkappid, group_id = ctx.app.sdkappid, group.group_id
    sender = await ctx.deps.receipts.sender_of(sdkappid, group_id, seq)
    if sender is None:
        raise TidingsError(ErrorCode.GROUP_RECEIPT_NOT_FOUND, "the message has no read receipt")
    readers, members = await asyncio.gather(
        ctx.deps.receipts.readers(sdkappid, group_id, seq),
        ctx.deps.stores.groups.members(sdkappid, group_id),
    )
    read, unread = read_split(readers, (m.user_id for m in members), sender)
    page, cursor = detail_page(read if which == FILTER_READ else unread, after, count)
    return {
        "GroupId": group_id,
        "MsgSeq": seq,
        "Filter": which,
        "Cursor": cursor,
        "IsFinish": 0 if cursor else 1,
        "ReadList" if which == FILTER_READ else "UnreadList": [{"Member_Account": u} for u in page],
    }


OPENIM_COMMANDS: dict[str, Handler] = {"c2c_msg_read_receipt": c2c_msg_read_receipt}
GROUP_COMMANDS: dict[str, Handler] = {
    "group_msg_receipt": group_msg_receipt,
    "get_group_msg_receipt": get_group_msg_receipt,
    "get_group_msg_receipt_detail": get_group_msg_receipt_detail,
}


# ---- OpenAPI request bodies (documentation; the handlers check every field) ------------------


class C2CMsgInfoItem(BaseModel):
    From_Account: str = Field(description="the message's sender: Peer_Account")
    To_Account: str = Field(description="the message's recipient: Operator_Account")
    MsgKey: str


class C2CMsgReadReceiptRequest(BaseModel):
    Operator_Account: str = Field(description="the user who read the messages")
    Peer_Account: str = Field(description="the other user of the conversation")
    C2CMsgInfo: list[C2CMsgInfoItem] = Field(min_length=1, max_length=MAX_C2C_RECEIPTS)


class MsgSeqItem(BaseModel):
    MsgSeq: int = Field(ge=MSG_SEQ.low, le=MSG_SEQ.high)


class GroupMsgReceiptRequest(BaseModel):
    GroupId: str
    From_Account: str = Field(description="the member who read the messages")
    MsgSeqList: list[MsgSeqItem] = Field(min_length=1, max_length=MAX_GROUP_RECEIPTS)


class GetGroupMsgReceiptRequest(BaseModel):
    GroupId: str
    MsgSeqList: list[MsgSeqItem] = Field(min_length=1, max_length=MAX_RECEIPT_QUERIES)


class GetGroupMsgReceiptDetailRequest(BaseModel):
    GroupId: str
    MsgSeq: int = Field(ge=MSG_SEQ.low, le=MSG_SEQ.high)
    Filter: int = Field(ge=0, le=1, description="0 members who read, 1 members who did not")
    Cursor: str = Field(default="", description='"" first, then the previous reply\'s Cursor')
    Count: int = Field(default=MAX_DETAIL_COUNT, ge=1, le=MAX_DETAIL_COUNT)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "c2c_msg_read_receipt": C2CMsgReadReceiptRequest,
    "group_msg_receipt": GroupMsgReceiptRequest,
    "get_group_msg_receipt": GetGroupMsgReceiptRequest,
    "get_group_msg_receipt_detail": GetGroupMsgReceiptDetailRequest,
}
