"""Tencent's per-message controls of sendmsg, batchsendmsg and send_group_msg: SendMsgControl
and ForbidCallbackControl, each an array of option names. Pure.

SendMsgControl: "NoUnread" (the message counts as no unread), "WithMuteNotifications" (pushed to
recipients who muted the conversation too; C2C only in Tencent's reference, honoured for groups
as well) and "NoLastMsg" (Tencent: the conversation's last message stays as it was), which is
accepted and not honoured: a conversation's last message is its newest seq here.
ForbidCallbackControl: "ForbidBeforeSendMsgCallback" and "ForbidAfterSendMsgCallback", the app
server's own send asking not to be called back about itself.

An option name Tencent does not document is ignored, as Tencent does; anything but an array of
strings, or more names than there are options, is the command's invalid-parameter error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.gateway.rest_v4 import fields

NO_UNREAD = "NoUnread"
NO_LAST_MSG = "NoLastMsg"
WITH_MUTE_NOTIFICATIONS = "WithMuteNotifications"
FORBID_BEFORE = "ForbidBeforeSendMsgCallback"
FORBID_AFTER = "ForbidAfterSendMsgCallback"
# More names than this in one array is not a list of options (a bound before any work).
MAX_NAMES = 8


@dataclass(frozen=True, slots=True)
class SendControls:
    no_unread: bool = False
    with_mute_notifications: bool = False
    forbid_before_callback: bool = False
    forbid_after_callback: bool = False

    def apply(self, inbound: InboundMessage) -> InboundMessage:
        inbound.no_unread = self.no_unread
        inbound.push_when_muted = self.with_mute_notifications
        inbound.forbid_before_callback = self.forbid_before_callback
        inbound.forbid_after_callback = self.forbid_after_callback
        return inbound


NO_CONTROLS = SendControls()


def _names(body: dict[str, Any], field: str, code: ErrorCode) -> frozenset[str]:
    raw = fields.raw(body, field)
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise TidingsError(code, f"{field} must be an array of option names")
    if len(raw) > MAX_NAMES:
        raise TidingsError(code, f"{field} names at most {MAX_NAMES} options")
    return frozenset(raw)


def send_controls(body: dict[str, Any], code: ErrorCode) -> SendControls:
    control = _names(body, "SendMsgControl", code)
    forbid = _names(body, "ForbidCallbackControl", code)
    return SendControls(
        no_unread=NO_UNREAD in control,
        with_mute_notifications=WITH_MUTE_NOTIFICATIONS in control,
        forbid_before_callback=FORBID_BEFORE in forbid,
        forbid_after_callback=FORBID_AFTER in forbid,
    )
