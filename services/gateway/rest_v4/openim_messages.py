"""openim message management: batchsendmsg, importmsg, recall, modify, read marks, unread.

Every write goes through the same pipeline as a client's send (im.inbound, router, im.messages),
so the archive, fan-out and conversation lists see it in conversation order.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from services.common import conversation, events
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import parse_offline_push
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_MODIFY,
    SOURCE_REST,
    InboundMessage,
    Message,
    MsgElement,
)
from services.common.store.conversations import ConversationState
from services.common.unread import c2c_unread
from services.gateway import tracing
from services.gateway.bounds import UINT32, UINT32_MAX, IntRange
from services.gateway.events import emit_rest
from services.gateway.handlers.recall import recall, rest_origin
from services.gateway.handlers.send import publish
from services.gateway.msgbody import content_crc, parse_msg_body
from services.gateway.msgkeys import find_by_msg_key, parse_msg_key
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.openim import SendOptions, send_options

BAD = ErrorCode.OPENIM_JSON_FIELDS
MAX_BATCH = 500
# Unix seconds of an imported message: Tencent's 32-bit unsigned, and not 0.
MSG_TIMESTAMP = IntRange(1, UINT32_MAX)
MAX_UNREAD_PEERS = 10
IMPORT_HISTORY = 2
IMPORT_REALTIME = 5
# Tencent's earlier value for a realtime import (counted unread), which older SDKs still send.
IMPORT_REALTIME_OLD = 1
# An import or an edit: not synced to the sender's other devices, no receipt asked.
PLAIN = SendOptions(sync_other_machine=2, need_read_receipt=False)


def _rest_inbound(
    ctx: RestContext,
    sender: str,
    to: str,
    elements: list[MsgElement],
    client_msg_id: str,
    msg_random: int,
    cloud_custom_data: str = "",
    options: SendOptions = PLAIN,
    offline_push_json: str = "",
) -> InboundMessage:
    inbound = InboundMessage(
        schema_version=1,
        sdkappid=ctx.app.sdkappid,
        conversation=conversation.c2c(sender, to),
        chat_type=CHAT_TYPE_C2C,
        sender=sender,
        to_user=to,
        client_msg_id=client_msg_id,
        msg_random=msg_random,
        elements=elements,
        cloud_custom_data=cloud_custom_data,
        source=SOURCE_REST,
        received_at_ms=int(time.time() * 1000),
        sync_other_machine=options.sync_other_machine,
        client_ip=ctx.client_ip,
        platform="RESTAPI",
        offline_push_json=offline_push_json,
        need_read_receipt=options.need_read_receipt,
    )
    return options.controls.apply(inbound)


async def _require_accounts(ctx: RestContext, sender: str, to: str) -> None:
    auth = ctx.deps.auth
    missing = await auth.missing_accounts(
        ctx.app.sdkappid, [u for u in (sender, to) if not auth.is_admin(ctx.app, u)]
    )
    if sender in missing:
        raise TidingsError(ErrorCode.OPENIM_NO_FROM_ACCOUNT, f"From_Account {sender!r} not found")
    if to in missing:
        raise TidingsError(ErrorCode.OPENIM_NO_TO_ACCOUNT, f"To_Account {to!r} not found")


async def batchsendmsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    options = send_options(body)
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    targets = fields.raw(body, "To_Account")
    if not isinstance(targets, list) or not targets:
        raise TidingsError(ErrorCode.OPENIM_NO_TO_ACCOUNT, "To_Account must be a non-empty array")
    if not all(isinstance(t, str) and t for t in targets):
        raise TidingsError(ErrorCode.OPENIM_NO_TO_ACCOUNT, "To_Account must hold UserID strings")
    if len(targets) > MAX_BATCH:
        raise TidingsError(ErrorCode.OPENIM_BATCH_TOO_LARGE, f"at most {MAX_BATCH} To_Account")
    random = fields.integer(body, "MsgRandom", code=ErrorCode.OPENIM_NO_MSG_RANDOM, within=UINT32)
    msg_seq = fields.integer(body, "MsgSeq", code=BAD, within=UINT32, required=False)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    offline_push = parse_offline_push(fields.raw(body, "OfflinePushInfo"), BAD)
    elements = parse_msg_body(
        fields.raw(body, "MsgBody"),
        ctx.deps.settings.max_body_bytes,
        ErrorCode.OPENIM_BODY_TOO_LARGE,
        ErrorCode.OPENIM_MSG_BODY,
    )
    auth = ctx.deps.auth
    sdkappid = ctx.app.sdkappid
    if not auth.is_admin(ctx.app, sender) and await auth.missing_accounts(sdkappid, [sender]):
        raise TidingsError(ErrorCode.OPENIM_NO_FROM_ACCOUNT, f"From_Account {sender!r} not found")
    recipients = list(dict.fromkeys(targets))
    missing = set(await auth.missing_accounts(sdkappid, recipients))
    client_msg_id = f"rest:{msg_seq}:{random}:{content_crc(elements)}"
    valid = [t for t in recipients if t not in missing]
    outcomes = await asyncio.gather(
        *(
            ctx.deps.publisher.publish(
                _rest_inbound(
                    ctx, sender, t, elements, client_msg_id, random, cloud, options, offline_push
                )
            )
            for t in valid
        )
    )
    errors = [
        {"To_Account": t, "ErrorCode": int(ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN)}
        for t in recipients
        if t in missing
    ]
    errors += [
        {"To_Account": t, "ErrorCode": o.error_code}
        for t, o in zip(valid, outcomes, strict=True)
        if o.error_code
    ]
    delivered = [o for o in outcomes if not o.error_code]
    if not delivered:
        raise TidingsError(
            ErrorCode(errors[0]["ErrorCode"]) if errors else ErrorCode.OPENIM_SERVICE_INTERNAL,
            "no recipient could be sent to",
        )
    reply: Reply = {"MsgKey": delivered[0].msg_key, "MsgTime": delivered[0].server_time_ms // 1000}
    if errors:
        reply["ErrorList"] = errors
    return reply


async def importmsg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    mode = fields.integer(
        body,
        "SyncFromOldSystem",
        code=BAD,
        within=UINT32,
        type_code=ErrorCode.OPENIM_SYNC_FROM_OLD_SYSTEM,
    )
    if mode not in (IMPORT_HISTORY, IMPORT_REALTIME, IMPORT_REALTIME_OLD):
        raise TidingsError(BAD, "SyncFromOldSystem must be 2 (history) or 5 (realtime), or 1")
    sender = fields.text(body, "From_Account", code=ErrorCode.OPENIM_NO_FROM_ACCOUNT)
    to = fields.text(body, "To_Account", code=ErrorCode.OPENIM_NO_TO_ACCOUNT)
    msg_seq = fields.integer(body, "MsgSeq", code=BAD, within=UINT32, required=False)
    random = fields.integer(body, "MsgRandom", code=ErrorCode.OPENIM_NO_MSG_RANDOM, within=UINT32)
    timestamp = fields.integer(body, "MsgTimeStamp", code=BAD, within=MSG_TIMESTAMP)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    elements = parse_msg_body(
        fields.raw(body, "MsgBody"),
        ctx.deps.settings.max_body_bytes,
        ErrorCode.OPENIM_BODY_TOO_LARGE,
        ErrorCode.OPENIM_MSG_BODY,
    )
    await _require_accounts(ctx, sender, to)
    # The same import twice is one message: the key holds everything Tencent dedupes on.
    client_msg_id = f"import:{msg_seq}:{random}:{timestamp}:{content_crc(elements)}"
    inbound = _rest_inbound(ctx, sender, to, elements, client_msg_id, random, cloud)
    inbound.client_time_ms = timestamp * 1000
    inbound.silent = mode == IMPORT_HISTORY
    await publish(ctx.deps.publisher, inbound)
    return {}


async def _target(ctx: RestContext, body: dict[str, Any]) -> tuple[str, str, Message]:
    """The message named by From_Account, To_Account and MsgKey, or Tencent's error."""
    sender = fields.text(body, "From_Account", code=ErrorCode.OPENIM_NO_FROM_ACCOUNT)
    to = fields.text(body, "To_Account", code=ErrorCode.OPENIM_NO_TO_ACCOUNT)
    key = parse_msg_key(
        fields.text(body, "MsgKey", code=ErrorCode.OPENIM_BAD_MSG_KEY), ErrorCode.OPENIM_BAD_MSG_KEY
    )
    conv = conversation.c2c(sender, to)
    found = await find_by_msg_key(ctx.deps.archive, ctx.app.sdkappid, conv, key)
    if found is None or found.sender != sender:
        raise TidingsError(ErrorCode.MSG_NOT_FOUND, "the message does not exist")
    if found.recalled:
        raise TidingsError(ErrorCode.MSG_ALREADY_RECALLED, "the message was already recalled")
    return sender, to, found


async def admin_msgwithdraw(ctx: RestContext, body: dict[str, Any]) -> Reply:
    _, _, found = await _target(ctx, body)
    await recall(ctx.deps.publisher, found, False, rest_origin(ctx.client_ip))
    return {}


async def publish_modify(
    ctx: RestContext, inbound: InboundMessage, body: dict[str, Any], found: Message
) -> None:
    """Publish `inbound` (addressed to `found`'s conversation) as the edit of `found` that
    `body` asks for: its MsgBody and CloudCustomData each replace the stored one, and at least
    one is given. Shared by modify_c2c_msg and modify_group_msg."""
    raw_body = fields.raw(body, "MsgBody")
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False, default="\0")
    if raw_body is None and cloud == "\0":
        raise TidingsError(BAD, "give MsgBody or CloudCustomData to modify")
    elements = (
        list(found.elements)
        if raw_body is None
        else parse_msg_body(
            raw_body,
            ctx.deps.settings.max_body_bytes,
            ErrorCode.OPENIM_BODY_TOO_LARGE,
            ErrorCode.OPENIM_MSG_BODY,
        )
    )
    inbound.elements.extend(elements)
    inbound.cloud_custom_data = found.cloud_custom_data if cloud == "\0" else cloud
    inbound.client_msg_id = f"modify:{found.seq}"
    inbound.msg_random = found.msg_random
    inbound.kind = MESSAGE_KIND_MODIFY
    inbound.target_seq = found.seq
    await publish(ctx.deps.publisher, inbound)


async def modify_c2c_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    sender, to, found = await _target(ctx, body)
    await publish_modify(ctx, _rest_inbound(ctx, sender, to, [], "", 0), body, found)
    return {}


async def _read_seq_at(ctx: RestContext, conv: str, read_time_s: int | None) -> int:
    """The seq a read mark covers: everything up to read_time_s, or everything so far."""
    if read_time_s is None:
        reply = await ctx.deps.history.MaxSeq(
            history_pb2.MaxSeqRequest(sdkappid=ctx.app.sdkappid, conversation=conv), timeout=10.0
        )
        return int(reply.seq)
    page = await ctx.deps.history.Roam(
        history_pb2.RoamRequest(
            sdkappid=ctx.app.sdkappid,
            conversation=conv,
            min_time_ms=0,
            max_time_ms=read_time_s * 1000 + 999,
            limit=1,
            newest_first=True,
        ),
        timeout=10.0,
    )
    return page.messages[0].seq if page.messages else 0


async def admin_set_msg_read(ctx: RestContext, body: dict[str, Any]) -> Reply:
    reporter = fields.text(body, "Report_Account", code=BAD)
    peer = fields.text(body, "Peer_Account", code=BAD)
    read_time = fields.optional_integer(body, "MsgReadTime", code=BAD, within=UINT32)
    await _require_accounts(ctx, reporter, peer)
    conv = conversation.c2c(reporter, peer)
    seq = await _read_seq_at(ctx, conv, read_time)
    await ctx.deps.stores.conversations.set_read(ctx.app.sdkappid, reporter, conv, seq)
    _, counts = await _c2c_unread(ctx, reporter)
    # The read mark lives in the conversation store, not on a topic: its event goes to
    # im.events for C2C.CallbackAfterMsgReport.
    await emit_rest(
        ctx,
        events.C2C_READ,
        reporter,
        {
            "Report_Account": reporter,
            "Peer_Account": peer,
            "LastReadTime": int(time.time()) if read_time is None else read_time,
            "UnreadMsgNum": sum(counts),
        },
    )
    return {}


async def _c2c_unread(ctx: RestContext, user: str) -> tuple[list[ConversationState], list[int]]:
    return await c2c_unread(
        ctx.deps.stores, ctx.deps.tails, ctx.deps.history, ctx.app.sdkappid, user
    )


async def get_c2c_unread_msg_num(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = fields.text(body, "To_Account", code=ErrorCode.OPENIM_NO_TO_ACCOUNT)
    peers_raw = fields.raw(body, "Peer_Account")
    if peers_raw is not None and (
        not isinstance(peers_raw, list) or not all(isinstance(p, str) for p in peers_raw)
    ):
        raise TidingsError(BAD, "Peer_Account must be an array of UserID strings")
    if peers_raw is not None and len(peers_raw) > MAX_UNREAD_PEERS:
        raise TidingsError(BAD, f"at most {MAX_UNREAD_PEERS} Peer_Account")
    sdkappid = ctx.app.sdkappid
    auth = ctx.deps.auth
    # App admins (the sender of an admin's sendmsg) are peers without being imported accounts.
    peers = [p for p in peers_raw or [] if not auth.is_admin(ctx.app, p)]
    missing = set(await auth.missing_accounts(sdkappid, [user, *peers]))
    if user in missing:
        raise TidingsError(ErrorCode.OPENIM_NO_TO_ACCOUNT, f"To_Account {user!r} not found")
    states, counts = await _c2c_unread(ctx, user)
    by_peer = {s.peer: n for s, n in zip(states, counts, strict=True)}
    reply: Reply = {"AllC2CUnreadMsgNum": sum(counts)}
    if peers_raw is not None:
        reply["C2CUnreadMsgNumList"] = [
            {"Peer_Account": p, "C2CUnreadMsgNum": by_peer.get(p, 0)}
            for p in peers_raw
            if p not in missing
        ]
        # Tencent's reply lists a Peer_Account that is no account here, with 70107.
        errors = [
            {"Peer_Account": p, "ErrorCode": int(ErrorCode.ACCOUNT_NOT_IMPORTED)}
            for p in peers_raw
            if p in missing
        ]
        if errors:
            reply["ErrorList"] = errors
    return reply


COMMANDS: dict[str, Handler] = {
    "batchsendmsg": tracing.rest_traced(batchsendmsg, tracing.rest_c2c_send),
    "importmsg": importmsg,
    # The SPEC's name for importmsg; Tencent's command word is importmsg.
    "import_msg": importmsg,
    "admin_msgwithdraw": tracing.rest_traced(admin_msgwithdraw, tracing.rest_c2c_recall),
    "modify_c2c_msg": modify_c2c_msg,
    "admin_set_msg_read": admin_set_msg_read,
    "get_c2c_unread_msg_num": get_c2c_unread_msg_num,
}
