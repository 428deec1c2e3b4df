"""openim: C2C messages sent and read by the app server."""

from __future__ import annotations

import time
import zlib
from typing import Any

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_C2C, SOURCE_REST, InboundMessage
from services.gateway.bounds import UINT32, UINT32_MAX, IntRange
from services.gateway.msgbody import msg_body_json, parse_msg_body
from services.gateway.msgkeys import parse_msg_key
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.OPENIM_JSON_FIELDS
MAX_ROAM_COUNT = 100
# Any count is taken; a page holds at most MAX_ROAM_COUNT messages.
MAX_CNT = IntRange(1, UINT32_MAX)
# Tencent: 1 also puts the message on the sender's devices and roaming, 2 does not.
SYNC_OTHER_MACHINE = IntRange(1, 2)


def _outcome_error(code: int, info: str) -> TidingsError:
    # As-is: the router's codes, and an app server's own before-send code (pass-through range).
    return TidingsError(code, info)


async def sendmsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    sync = fields.integer(
        body, "SyncOtherMachine", code=BAD, within=SYNC_OTHER_MACHINE, required=False, default=2
    )
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    to = fields.text(body, "To_Account", code=ErrorCode.OPENIM_NO_TO_ACCOUNT)
    random = fields.integer(body, "MsgRandom", code=ErrorCode.OPENIM_NO_MSG_RANDOM, within=UINT32)
    msg_seq = fields.integer(body, "MsgSeq", code=BAD, within=UINT32, required=False)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    raw_body = fields.raw(body, "MsgBody")
    elements = parse_msg_body(
        raw_body,
        ctx.deps.settings.max_body_bytes,
        ErrorCode.OPENIM_BODY_TOO_LARGE,
        ErrorCode.OPENIM_MSG_BODY,
    )
    sdkappid = ctx.app.sdkappid
    missing = await ctx.deps.auth.missing_accounts(
        sdkappid, [u for u in (sender, to) if not ctx.deps.auth.is_admin(ctx.app, u)]
    )
    if to in missing:
        raise TidingsError(ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN, f"To_Account {to!r} does not exist")
    if sender in missing:
        raise TidingsError(ErrorCode.MSG_ACCOUNT_INVALID, f"From_Account {sender!r} does not exist")
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
        sync_other_machine=sync,
        client_ip=ctx.client_ip,
        platform="RESTAPI",
    )
    outcome = await ctx.deps.publisher.publish(inbound)
    if outcome.error_code:
        raise _outcome_error(outcome.error_code, outcome.error_info)
    return {
        "MsgTime": outcome.server_time_ms // 1000,
        "MsgKey": outcome.msg_key,
        "MsgSeq": outcome.seq,
    }


def _seq_of_msg_key(key: str) -> int:
    """Our MsgKey is random_seq_time; continuation resumes before that seq."""
    return parse_msg_key(key, BAD).seq


async def admin_getroammsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    operator = fields.text(body, "Operator_Account", "From_Account", code=BAD)
    peer = fields.text(body, "Peer_Account", "To_Account", code=BAD)
    max_cnt = fields.integer(body, "MaxCnt", code=BAD, within=MAX_CNT)
    min_time = fields.integer(body, "MinTime", code=BAD, within=UINT32)
    max_time = fields.integer(body, "MaxTime", code=BAD, within=UINT32)
    last_key = fields.text(body, "LastMsgKey", code=BAD, required=False)
    if min_time > max_time:
        raise TidingsError(BAD, "MinTime must not be after MaxTime")
    reply = await ctx.deps.history.Roam(
        history_pb2.RoamRequest(
            sdkappid=ctx.app.sdkappid,
            conversation=conversation.c2c(operator, peer),
            min_time_ms=min_time * 1000,
            # MaxTime is in whole seconds: include the whole last second.
            max_time_ms=max_time * 1000 + 999,
            limit=min(max_cnt, MAX_ROAM_COUNT),
            newest_first=True,
            before_seq=_seq_of_msg_key(last_key) if last_key else 0,
        ),
        timeout=10.0,
    )
    msgs = list(reply.messages)
    out: Reply = {
        "Complete": 1 if reply.complete else 0,
        "MsgCnt": len(msgs),
        "LastMsgTime": msgs[-1].server_time_ms // 1000 if msgs else 0,
        "LastMsgKey": msgs[-1].msg_key if msgs else "",
        "MsgList": [
            {
                "From_Account": m.sender,
                "To_Account": m.to_user,
                "MsgSeq": m.seq,
                "MsgRandom": m.msg_random,
                "MsgTimeStamp": m.server_time_ms // 1000,
                # Tencent: 0 normal, 8 recalled.
                "MsgFlagBits": 8 if m.recalled else 0,
                "IsPeerRead": 0,
                "MsgKey": m.msg_key,
                "MsgBody": msg_body_json(m.elements),
                "CloudCustomData": m.cloud_custom_data,
            }
            for m in msgs
        ],
    }
    return out


COMMANDS: dict[str, Handler] = {"sendmsg": sendmsg, "admin_getroammsg": admin_getroammsg}
