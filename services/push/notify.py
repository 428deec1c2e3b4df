"""What one offline recipient of one message gets: whether a push goes out at all, and the
notification each of their devices is sent. Pure: no I/O; the delivery step loads what these
functions read and carries out what they decide.

Whether (in this order, the first that holds is the reason nothing is sent):
- `push_flag_off`: the sender's OfflinePushInfo.PushFlag is 1 (Tencent: no offline push);
- `disabled`: the user turned offline push off;
- `muted`: the user muted the conversation;
- `dnd`: now is in the user's do-not-disturb window, in their time zone;
- `no_device`: the user registered no device token.

What (Tencent's reference first, then Easemob's templates, then the plain default):
- the title: OfflinePushInfo.Title (ApnsInfo.Title on APNs), else the template's title, else
  the sender's nickname (or UserID) for a 1:1 message and the group's name (or GroupId) for a
  group message;
- the body: OfflinePushInfo.Desc, else the template's content, else the message's summary
  (its text, or "[Image]" and the like), prefixed with "nickname: " in a group;
- the app's payload: OfflinePushInfo.Ext as Tencent's `ext`, and the conversation to open;
- the per-vendor extras from OfflinePushInfo (sound, channel ids...).
A template that cannot be used (a bad em_push_template in the message, a name the app lacks)
falls back to the plain default; the error is returned for the log, and nothing crashes.

The collapse id is the message's MsgKey: every try of one message's push, including a try made
again after the push service crashed, carries the same id, so that a device shows it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from services.common.offline_push import OfflinePush
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_C2C, Message, MsgElement
from services.common.push_templates import (
    Sender,
    Template,
    TemplateError,
    chosen,
    render,
    template_args,
)
from services.common.store.push_devices import Device, PushSettings
from services.push.settings import in_dnd
from services.push.vendors.base import Notification

# Tencent's element types and what a push shows for those that are not text.
ELEMENT_SUMMARY = {
    "TIMImageElem": "[Image]",
    "TIMSoundElem": "[Voice]",
    "TIMVideoFileElem": "[Video]",
    "TIMFileElem": "[File]",
    "TIMLocationElem": "[Location]",
    "TIMFaceElem": "[Sticker]",
    "TIMCustomElem": "[Custom Message]",
}
MAX_SUMMARY_CHARS = 256
# The keys of the app payload that say which conversation to open.
DATA_CONVERSATION_TYPE = "conversation_type"
DATA_CONVERSATION_ID = "conversation_id"
DATA_EXT = "ext"


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the push service knows of one offline recipient when it decides."""

    user: str
    devices: Sequence[Device]
    settings: PushSettings
    muted: bool


@dataclass(frozen=True, slots=True)
class Names:
    """The names a notification shows: the sender's nickname and the group's name ("" when
    unset: the ids stand in)."""

    sender_nick: str = ""
    group_name: str = ""


def skip_reason(
    offline_push: OfflinePush,
    recipient: Recipient,
    now_utc: datetime,
    with_mute_notifications: bool = False,
) -> str | None:
    """Why nothing is pushed, or None. A message sent WithMuteNotifications (Tencent's
    SendMsgControl) is pushed to a recipient who muted its conversation too."""
    if offline_push.push_disabled:
        return "push_flag_off"
    if not recipient.settings.enabled:
        return "disabled"
    if recipient.muted and not with_mute_notifications:
        return "muted"
    if in_dnd(recipient.settings, now_utc):
        return "dnd"
    if not recipient.devices:
        return "no_device"
    return None


def _custom_desc(element: MsgElement) -> str:
    try:
        content = orjson.loads(element.content_json)
    except orjson.JSONDecodeError:
        return ""
    desc = content.get("Desc") if isinstance(content, dict) else None
    return desc if isinstance(desc, str) else ""


def summary(elements: Sequence[MsgElement]) -> str:
    """The message as one line of a notification: its text, else what its first element is
    (a custom element's Desc when it has one, as Tencent's push shows it)."""
    texts: list[str] = []
    for element in elements:
        if element.msg_type == "TIMTextElem":
            try:
                content = orjson.loads(element.content_json)
            except orjson.JSONDecodeError:
                continue
            text = content.get("Text") if isinstance(content, dict) else None
            if isinstance(text, str):
                texts.append(text)
    if texts:
        return "".join(texts)[:MAX_SUMMARY_CHARS]
    for element in elements:
        if element.msg_type == "TIMCustomElem":
            desc = _custom_desc(element)
            if desc:
                return desc[:MAX_SUMMARY_CHARS]
        return ELEMENT_SUMMARY.get(element.msg_type, "[Message]")
    return ""


def message_ext(message: Message) -> object:
    """The message's ext as Easemob reads it (em_push_template): CloudCustomData when it is a
    JSON object, else nothing."""
    if not message.cloud_custom_data:
        return None
    try:
        return orjson.loads(message.cloud_custom_data)
    except orjson.JSONDecodeError:
        return None


def title_and_body(
    message: Message,
    offline_push: OfflinePush,
    names: Names,
    templates: Mapping[str, Template],
) -> tuple[str, str, str | None]:
    """The notification's title and body before OfflinePushInfo's, which win per vendor
    (`OfflinePush.title_for`), and a template error if the template could not be used (the
    plain default is used then)."""
    nick = names.sender_nick or message.sender
    text = summary(message.elements)
    is_c2c = message.chat_type == CHAT_TYPE_C2C
    title = nick if is_c2c else names.group_name or message.group_id
    body = text if is_c2c else f"{nick}: {text}"
    error: str | None = None
    try:
        args = template_args(message_ext(message))
        template = chosen(templates, args)
        if template is not None:
            title, body = render(template, Sender(msg=text, from_nickname=nick), args)
    except TemplateError as exc:
        error = str(exc)
    return title, offline_push.desc or body, error


def payload(message: Message, offline_push: OfflinePush) -> dict[str, str]:
    data = {
        DATA_CONVERSATION_TYPE: "c2c" if message.chat_type == CHAT_TYPE_C2C else "group",
        DATA_CONVERSATION_ID: message.sender
        if message.chat_type == CHAT_TYPE_C2C
        else message.group_id,
    }
    if offline_push.ext:
        data[DATA_EXT] = offline_push.ext
    return data


def notifications(
    message: Message,
    offline_push: OfflinePush,
    devices: Sequence[Device],
    names: Names,
    templates: Mapping[str, Template],
    badge: int | None,
) -> tuple[list[tuple[Device, Notification]], str | None]:
    """The notification for each device, and a template error if the template could not be
    used (the plain default went out instead)."""
    title, body, error = title_and_body(message, offline_push, names, templates)
    data = payload(message, offline_push)
    sends = [
        (
            device,
            Notification(
                token=device.token,
                title=offline_push.title_for(device.vendor) or title,
                body=body,
                collapse_id=message.msg_key,
                badge=badge,
                data=data,
                extras=offline_push.extras_for(device.vendor),
            ),
        )
        for device in devices
    ]
    return sends, error
