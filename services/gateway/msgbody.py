"""Messages as clients see them, and (from services/common/msgbody.py) Tencent MsgBody <->
MsgElement. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from services.common.msgbody import content_crc as content_crc
from services.common.msgbody import msg_body_json as msg_body_json
from services.common.msgbody import parse_msg_body as parse_msg_body
from services.common.pb.tidings.v1.envelope_pb2 import (
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    Message,
)

_KINDS = {
    MESSAGE_KIND_RECALL: "recall",
    MESSAGE_KIND_MODIFY: "modify",
    MESSAGE_KIND_SYSTEM_NOTIFICATION: "system",
}


def message_json(m: Message) -> dict[str, Any]:
    """A message as the WebSocket protocol shows it to clients. `kind` is "message" for a new
    seq, "recall" / "modify" for a change to the message at `seq`, or "system" for a group
    system notification (seq 0, never stored)."""
    return {
        "kind": _KINDS.get(m.kind, "message"),
        "recalled": m.recalled,
        "deleted": m.deleted,
        "conversation": m.conversation,
        "seq": m.seq,
        "time": m.server_time_ms,
        "sender": m.sender,
        "to": m.to_user,
        "group": m.group_id,
        "msg_key": m.msg_key,
        "random": m.msg_random,
        "client_msg_id": m.client_msg_id,
        "elements": msg_body_json(m.elements),
        "cloud_custom_data": m.cloud_custom_data,
        "need_receipt": m.need_read_receipt,
        "online_only": m.online_only,
        "at_users": list(m.at_users),
        "at_all": m.at_all,
    }
