"""A recall, built one way for every caller: a client's `recall` over WebSocket, REST
admin_msgwithdraw and group_msg_recall, and the admin API's review of a report. The router
applies it on the message path (services/router/ingest.py); `recall_refusal` is the rule a
client's recall passes first (app servers and operators may recall anything, any time)."""

from __future__ import annotations

import time

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    InboundMessage,
    Message,
    Source,
)
from services.gateway.group_rules import ADMIN, OWNER


def recall_inbound(
    target: Message, *, source: Source.ValueType, platform: str, client_ip: str = ""
) -> InboundMessage:
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
        source=source,
        received_at_ms=int(time.time() * 1000),
        client_ip=client_ip,
        platform=platform,
    )


def recall_refusal(
    target: Message, user: str, role: str | None, now_ms: int, window_s: int
) -> TidingsError | None:
    """Why `user` may not recall `target`: deleted (delete_group_msg_by_sender), not theirs (a
    group owner or admin may recall anyone's), already recalled, or past the app's window
    (senders only; owners and admins are not bound)."""
    if target.deleted:
        return TidingsError(ErrorCode.MSG_NOT_FOUND, "the message was deleted")
    if target.recalled:
        return TidingsError(ErrorCode.MSG_ALREADY_RECALLED, "the message was already recalled")
    moderator = role in (OWNER, ADMIN)
    if target.sender != user and not moderator:
        return TidingsError(
            ErrorCode.GROUP_NO_PERMISSION if target.group_id else ErrorCode.MSG_NOT_FOUND,
            "only the sender (or a group owner or admin) may recall a message",
        )
    if target.sender == user and now_ms - target.server_time_ms > window_s * 1000:
        return TidingsError(
            ErrorCode.MSG_RECALL_TIMEOUT, f"messages can be recalled for {window_s} s"
        )
    return None
