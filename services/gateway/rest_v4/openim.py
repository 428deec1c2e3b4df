"""openim: C2C messages sent and read by the app server.

admin_getroammsg follows Tencent's reference (tencentcloud.com/document/product/1047/35478):
IsPeerRead is 1 once the message's recipient has read the conversation up to it (their read mark,
as markC2CMessageAsRead and admin_set_msg_read set it, is at or past the message's seq).
MsgClientTime is in every item, as Tencent's replies carry it: the client's time is not stored, so
it is the server's MsgTimeStamp (an import's is its own time). Tencent documents no cap on
MaxCnt, only a reply cut with Complete 0 and a continuation: any MaxCnt is taken, and a page
holds at most MAX_ROAM_COUNT messages, Complete 0 telling the caller to go on.

sendmsg and batchsendmsg take Tencent's IsNeedReadReceipt (0 or 1: the message asks its
recipient for a read receipt, as a client's need_receipt does) and check that MsgLifeTime is a
32-bit unsigned integer (90044 when it is no integer, 90026 when it is out of range; Tencent keeps
a lifetime over 7 days for 7 days rather than refuse it). A SyncOtherMachine that is no integer
is 90031, and importmsg's SyncFromOldSystem missing or no integer 90030: Tencent's codes.
A MsgLifeTime does not shorten the message's life here: every message is kept for the app's
retention, and 0 does not make it online-only.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import parse_offline_push
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    SOURCE_REST,
    InboundMessage,
    Message,
)
from services.gateway import tracing
from services.gateway.bounds import FLAG, UINT32, UINT32_MAX, IntRange
from services.gateway.handlers.send import check_send, publish
from services.gateway.msgbody import msg_body_json, parse_msg_body
from services.gateway.msgkeys import parse_msg_key
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.send_controls import NO_CONTROLS, SendControls, send_controls

BAD = ErrorCode.OPENIM_JSON_FIELDS
MAX_ROAM_COUNT = 100
# Any count is taken; a page holds at most MAX_ROAM_COUNT messages.
MAX_CNT = IntRange(1, UINT32_MAX)
# Tencent: 1 also puts the message on the sender's devices and roaming, 2 does not.
SYNC_OTHER_MACHINE = IntRange(1, 2)


@dataclass(frozen=True, slots=True)
class SendOptions:
    """The per-message switches of sendmsg and batchsendmsg."""

    sync_other_machine: int
    need_read_receipt: bool
    controls: SendControls = NO_CONTROLS


def send_options(body: dict[str, Any]) -> SendOptions:
    fields.optional_integer(
        body,
        "MsgLifeTime",
        code=ErrorCode.PUSH_LIFETIME_INVALID,
        within=UINT32,
        type_code=ErrorCode.OPENIM_MSG_LIFETIME_TYPE,
    )
    return SendOptions(
        sync_other_machine=fields.integer(
            body,
            "SyncOtherMachine",
            code=BAD,
            within=SYNC_OTHER_MACHINE,
            required=False,
            default=2,
            type_code=ErrorCode.OPENIM_SYNC_OTHER_MACHINE,
        ),
        need_read_receipt=fields.integer(
            body, "IsNeedReadReceipt", code=BAD, within=FLAG, required=False
        )
        == 1,
        controls=send_controls(body, BAD),
    )


async def sendmsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    options = send_options(body)
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    to = fields.text(body, "To_Account", code=ErrorCode.OPENIM_NO_TO_ACCOUNT)
    random = fields.integer(body, "MsgRandom", code=ErrorCode.OPENIM_NO_MSG_RANDOM, within=UINT32)
    msg_seq = fields.integer(body, "MsgSeq", code=BAD, within=UINT32, required=False)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    offline_push = parse_offline_push(fields.raw(body, "OfflinePushInfo"), BAD)
    raw_body = fields.raw(body, "MsgBody")
    elements = parse_msg_body(
        raw_body,
        ctx.deps.settings.max_body_bytes,
        ErrorCode.OPENIM_BODY_TOO_LARGE,
        ErrorCode.OPENIM_MSG_BODY,
    )
    sdkappid = ctx.app.sdkappid
    # Tencent dedupes REST sends on sender, MsgSeq, MsgRandom and the CRC32 of the content.
    crc = zlib.crc32(b"".join(e.content_json for e in elements))
    inbound = InboundMessage(
        schema_version=1,
        sdkappid=sdkappid,
        conversation=conversation.c2c(sender, to),
        chat_type=CHAT_TYPE_C2C,
        sender=sender,
        to_user=to,
        client_msg_id=f"rest:{msg_seq}:{random}:{crc}",
        msg_random=random,
        elements=elements,
        cloud_custom_data=cloud,
        source=SOURCE_REST,
        received_at_ms=int(time.time() * 1000),
        sync_other_machine=options.sync_other_machine,
        client_ip=ctx.client_ip,
        platform="RESTAPI",
        offline_push_json=offline_push,
        need_read_receipt=options.need_read_receipt,
    )
    options.controls.apply(inbound)
    await check_send(ctx.deps.auth.rules, ctx.app, inbound)
    outcome = await publish(ctx.deps.publisher, inbound)
    return {
        "MsgTime": outcome.server_time_ms // 1000,
        "MsgKey": outcome.msg_key,
        "MsgSeq": outcome.seq,
    }


def _seq_of_msg_key(key: str) -> int:
    """Our MsgKey is random_seq_time; continuation resumes before that seq."""
    return parse_msg_key(key, BAD).seq


# MsgFlagBits (Tencent): 0 normal, 8 recalled.
FLAG_RECALLED = 8


def roam_item(m: Message, read_seqs: Mapping[str, int]) -> dict[str, Any]:
    """One MsgList item; read_seqs: each party's read mark in the conversation."""
    time_s = m.server_time_ms // 1000
    # Tencent's example reply's order.
    return {
        "From_Account": m.sender,
        "To_Account": m.to_user,
        "MsgSeq": m.seq,
        "MsgRandom": m.msg_random,
        "MsgTimeStamp": time_s,
        "MsgClientTime": time_s,
        "MsgFlagBits": FLAG_RECALLED if m.recalled else 0,
        "IsPeerRead": 1 if read_seqs.get(m.to_user, 0) >= m.seq else 0,
        "MsgKey": m.msg_key,
        "MsgBody": msg_body_json(m.elements),
        "CloudCustomData": m.cloud_custom_data,
    }


async def admin_getroammsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    operator = fields.text(body, "Operator_Account", "From_Account", code=BAD)
    peer = fields.text(body, "Peer_Account", "To_Account", code=BAD)
    max_cnt = fields.integer(body, "MaxCnt", code=BAD, within=MAX_CNT)
    min_time = fields.integer(body, "MinTime", code=BAD, within=UINT32)
    max_time = fields.integer(body, "MaxTime", code=BAD, within=UINT32)
    last_key = fields.text(body, "LastMsgKey", code=BAD, required=False)
    if min_time > max_time:
        raise TidingsError(BAD, "MinTime must not be after MaxTime")
    sdkappid = ctx.app.sdkappid
    conv = conversation.c2c(operator, peer)
    reply = await ctx.deps.history.Roam(
        history_pb2.RoamRequest(
            sdkappid=sdkappid,
            conversation=conv,
            min_time_ms=min_time * 1000,
            # MaxTime is in whole seconds: include the whole last second.
            max_time_ms=max_time * 1000 + 999,
            limit=min(max_cnt, MAX_ROAM_COUNT),
            newest_first=True,
            before_seq=_seq_of_msg_key(last_key) if last_key else 0,
        ),
        timeout=10.0,
    )
    page = list(reply.messages)
    # What the operator deleted for itself (delete_c2c_msg_ramble) is not in its roaming; the
    # page's last message still sets the continuation.
    hidden = await ctx.deps.stores.msg_deletions.hidden(sdkappid, operator, conv)
    msgs = [m for m in page if m.seq not in hidden]
    store = ctx.deps.stores.conversations
    read_seqs: dict[str, int] = {}
    for user in dict.fromkeys((operator, peer)):
        state = (await store.get(sdkappid, user, [conv])).get(conv)
        read_seqs[user] = state.read_seq if state else 0
    return {
        "Complete": 1 if reply.complete else 0,
        "MsgCnt": len(msgs),
        "LastMsgTime": page[-1].server_time_ms // 1000 if page else 0,
        "LastMsgKey": page[-1].msg_key if page else "",
        "MsgList": [roam_item(m, read_seqs) for m in msgs],
    }


COMMANDS: dict[str, Handler] = {
    "sendmsg": tracing.rest_traced(sendmsg, tracing.rest_c2c_send),
    "admin_getroammsg": admin_getroammsg,
}
