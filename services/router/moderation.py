"""What ingest decides for a new message before it gets a seq: the sensitive-word filter, then
the app's before-send callback. Pure: no I/O (the I/O is in moderator.py).

Only new messages are moderated, as in Tencent: not recalls, modifies, system notifications or
deletes, and not imported messages (import_msg / import_group_msg trigger no callbacks). Messages
sent over REST are moderated too: Tencent's before-send callbacks fire for the sendmsg and
send_group_msg REST APIs, and Tidings applies the word lists to the same set of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from services.common.callback_config import C2C_BEFORE_SEND, GROUP_BEFORE_SEND, FailPolicy
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.callback_pb2 import (
    VERDICT_DROP,
    VERDICT_REJECT,
    BeforeSendReply,
)
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_UNSPECIFIED,
    InboundMessage,
    MsgElement,
)
from services.common.word_settings import ListAction, WordActions
from services.router.words import Action, WordFilter, WordList

# The user-visible text of each element type that the word lists apply to: the text itself, a
# location's description, and a custom element's Desc (shown in offline pushes and
# conversation summaries). Data/Ext of custom elements are the app's own payload, left alone.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "TIMTextElem": ("Text",),
    "TIMLocationElem": ("Desc",),
    "TIMCustomElem": ("Desc",),
}


class Ruling(Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Decision:
    ruling: Ruling
    # The message as it goes on: masked or rewritten by the app server when accepted.
    message: InboundMessage
    error_code: int = 0
    error_info: str = ""


def accept(msg: InboundMessage) -> Decision:
    return Decision(Ruling.ACCEPT, msg)


def reject(msg: InboundMessage, code: int, info: str) -> Decision:
    return Decision(Ruling.REJECT, msg, code, info)


def needs_moderation(msg: InboundMessage) -> bool:
    return (
        msg.kind in (MESSAGE_KIND_UNSPECIFIED, MESSAGE_KIND_MESSAGE)
        and not msg.silent
        and not msg.client_time_ms
    )


def before_command(msg: InboundMessage) -> str | None:
    if msg.chat_type == CHAT_TYPE_C2C:
        return C2C_BEFORE_SEND
    if msg.chat_type == CHAT_TYPE_GROUP:
        return GROUP_BEFORE_SEND
    return None


def select_lists(
    actions: WordActions,
    builtin: Callable[[Action], WordList],
    custom: Callable[[Action], WordList],
) -> list[WordList]:
    """The app's lists with their actions; a list that is off is not compiled at all."""

    def pick(action: ListAction, make: Callable[[Action], WordList]) -> list[WordList]:
        return [] if action == "off" else [make(Action(action))]

    return [*pick(actions.builtin, builtin), *pick(actions.custom, custom)]


def _with_elements(msg: InboundMessage, elements: Iterable[MsgElement]) -> InboundMessage:
    out = InboundMessage()
    out.CopyFrom(msg)
    del out.elements[:]
    out.elements.extend(elements)
    return out


def _content(element: MsgElement) -> dict[str, Any] | None:
    try:
        content = orjson.loads(element.content_json)
    except orjson.JSONDecodeError:
        return None
    return content if isinstance(content, dict) else None


def screen(msg: InboundMessage, words: WordFilter) -> Decision:
    """Mask or block the message's text. A block anywhere refuses the whole message (80001)."""
    out: list[MsgElement] = []
    masked = False
    for element in msg.elements:
        fields = TEXT_FIELDS.get(element.msg_type)
        content = _content(element) if fields else None
        if not fields or content is None:
            out.append(element)
            continue
        changed = False
        for name in fields:
            text = content.get(name)
            if not isinstance(text, str) or not text:
                continue
            verdict = words.check(text)
            if verdict.blocked:
                return reject(msg, int(ErrorCode.DIRTY_WORDS), ErrorCode.DIRTY_WORDS.default_info)
            if verdict.text != text:
                content[name] = verdict.text
                changed = True
        if changed:
            masked = True
            out.append(MsgElement(msg_type=element.msg_type, content_json=orjson.dumps(content)))
        else:
            out.append(element)
    return accept(_with_elements(msg, out) if masked else msg)


def apply_reply(msg: InboundMessage, reply: BeforeSendReply) -> Decision:
    """The callback service's verdict on the message."""
    if reply.verdict == VERDICT_REJECT:
        return reject(msg, reply.error_code, reply.error_info)
    if reply.verdict == VERDICT_DROP:
        return Decision(Ruling.DROP, msg)
    if not (reply.replaced_elements or reply.replaced_cloud_custom_data):
        return accept(msg)
    out = _with_elements(msg, reply.elements) if reply.replaced_elements else _copy(msg)
    if reply.replaced_cloud_custom_data:
        out.cloud_custom_data = reply.cloud_custom_data
    return accept(out)


def _copy(msg: InboundMessage) -> InboundMessage:
    out = InboundMessage()
    out.CopyFrom(msg)
    return out


def on_unreachable(msg: InboundMessage, policy: FailPolicy, reason: str) -> Decision:
    """The callback service itself did not answer in time: the app's fail policy decides, as
    when its app server does not answer."""
    if policy == "open":
        return accept(msg)
    return reject(
        msg,
        int(ErrorCode.CALLBACK_UNAVAILABLE),
        f"the before-send callback could not be made ({reason}) and the app refuses sends "
        "then (fail-closed); retry later",
    )
