"""group_open_http_svc message commands: send_group_msg, group_msg_get_simple, group_msg_recall.

Group messages take the same path as C2C ones: im.inbound keyed by the group conversation, one
seq per group, fan-out to every member. Tencent's group MsgSeq is that seq.
"""

from __future__ import annotations

import time
from typing import Any

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    SOURCE_REST,
    InboundMessage,
    Message,
)
from services.common.store.groups import Group
from services.gateway.group_rules import AVCHATROOM
from services.gateway.msgbody import content_crc, msg_body_json, parse_msg_body
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_GET = 20
MAX_RECALL = 10


def _group_inbound(ctx: RestContext, group_id: str, sender: str) -> InboundMessage:
    return InboundMessage(
        schema_version=1,
        sdkappid=ctx.app.sdkappid,
        conversation=conversation.group(group_id),
        chat_type=CHAT_TYPE_GROUP,
        sender=sender,
        group_id=group_id,
        source=SOURCE_REST,
        received_at_ms=int(time.time() * 1000),
        client_ip=ctx.client_ip,
        platform="RESTAPI",
    )


async def _group(ctx: RestContext, body: dict[str, Any]) -> Group:
    group_id = fields.text(body, "GroupId", code=BAD)
    group = await ctx.deps.stores.groups.get_group(ctx.app.sdkappid, group_id)
    if group is None:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
    return group


async def _publish(ctx: RestContext, inbound: InboundMessage) -> tuple[int, int]:
    outcome = await ctx.deps.publisher.publish(inbound)
    if outcome.error_code:
        try:
            raise TidingsError(ErrorCode(outcome.error_code), outcome.error_info)
        except ValueError:
            raise TidingsError(ErrorCode.GROUP_INTERNAL, outcome.error_info) from None
    return outcome.seq, outcome.server_time_ms


async def send_group_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    random = fields.integer(body, "Random", code=BAD, minimum=0, maximum=0xFFFFFFFF)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    elements = parse_msg_body(
        fields.raw(body, "MsgBody"),
        ctx.deps.settings.max_body_bytes,
        ErrorCode.BODY_TOO_LARGE,
        BAD,
    )
    sdkappid = ctx.app.sdkappid
    if not ctx.deps.auth.is_admin(ctx.app, sender):
        # The app admin may name any member as the sender; REST sends skip mutes (Tencent).
        found = await ctx.deps.stores.groups.get_members(sdkappid, group.group_id, [sender])
        if not found:
            raise TidingsError(
                ErrorCode.GROUP_NO_PERMISSION, f"From_Account {sender!r} is not a member"
            )
    inbound = _group_inbound(ctx, group.group_id, sender)
    inbound.msg_random = random
    inbound.client_msg_id = f"rest:{random}:{content_crc(elements)}"
    inbound.elements.extend(elements)
    inbound.cloud_custom_data = cloud
    seq, time_ms = await _publish(ctx, inbound)
    return {"MsgTime": time_ms // 1000, "MsgSeq": seq}


def _rsp_item(seq: int, m: Message | None) -> dict[str, Any]:
    if m is None or m.recalled:
        # Tencent's placeholder for a seq whose message expired, was deleted or recalled.
        return {"MsgSeq": seq, "IsPlaceMsg": 1, "MsgBody": [], "From_Account": ""}
    return {
        "From_Account": m.sender,
        "IsPlaceMsg": 0,
        "MsgBody": msg_body_json(m.elements),
        "MsgPriority": 1,
        "MsgRandom": m.msg_random,
        "MsgSeq": m.seq,
        "MsgTimeStamp": m.server_time_ms // 1000,
        "CloudCustomData": m.cloud_custom_data,
    }


async def group_msg_get_simple(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    if group.group_type == AVCHATROOM:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "AVChatRoom groups keep no history")
    count = fields.integer(body, "ReqMsgNumber", code=BAD, minimum=1)
    count = min(count, MAX_GET)
    conv = conversation.group(group.group_id)
    sdkappid = ctx.app.sdkappid
    top = fields.integer(body, "ReqMsgSeq", code=BAD, required=False, minimum=0)
    if not top:
        head = await ctx.deps.history.MaxSeq(
            history_pb2.MaxSeqRequest(sdkappid=sdkappid, conversation=conv), timeout=10.0
        )
        top = int(head.seq)
    seqs = list(range(top, max(0, top - count), -1))
    got: history_pb2.GetReply = await ctx.deps.history.Get(
        history_pb2.GetRequest(sdkappid=sdkappid, conversation=conv, seqs=seqs), timeout=10.0
    )
    by_seq = {m.seq: m for m in got.messages}
    return {
        "GroupId": group.group_id,
        "IsFinished": 1 if not seqs or seqs[-1] <= 1 else 0,
        "RspMsgList": [_rsp_item(s, by_seq.get(s)) for s in seqs],
    }


async def group_msg_recall(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    items = fields.raw(body, "MsgSeqList")
    if not isinstance(items, list) or not items:
        raise TidingsError(BAD, "MsgSeqList must be a non-empty array of {MsgSeq}")
    if len(items) > MAX_RECALL:
        raise TidingsError(BAD, f"at most {MAX_RECALL} MsgSeq a request")
    seqs = [
        fields.integer(i, "MsgSeq", code=BAD, minimum=1) if isinstance(i, dict) else -1
        for i in items
    ]
    if -1 in seqs:
        raise TidingsError(BAD, 'each MsgSeqList item must be {"MsgSeq": n}')
    conv = conversation.group(group.group_id)
    got: history_pb2.GetReply = await ctx.deps.history.Get(
        history_pb2.GetRequest(sdkappid=ctx.app.sdkappid, conversation=conv, seqs=seqs),
        timeout=10.0,
    )
    by_seq = {m.seq: m for m in got.messages}
    results: list[dict[str, int]] = []
    for seq in seqs:
        target = by_seq.get(seq)
        if target is None:
            code = ErrorCode.GROUP_MSG_NOT_FOUND
        elif target.recalled:
            code = ErrorCode.GROUP_MSG_ALREADY_RECALLED
        else:
            inbound = _group_inbound(ctx, group.group_id, target.sender)
            inbound.kind = MESSAGE_KIND_RECALL
            inbound.target_seq = seq
            inbound.msg_random = target.msg_random
            await _publish(ctx, inbound)
            code = ErrorCode.OK
        results.append({"MsgSeq": seq, "RetCode": int(code)})
    return {"RecallRetList": results}


COMMANDS: dict[str, Handler] = {
    "send_group_msg": send_group_msg,
    "group_msg_get_simple": group_msg_get_simple,
    "group_msg_recall": group_msg_recall,
}
