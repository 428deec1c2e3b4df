"""group_open_http_svc message commands: send_group_msg, import_group_msg,
send_group_system_notification, group_msg_get_simple, group_msg_recall,
delete_group_msg_by_sender and set_unread_msg_num.

Group messages take the same path as C2C ones: im.inbound keyed by the group conversation, one
seq per group, fan-out to every member. Tencent's group MsgSeq is that seq. Imports are silent
messages with their own time; a system notification and a delete-by-sender are actions on the
same path (no seq), so they stay in order with the group's messages.

group_msg_get_simple follows Tencent's reference (cloud.tencent.com/document/product/269/2738):
every RspMsgList item carries From_Account, IsPlaceMsg, MsgBody, MsgPriority, MsgRandom, MsgSeq
and MsgTimeStamp, placeholders included (IsPlaceMsg 1: deleted or expired, MsgBody empty; 2: a
recalled message, returned with its body only when WithRecalledMsg is 1, a placeholder like a
deleted one otherwise). Where Tencent is silent: a placeholder keeps the sender, random and time
the archive still has (expired messages have none: "" and 0); MsgPriority is 1 (High) for every
message, as priorities are not stored; IsSystemMsg is never sent, as system notifications are
not stored; CloudCustomData comes after MsgTimeStamp when the message has one (Tencent's newer
replies carry it; its example, written before the field existed, does not). A ReqMsgSeq
above the group's latest seq reads from the latest seq.
IsFinished is Tencent's: 1 when the reply holds the whole requested range (ReqMsgNumber seqs down
from ReqMsgSeq, none below 1), 0 when it was cut at MAX_GET, 2 when it was cut and every message
on the page has expired. A TopicId (send_group_msg, group_msg_get_simple, group_msg_recall) sends
to, reads and recalls in the Community topic's own conversation (rest_v4/group_topics.py); the
other commands ignore it.
send_group_msg takes OnlineOnlyFlag (1: online members only, never stored or pushed, as a live
group's messages): the message still takes a seq, which history then answers with a placeholder
(IsPlaceMsg 1). NeedReadReceipt 1 asks for read receipts as a client's need_receipt does (the
same rules: receipts.py). SendMsgControl and ForbidCallbackControl are honoured as for C2C
(rest_v4/send_controls.py), and GroupAtInfo's mentions travel with the message (mentions.py);
its MsgPriority and To_Account are not read yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import parse_offline_push
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    SOURCE_REST,
    InboundMessage,
    Message,
    MsgElement,
)
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.store.groups import Group
from services.gateway import tracing
from services.gateway.bounds import FLAG, MSG_SEQ, STORED_U64, UINT32, UINT32_MAX, IntRange
from services.gateway.group_msg_rules import (
    import_checks,
    keeps_unread_counts,
    notification_targets,
    parse_import_list,
)
from services.gateway.group_rules import AVCHATROOM
from services.gateway.handlers.recall import ALREADY_RECALLED, GONE, recall, rest_origin
from services.gateway.handlers.send import check_group, publish
from services.gateway.mentions import parse_group_at_info
from services.gateway.msgbody import content_crc, msg_body_json, parse_msg_body
from services.gateway.receipts import receipt_refusal
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_topics import topic_conversation
from services.gateway.rest_v4.send_controls import send_controls

BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_GET = 20
# Any count is taken; a reply holds at most MAX_GET messages (Tencent's 20).
REQ_MSG_NUMBER = IntRange(1, UINT32_MAX)
MAX_RECALL = 10


def group_inbound(ctx: RestContext, group_id: str, sender: str) -> InboundMessage:
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
    outcome = await publish(ctx.deps.publisher, inbound)
    return outcome.seq, outcome.server_time_ms


def _resolver(done: asyncio.Future[Outcome]) -> Callable[[Outcome], None]:
    def resolve(outcome: Outcome) -> None:
        if not done.done():
            done.set_result(outcome)

    return resolve


async def publish_in_order(ctx: RestContext, inbound: list[InboundMessage]) -> list[Outcome]:
    """Produce in list order (so seqs follow it), then wait for every outcome at once."""
    loop = asyncio.get_running_loop()
    waits: list[asyncio.Future[Outcome]] = []
    for m in inbound:
        done: asyncio.Future[Outcome] = loop.create_future()
        await ctx.deps.publisher.submit(m, _resolver(done))
        waits.append(done)
    return list(await asyncio.gather(*waits))


async def _message_count(ctx: RestContext, conv: str) -> int:
    """The group's (or topic's) highest seq: how many messages it has had."""
    head = await ctx.deps.history.MaxSeq(
        history_pb2.MaxSeqRequest(sdkappid=ctx.app.sdkappid, conversation=conv),
        timeout=10.0,
    )
    return int(head.seq)


async def send_group_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group_id = fields.text(body, "GroupId", code=BAD)
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    random = fields.integer(body, "Random", code=BAD, within=UINT32)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    offline_push = parse_offline_push(fields.raw(body, "OfflinePushInfo"), BAD)
    online_only = fields.integer(body, "OnlineOnlyFlag", code=BAD, within=FLAG, required=False)
    need_receipt = fields.integer(body, "NeedReadReceipt", code=BAD, within=FLAG, required=False)
    controls = send_controls(body, BAD)
    at = parse_group_at_info(fields.raw(body, "GroupAtInfo"), BAD)
    elements = parse_msg_body(
        fields.raw(body, "MsgBody"),
        ctx.deps.settings.max_body_bytes,
        ErrorCode.BODY_TOO_LARGE,
        BAD,
    )
    inbound = group_inbound(ctx, group_id, sender)
    inbound.msg_random = random
    inbound.client_msg_id = f"rest:{random}:{content_crc(elements)}"
    inbound.elements.extend(elements)
    inbound.cloud_custom_data = cloud
    inbound.offline_push_json = offline_push
    # Tencent's OnlineOnlyFlag 1: online members only, neither stored nor counted unread.
    inbound.online_only = online_only == 1
    controls.apply(inbound)
    at.apply(inbound)
    # The group and the sender's membership from the gateway's directory, as client sends.
    group = await check_group(ctx.deps.auth.rules, ctx.app, inbound)
    topic_conv = await topic_conversation(ctx, group, body)
    if topic_conv:
        inbound.conversation = topic_conv
    if need_receipt:
        count = await ctx.deps.stores.groups.count_members(ctx.app.sdkappid, group_id)
        refusal = receipt_refusal(ctx.app.settings, group, count)
        if refusal is not None:
            raise refusal
        inbound.need_read_receipt = True
    seq, time_ms = await _publish(ctx, inbound)
    if need_receipt:
        await ctx.deps.receipts.track(ctx.app.sdkappid, group_id, seq, sender)
    return {"MsgTime": time_ms // 1000, "MsgSeq": seq}


async def import_group_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    """Silent imports (stored, neither delivered nor counted unread) with their own SendTime.
    Each message gets its own Result: 0, 10004 for a SendTime out of order or 80002 for a body
    over the limit (see import_checks)."""
    group = await _group(ctx, body)
    if group.group_type == AVCHATROOM:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "AVChatRoom groups keep no history")
    # RecentContactFlag asks Tencent to update conversation lists; group conversations are not
    # in the conversation index, so it is only checked.
    fields.integer(body, "RecentContactFlag", code=BAD, within=FLAG, required=False)
    items = parse_import_list(fields.raw(body, "MsgList"), ctx.deps.settings.max_body_bytes)
    auth = ctx.deps.auth
    missing = await auth.missing_accounts(
        ctx.app.sdkappid,
        [s for s in dict.fromkeys(i.sender for i in items) if not auth.is_admin(ctx.app, s)],
    )
    if missing:
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND, f"accounts not imported: {', '.join(missing)}"
        )
    checks = import_checks(items, int(time.time()), group.create_time, group.last_msg_time)
    inbound: list[InboundMessage] = []
    for item, check in zip(items, checks, strict=True):
        if check != ErrorCode.OK:
            continue
        m = group_inbound(ctx, group.group_id, item.sender)
        m.msg_random = item.random
        m.client_msg_id = item.client_msg_id
        m.elements.extend(item.elements)
        m.client_time_ms = item.send_time * 1000
        m.silent = True
        inbound.append(m)
    outcomes = iter(await publish_in_order(ctx, inbound))
    results: list[dict[str, int]] = []
    for item, check in zip(items, checks, strict=True):
        result = {"MsgSeq": 0, "MsgTime": item.send_time, "Result": int(check)}
        if check == ErrorCode.OK:
            outcome = next(outcomes)
            result["Result"] = outcome.error_code
            if not outcome.error_code:
                result["MsgSeq"] = outcome.seq
                result["MsgTime"] = outcome.server_time_ms // 1000
        results.append(result)
    return {"ImportMsgResult": results}


async def send_group_system_notification(ctx: RestContext, body: dict[str, Any]) -> Reply:
    """Live only: the (listed) members' online devices get it; nothing is stored, no seq."""
    group = await _group(ctx, body)
    targets = notification_targets(fields.raw(body, "ToMembers_Account"), group.group_type)
    content = fields.text(body, "Content", code=BAD)
    limit = ctx.deps.settings.max_body_bytes
    if len(content.encode()) > limit:
        raise TidingsError(ErrorCode.BODY_TOO_LARGE, f"Content is over {limit} bytes")
    # TopicId names a Community topic; topics are not modelled, so the group is notified.
    inbound = group_inbound(ctx, group.group_id, ctx.identifier)
    inbound.kind = MESSAGE_KIND_SYSTEM_NOTIFICATION
    inbound.to_members.extend(targets)
    # Tencent clients get the Content as custom data (onReceiveRESTCustomData).
    inbound.elements.append(
        MsgElement(msg_type="TIMCustomElem", content_json=orjson.dumps({"Data": content}))
    )
    await _publish(ctx, inbound)
    return {}


# IsFinished values (Tencent).
FINISHED = 1
CUT = 0
CUT_ALL_EXPIRED = 2
# IsPlaceMsg values (Tencent).
WHOLE = 0
HOLE = 1
RECALLED = 2
# Tencent's MsgPriority 1 (High); priorities are not stored.
MSG_PRIORITY = 1


def history_page(top: int, count: int) -> tuple[list[int], bool]:
    """The seqs one reply holds, newest first, and whether they are the whole requested range:
    `count` seqs down from `top`, none below 1, at most MAX_GET of them."""
    wanted = min(count, top)
    shown = min(wanted, MAX_GET)
    return list(range(top, top - shown, -1)), shown == wanted


def is_finished(whole_range: bool, page: Sequence[Message | None]) -> int:
    """Tencent's IsFinished; a message missing from the archive has expired."""
    if whole_range:
        return FINISHED
    return CUT_ALL_EXPIRED if all(m is None for m in page) else CUT


def rsp_item(seq: int, m: Message | None, with_recalled: bool) -> dict[str, Any]:
    """One RspMsgList item; a placeholder has every field a message has."""
    if m is None:
        return _item("", HOLE, [], 0, seq, 0)
    time_s = m.server_time_ms // 1000
    if m.deleted or (m.recalled and not with_recalled):
        return _item(m.sender, HOLE, [], m.msg_random, seq, time_s)
    place = RECALLED if m.recalled else WHOLE
    item = _item(m.sender, place, msg_body_json(m.elements), m.msg_random, seq, time_s)
    if m.cloud_custom_data:
        item["CloudCustomData"] = m.cloud_custom_data
    return item


def _item(
    sender: str, place: int, body: list[dict[str, Any]], random: int, seq: int, time_s: int
) -> dict[str, Any]:
    # Tencent's example reply's order.
    return {
        "From_Account": sender,
        "IsPlaceMsg": place,
        "MsgBody": body,
        "MsgPriority": MSG_PRIORITY,
        "MsgRandom": random,
        "MsgSeq": seq,
        "MsgTimeStamp": time_s,
    }


async def group_msg_get_simple(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    if group.group_type == AVCHATROOM:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "AVChatRoom groups keep no history")
    count = fields.integer(body, "ReqMsgNumber", code=BAD, within=REQ_MSG_NUMBER)
    top = fields.integer(body, "ReqMsgSeq", code=BAD, within=STORED_U64, required=False)
    with_recalled = fields.integer(body, "WithRecalledMsg", code=BAD, within=FLAG, required=False)
    conv = await topic_conversation(ctx, group, body) or conversation.group(group.group_id)
    head = await _message_count(ctx, conv)
    seqs, whole_range = history_page(min(top, head) if top else head, count)
    got: history_pb2.GetReply = await ctx.deps.history.Get(
        history_pb2.GetRequest(sdkappid=ctx.app.sdkappid, conversation=conv, seqs=seqs),
        timeout=10.0,
    )
    by_seq = {m.seq: m for m in got.messages}
    page = [by_seq.get(s) for s in seqs]
    return {
        "GroupId": group.group_id,
        "IsFinished": is_finished(whole_range, page),
        "RspMsgList": [rsp_item(s, m, with_recalled == 1) for s, m in zip(seqs, page, strict=True)],
    }


async def group_msg_recall(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    items = fields.raw(body, "MsgSeqList")
    if not isinstance(items, list) or not items:
        raise TidingsError(BAD, "MsgSeqList must be a non-empty array of {MsgSeq}")
    if len(items) > MAX_RECALL:
        raise TidingsError(BAD, f"at most {MAX_RECALL} MsgSeq a request")
    seqs = [
        fields.integer(i, "MsgSeq", code=BAD, within=MSG_SEQ) if isinstance(i, dict) else -1
        for i in items
    ]
    if -1 in seqs:
        raise TidingsError(BAD, 'each MsgSeqList item must be {"MsgSeq": n}')
    conv = await topic_conversation(ctx, group, body) or conversation.group(group.group_id)
    by_seq = {m.seq: m for m in await ctx.deps.archive.get(ctx.app.sdkappid, conv, seqs)}
    results: list[dict[str, int]] = []
    for seq in seqs:
        try:
            await recall(ctx.deps.publisher, by_seq.get(seq), True, rest_origin(ctx.client_ip))
            code = ErrorCode.OK
        except TidingsError as refused:
            # Each message's own RetCode; anything else fails the request.
            if refused.code not in (*GONE, *ALREADY_RECALLED):
                raise
            code = ErrorCode(refused.code)
        results.append({"MsgSeq": seq, "RetCode": int(code)})
    return {"RecallRetList": results}


async def delete_group_msg_by_sender(ctx: RestContext, body: dict[str, Any]) -> Reply:
    """Tencent's reaches the sender's messages among the group's latest 1,000, silently: the
    archive flags them deleted, and clients see it when they next sync."""
    group = await _group(ctx, body)
    sender = fields.text(body, "Sender_Account", code=BAD)
    if group.group_type == AVCHATROOM:
        # An AVChatRoom keeps no history: nothing to delete, and Tencent answers OK.
        return {}
    inbound = group_inbound(ctx, group.group_id, sender)
    inbound.kind = MESSAGE_KIND_DELETE_BY_SENDER
    await _publish(ctx, inbound)
    return {}


async def set_unread_msg_num(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _group(ctx, body)
    user = fields.text(body, "Member_Account", code=BAD)
    requested = fields.integer(body, "UnreadMsgNum", code=BAD, within=UINT32)
    if not keeps_unread_counts(group.group_type):
        return {}
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.groups
    if not await store.get_members(sdkappid, group.group_id, [user]):
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
            f"{user!r} is not a member of group {group.group_id!r}",
        )
    # Tencent lowers a count above the group's message count to that count.
    count = min(requested, await _message_count(ctx, conversation.group(group.group_id)))
    await store.set_unread_msg_num(sdkappid, group.group_id, user, count)
    return {}


COMMANDS: dict[str, Handler] = {
    "send_group_msg": tracing.rest_traced(send_group_msg, tracing.rest_group_send, group_type=True),
    "import_group_msg": import_group_msg,
    "send_group_system_notification": send_group_system_notification,
    "group_msg_get_simple": group_msg_get_simple,
    "group_msg_recall": tracing.rest_traced(group_msg_recall, tracing.rest_group_recall),
    "delete_group_msg_by_sender": delete_group_msg_by_sender,
    "set_unread_msg_num": set_unread_msg_num,
}
