"""Easemob-style pre-send rules, after the Tencent-style before-send callback.

When the Tencent callback lets a message through (or the app has none), the app's enabled
pre-send rules whose chat and message types match are called one after the other, in the order
they were created: a rule sees the body as the rules before it left it, and the first that
blocks ends the walk. Each call waits at most the rule's timeout, and never past the caller's
deadline: a rule the deadline leaves no time for counts as timed out.

The answer is `{valid, code, payload}`:
- valid false blocks the message. With report_error the sender gets Tencent's before-send
  refusal, 20006 (C2C) or 10016 (group), with the rule's name and code in the error text;
  without it the message is dropped silently (the sender sees success), as Easemob's
  "不报错" does.
- valid true lets it through; payload.bodies replaces the body and payload.ext the
  CloudCustomData (rules_body.py has the mapping).
- No answer in time, an HTTP error or an answer without a boolean `valid` follows the rule's
  on_failure: pass goes on to the next rule, block refuses the message with 4503 (or drops it
  without report_error).

Messages sent through REST skip the rules, as Easemob's pre-send callbacks cover client sends
only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from services.callback.before import BeforeSender
from services.callback.poster import CallbackFailure
from services.callback.rules_body import (
    appkey,
    chat_type,
    cloud_custom_data_of,
    msg_types,
    pre_send_body,
    signed,
    tim_elements,
)
from services.common.callback_rules import PreSendRule, rules_of
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.metrics import CALLBACK_REQUESTS
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
    MsgElement,
)
from services.common.store.ports import App

log = get_logger(__name__)

# The metric's command label for every pre-send rule call.
PRE_SEND_LABEL = "Easemob.PreSend"
_REJECTED: dict[int, ErrorCode] = {
    CHAT_TYPE_C2C: ErrorCode.MSG_CALLBACK_REJECTED,
    CHAT_TYPE_GROUP: ErrorCode.GROUP_CALLBACK_REJECTED,
}


class InvalidRuleReply(ValueError):
    """The rule's server answered, but not with `{valid, code, payload}`."""


@dataclass(frozen=True, slots=True)
class RuleReply:
    valid: bool
    code: str
    payload: dict[str, Any] | None


def parse_rule_reply(content: bytes) -> RuleReply:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise InvalidRuleReply("the answer is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("valid"), bool):
        raise InvalidRuleReply("the answer has no boolean `valid`")
    code = doc.get("code")
    payload = doc.get("payload")
    return RuleReply(
        valid=bool(doc["valid"]),
        code=code if isinstance(code, str) else "" if code is None else str(code),
        payload=payload if isinstance(payload, dict) else None,
    )


def blocked(rule: PreSendRule, chat: int, code: str) -> BeforeSendReply:
    """The rule's server said valid=false."""
    if not rule.report_error:
        return BeforeSendReply(verdict=VERDICT_DROP)
    rejected = _REJECTED[chat]
    info = f"{rejected.default_info}: pre-send rule {rule.name!r}" + (
        f" answered code {code}" if code else ""
    )
    return BeforeSendReply(verdict=VERDICT_REJECT, error_code=int(rejected), error_info=info)


def failed(rule: PreSendRule, reason: str) -> BeforeSendReply | None:
    """The call failed: None lets the message go on (pass), else how it is refused."""
    if rule.on_failure == "pass":
        return None
    if not rule.report_error:
        return BeforeSendReply(verdict=VERDICT_DROP)
    return BeforeSendReply(
        verdict=VERDICT_REJECT,
        error_code=int(ErrorCode.CALLBACK_UNAVAILABLE),
        error_info=f"pre-send rule {rule.name!r} failed ({reason}) and blocks sends then; "
        "retry later",
    )


@dataclass(slots=True)
class Draft:
    """The message as the rules have left it so far."""

    elements: list[MsgElement]
    cloud_custom_data: str
    replaced_elements: bool = False
    replaced_cloud_custom_data: bool = False

    def apply(self, payload: dict[str, Any] | None, max_bytes: int) -> None:
        """A valid=true answer's payload: bodies and ext replace the message's own."""
        if not payload:
            return
        bodies = payload.get("bodies")
        if bodies not in (None, []):
            elements = tim_elements(bodies, self.elements, max_bytes)
            if elements != self.elements:
                self.elements = elements
                self.replaced_elements = True
        ext = payload.get("ext")
        if isinstance(ext, dict):
            cloud = cloud_custom_data_of(ext, self.cloud_custom_data)
            if cloud != self.cloud_custom_data:
                self.cloud_custom_data = cloud
                self.replaced_cloud_custom_data = True

    def reply(self) -> BeforeSendReply:
        out = BeforeSendReply(verdict=VERDICT_ALLOW)
        if self.replaced_elements:
            out.elements.extend(self.elements)
            out.replaced_elements = True
        if self.replaced_cloud_custom_data:
            out.cloud_custom_data = self.cloud_custom_data
            out.replaced_cloud_custom_data = True
        return out


def _rules_apply(msg: InboundMessage) -> bool:
    return (
        msg.kind in (MESSAGE_KIND_UNSPECIFIED, MESSAGE_KIND_MESSAGE)
        and not msg.silent
        and msg.source != SOURCE_REST
        and msg.chat_type in _REJECTED
    )


class RulesBeforeSender(BeforeSender):
    """BeforeSender with the app's pre-send rules after the Tencent callback."""

    async def before_send(self, msg: InboundMessage, deadline_s: float | None) -> BeforeSendReply:
        started = time.monotonic()
        reply = await super().before_send(msg, deadline_s)
        if reply.verdict != VERDICT_ALLOW or not _rules_apply(msg):
            return reply
        app = await self._apps.get(msg.sdkappid)
        rules = [r for r in rules_of(app).pre_send if r.enabled] if app else []
        if app is None or not rules:
            return reply
        group_type = (
            await self._groups.type_of(msg.sdkappid, msg.group_id)
            if msg.chat_type == CHAT_TYPE_GROUP
            else ""
        )
        chat = chat_type(msg.chat_type, group_type)
        draft = Draft(
            list(reply.elements) if reply.replaced_elements else list(msg.elements),
            reply.cloud_custom_data if reply.replaced_cloud_custom_data else msg.cloud_custom_data,
            reply.replaced_elements,
            reply.replaced_cloud_custom_data,
        )
        for rule in rules:
            if not rule.applies(chat, msg_types(draft.elements)):
                continue
            left = None if deadline_s is None else deadline_s - (time.monotonic() - started)
            refusal = await self._call(app, rule, msg, chat, draft, left)
            if refusal is not None:
                return refusal
        return draft.reply()

    async def _call(
        self,
        app: App,
        rule: PreSendRule,
        msg: InboundMessage,
        chat: str,
        draft: Draft,
        left_s: float | None,
    ) -> BeforeSendReply | None:
        """One rule: None lets the message go on (perhaps rewritten in `draft`)."""
        key = appkey(app)
        body = pre_send_body(
            call_id=f"{key}_{uuid.uuid4()}",
            app_key=key,
            chat=chat,
            sender=msg.sender,
            to=msg.to_user or msg.group_id,
            group_id=msg.group_id,
            elements=draft.elements,
            cloud_custom_data=draft.cloud_custom_data,
            timestamp=int(time.time() * 1000),
        )
        timeout = rule.timeout_s if left_s is None else min(rule.timeout_s, left_s)
        try:
            if timeout <= 0:
                raise CallbackFailure("timeout", "the caller's deadline left no time")
            content = await self._poster.post_plain(
                rule.url, signed(body, rule.secret), PRE_SEND_LABEL, timeout, sdkappid=msg.sdkappid
            )
            answer = parse_rule_reply(content)
            if not answer.valid:
                outcome, result = "rejected", blocked(rule, msg.chat_type, answer.code)
            else:
                draft.apply(answer.payload, self._max_body_bytes)
                outcome, result = "allowed", None
        except (CallbackFailure, ValueError) as err:
            outcome = err.outcome if isinstance(err, CallbackFailure) else "failed"
            log.warning(
                "pre-send rule failed",
                app=msg.sdkappid,
                rule=rule.name,
                outcome=outcome,
                on_failure=rule.on_failure,
                error=str(err),
            )
            result = failed(rule, str(err))
        if result is not None and result.verdict == VERDICT_DROP:
            outcome = "dropped"
        CALLBACK_REQUESTS.labels(str(msg.sdkappid), PRE_SEND_LABEL, outcome).inc()
        return result
