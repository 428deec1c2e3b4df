"""Before-send callbacks: C2C.CallbackBeforeSendMsg and Group.CallbackBeforeSendMsg.

The body is Tencent's, built from the InboundMessage; the app server's answer decides:
ErrorCode 0 lets the message through (a MsgBody or CloudCustomData in the answer replaces the
message's), 1 refuses it (the sender gets 20006 for C2C, 10016 for a group), 2 drops it
silently (the sender sees success). An app server may also refuse with its own code in
Tencent's pass-through range, which reaches the sender as-is. No answer in time, an HTTP error
or an answer that is not one of these follows the app's policy: fail-open lets the message
through, fail-closed refuses it with 4503.

The router calls this before it assigns the seq, so that a refused or dropped message leaves
no gap in the conversation: the C2C body's MsgSeq is 0 and its MsgKey empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from services.callback.groups import GroupTypes
from services.callback.poster import CallbackFailure, Poster, Request
from services.common.app_cache import AppCache
from services.common.callback_config import (
    C2C_BEFORE_SEND,
    GROUP_BEFORE_SEND,
    FailPolicy,
    config_of,
)
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.metrics import CALLBACK_REQUESTS
from services.common.msgbody import msg_body_json, parse_msg_body
from services.common.pb.tidings.v1.callback_pb2 import (
    VERDICT_ALLOW,
    VERDICT_DROP,
    VERDICT_REJECT,
    BeforeSendReply,
)
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_UNSPECIFIED,
    SOURCE_REST,
    InboundMessage,
)

log = get_logger(__name__)

ALLOW = BeforeSendReply(verdict=VERDICT_ALLOW)

# Codes an app server may answer to refuse a send with its own code and text, which the sender
# then gets as-is (Tencent's ranges for C2C and group before-send callbacks).
_PASS_THROUGH: dict[int, range] = {
    CHAT_TYPE_C2C: range(120001, 130001),
    CHAT_TYPE_GROUP: range(10100, 10201),
}
_REJECTED: dict[int, ErrorCode] = {
    CHAT_TYPE_C2C: ErrorCode.MSG_CALLBACK_REJECTED,
    CHAT_TYPE_GROUP: ErrorCode.GROUP_CALLBACK_REJECTED,
}
_OUTCOMES = {VERDICT_ALLOW: "allowed", VERDICT_REJECT: "rejected", VERDICT_DROP: "dropped"}


class InvalidReply(ValueError):
    """The app server answered, but not with a before-send reply Tidings can apply."""


@dataclass(frozen=True, slots=True)
class AppReply:
    error_code: int
    error_info: str
    # Replacements; None (or empty) keeps the message's own.
    msg_body: Any
    cloud_custom_data: str | None


def before_command(msg: InboundMessage) -> str | None:
    """The callback a message triggers: new messages only, and not imported ones (Tencent's
    import API triggers no callbacks; imports carry their own time or are silent) or those sent
    with ForbidBeforeSendMsgCallback."""
    if (
        msg.kind not in (MESSAGE_KIND_UNSPECIFIED, MESSAGE_KIND_MESSAGE)
        or msg.silent
        or msg.client_time_ms
        or msg.forbid_before_callback
    ):
        return None
    if msg.chat_type == CHAT_TYPE_C2C:
        return C2C_BEFORE_SEND
    if msg.chat_type == CHAT_TYPE_GROUP:
        return GROUP_BEFORE_SEND
    return None


def before_body(msg: InboundMessage, command: str, group_type: str, now_ms: int) -> dict[str, Any]:
    msg_time_ms = msg.client_time_ms or msg.received_at_ms or now_ms
    body = msg_body_json(msg.elements)
    if command == C2C_BEFORE_SEND:
        return {
            "CallbackCommand": command,
            "From_Account": msg.sender,
            "To_Account": msg.to_user,
            "MsgSeq": 0,
            "MsgRandom": msg.msg_random,
            "MsgTime": msg_time_ms // 1000,
            "MsgKey": "",
            "OnlineOnlyFlag": 0,
            "MsgBody": body,
            "CloudCustomData": msg.cloud_custom_data,
            "EventTime": now_ms,
        }
    return {
        "CallbackCommand": command,
        "GroupId": msg.group_id,
        "Type": group_type,
        "From_Account": msg.sender,
        # Tidings does not keep which admin made a REST request, so the sender stands in.
        "Operator_Account": msg.sender,
        "Random": msg.msg_random,
        "OnlineOnlyFlag": 0,
        "MsgBody": body,
        "CloudCustomData": msg.cloud_custom_data,
        "EventTime": now_ms,
    }


def parse_reply(content: bytes) -> AppReply:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise InvalidReply("the answer is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidReply("the answer is not a JSON object")
    code = doc.get("ErrorCode")
    if isinstance(code, bool) or not isinstance(code, int):
        raise InvalidReply("the answer has no integer ErrorCode")
    info = doc.get("ErrorInfo", "")
    cloud = doc.get("CloudCustomData")
    if cloud is not None and not isinstance(cloud, str):
        raise InvalidReply("CloudCustomData in the answer is not a string")
    return AppReply(code, info if isinstance(info, str) else "", doc.get("MsgBody"), cloud)


def decide(reply: AppReply, chat_type: int, max_body_bytes: int) -> BeforeSendReply:
    """What the app server's answer means for the message."""
    code = reply.error_code
    if code == 0:
        out = BeforeSendReply(verdict=VERDICT_ALLOW)
        # An empty MsgBody or CloudCustomData keeps the message's own: app servers that always
        # serialise every field of their reply would otherwise wipe them.
        if reply.msg_body not in (None, []):
            try:
                elements = parse_msg_body(
                    reply.msg_body,
                    max_body_bytes,
                    ErrorCode.OPENIM_BODY_TOO_LARGE,
                    ErrorCode.OPENIM_MSG_BODY,
                )
            except TidingsError as err:
                raise InvalidReply(f"MsgBody in the answer: {err.info}") from None
            out.elements.extend(elements)
            out.replaced_elements = True
        if reply.cloud_custom_data:
            out.cloud_custom_data = reply.cloud_custom_data
            out.replaced_cloud_custom_data = True
        return out
    if code == 1:
        rejected = _REJECTED[chat_type]
        return BeforeSendReply(
            verdict=VERDICT_REJECT,
            error_code=int(rejected),
            error_info=reply.error_info or rejected.default_info,
        )
    if code == 2:
        return BeforeSendReply(verdict=VERDICT_DROP)
    if code in _PASS_THROUGH[chat_type]:
        return BeforeSendReply(verdict=VERDICT_REJECT, error_code=code, error_info=reply.error_info)
    raise InvalidReply(f"ErrorCode {code} is not 0 (allow), 1 (reject) or 2 (drop)")


def on_failure(policy: FailPolicy, reason: str) -> BeforeSendReply:
    if policy == "open":
        return ALLOW
    return BeforeSendReply(
        verdict=VERDICT_REJECT,
        error_code=int(ErrorCode.CALLBACK_UNAVAILABLE),
        error_info=f"the app's before-send callback failed ({reason}) and the app refuses "
        "sends then (fail-closed); retry later",
    )


class BeforeSender:
    def __init__(
        self, apps: AppCache, groups: GroupTypes, poster: Poster, max_body_bytes: int
    ) -> None:
        self._apps = apps
        self._groups = groups
        self._poster = poster
        self._max_body_bytes = max_body_bytes

    async def before_send(self, msg: InboundMessage, deadline_s: float | None) -> BeforeSendReply:
        """`deadline_s`: what is left of the caller's own deadline, if it set one."""
        command = before_command(msg)
        if command is None:
            return ALLOW
        app = await self._apps.get(msg.sdkappid)
        config = config_of(app) if app else None
        if config is None or not config.enabled(command):
            return ALLOW
        group_type = (
            await self._groups.type_of(msg.sdkappid, msg.group_id)
            if msg.chat_type == CHAT_TYPE_GROUP
            else ""
        )
        req = Request(
            sdkappid=msg.sdkappid,
            command=command,
            body=before_body(msg, command, group_type, int(time.time() * 1000)),
            client_ip=msg.client_ip,
            platform="RESTAPI" if msg.source == SOURCE_REST else msg.platform,
        )
        timeout = config.timeout_s if deadline_s is None else min(config.timeout_s, deadline_s)
        try:
            content = await self._poster.post(config, req, timeout)
            reply = decide(parse_reply(content), msg.chat_type, self._max_body_bytes)
            outcome = _OUTCOMES[reply.verdict]
        except (CallbackFailure, InvalidReply) as err:
            outcome = err.outcome if isinstance(err, CallbackFailure) else "failed"
            policy = config.fail_policy_for(command)
            log.warning(
                "before-send callback failed",
                app=msg.sdkappid,
                command=command,
                outcome=outcome,
                policy=policy,
                error=str(err),
            )
            reply = on_failure(policy, str(err))
        CALLBACK_REQUESTS.labels(str(msg.sdkappid), command, outcome).inc()
        return reply
