"""Recall: one rule and one builder for every caller: a client's `recall` over WebSocket, REST
admin_msgwithdraw and group_msg_recall, and the admin API's review of a report. The router
applies the recall on the message path (services/router/ingest.py) and refuses a second one
that raced past this check.

Who may recall what: app servers and operators (`by` None) anything, any time; a client its
own messages within the app's `recall_window_s`, and a group's owner or admins anyone's in the
group, any time. A deleted or unknown message is not found, and a recalled one is refused; the
codes are Tencent's of the message's kind (group 10030/10031, C2C 20022/20023), the same that
the router answers when two recalls race.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    SOURCE_REST,
    InboundMessage,
    Message,
    Source,
)
from services.gateway.events import REST_PLATFORM
from services.gateway.group_rules import ADMIN, OWNER
from services.gateway.publisher import Publisher

# The refusals that say the message is gone or already recalled, C2C's and a group's.
GONE = (ErrorCode.MSG_NOT_FOUND, ErrorCode.GROUP_MSG_NOT_FOUND)
ALREADY_RECALLED = (ErrorCode.MSG_ALREADY_RECALLED, ErrorCode.GROUP_MSG_ALREADY_RECALLED)


@dataclass(frozen=True, slots=True)
class Recaller:
    """A client recalling: its user, and its role in the message's group (None for C2C)."""

    user: str
    role: str | None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a recall comes from, as the message path records it."""

    source: Source.ValueType
    platform: str
    client_ip: str = ""


def rest_origin(client_ip: str = "") -> Origin:
    """An app server's REST command, or the operator's admin API."""
    return Origin(SOURCE_REST, REST_PLATFORM, client_ip)


def recall_inbound(target: Message, origin: Origin) -> InboundMessage:
    """The action that recalls `target`, in its conversation, as its sender's. Its client
    message id makes a retry of the same recall a duplicate, not a second recall."""
    return InboundMessage(
        schema_version=1,
        sdkappid=target.sdkappid,
        conversation=target.conversation,
        chat_type=CHAT_TYPE_GROUP if target.group_id else CHAT_TYPE_C2C,
        sender=target.sender,
        to_user=target.to_user,
        group_id=target.group_id,
        client_msg_id=f"recall:{target.seq}",
        kind=MESSAGE_KIND_RECALL,
        target_seq=target.seq,
        target_msg_key=target.msg_key,
        msg_random=target.msg_random,
        source=origin.source,
        received_at_ms=int(time.time() * 1000),
        client_ip=origin.client_ip,
        platform=origin.platform,
    )


def check_recall(
    target: Message | None, in_group: bool, by: Recaller | None, now_ms: int, window_s: int
) -> Message:
    """`target` if `by` (None: the app server or an operator) may recall it; else the refusal."""
    if target is None or target.deleted:
        raise TidingsError(
            ErrorCode.GROUP_MSG_NOT_FOUND if in_group else ErrorCode.MSG_NOT_FOUND,
            "the message does not exist",
        )
    if target.recalled:
        raise TidingsError(
            ErrorCode.GROUP_MSG_ALREADY_RECALLED if in_group else ErrorCode.MSG_ALREADY_RECALLED,
            "the message was already recalled",
        )
    if by is None:
        return target
    if target.sender != by.user and by.role not in (OWNER, ADMIN):
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION if in_group else ErrorCode.MSG_NOT_FOUND,
            "only the sender (or a group owner or admin) may recall a message",
        )
    if target.sender == by.user and now_ms - target.server_time_ms > window_s * 1000:
        raise TidingsError(
            ErrorCode.MSG_RECALL_TIMEOUT, f"messages can be recalled for {window_s} s"
        )
    return target


async def recall(
    publisher: Publisher,
    target: Message | None,
    in_group: bool,
    origin: Origin,
    by: Recaller | None = None,
    window_s: int = 0,
) -> None:
    """Recall `target` if the rule allows it; raises the refusal (or the router's answer)."""
    allowed = check_recall(target, in_group, by, int(time.time() * 1000), window_s)
    outcome = await publisher.publish(recall_inbound(allowed, origin))
    if outcome.error_code:
        # As-is: the router refuses a second recall that raced this one with Tencent's code.
        raise TidingsError(outcome.error_code, outcome.error_info)
