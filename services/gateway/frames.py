"""The client WebSocket protocol, version 1 (docs/PROTOCOL.md): parsing and building frames.
Pure functions, no I/O."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import parse_offline_push
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    SOURCE_WS,
    InboundMessage,
)
from services.gateway.bounds import SDKAPPID, STORED_U64, UINT32, IntRange, checked_int
from services.gateway.mentions import mentions
from services.gateway.msgbody import parse_msg_body

PROTOCOL_VERSION = 1
PATHS = ("/v1",)
PLATFORMS = ("Android", "iPhone", "iPad", "Windows", "Mac", "Linux", "Web")
# A client's own message ids: no ':', which every id the server makes up holds ("rest:...",
# "import:..."), so a client cannot pick the dedupe key of a send it did not make.
CLIENT_MSG_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def parse_frame(raw: str | bytes, max_bytes: int) -> dict[str, Any]:
    if len(raw) > max_bytes:
        raise TidingsError(ErrorCode.WS_FRAME_TOO_LARGE, f"frame over {max_bytes} bytes")
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, f"frame is not JSON: {exc}") from exc
    if not isinstance(frame, dict):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "frame must be a JSON object")
    if not isinstance(frame.get("op"), str):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "frame needs a string 'op'")
    return frame


def error_frame(request_id: Any, code: ErrorCode | int, message: str) -> dict[str, Any]:
    return {"op": "error", "id": request_id, "code": int(code), "message": message}


def field(
    frame: dict[str, Any], name: str, kind: type[str] | type[bool], required: bool = True
) -> Any:
    """A string or boolean field; integers go through integer(), which knows their range."""
    value = frame.get(name)
    if value is None:
        if required:
            raise TidingsError(ErrorCode.WS_BAD_FRAME, f"missing field {name!r}")
        return None
    if not isinstance(value, kind):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, f"field {name!r} must be {kind.__name__}")
    return value


def integer(frame: dict[str, Any], name: str, within: IntRange) -> int:
    """A required integer field in its range (bounds.py)."""
    value = optional_integer(frame, name, within)
    if value is None:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, f"missing field {name!r}")
    return value


def optional_integer(frame: dict[str, Any], name: str, within: IntRange) -> int | None:
    """An integer field in its range, or None when it is absent (or null)."""
    value = frame.get(name)
    if value is None:
        return None
    return checked_int(value, f"field {name!r}", within, ErrorCode.WS_BAD_FRAME)


def parse_login(frame: dict[str, Any]) -> tuple[int, str, str, str]:
    sdkappid = integer(frame, "sdkappid", SDKAPPID)
    identifier = field(frame, "identifier", str)
    sig = field(frame, "usersig", str)
    platform = field(frame, "platform", str, required=False) or "Web"
    if platform not in PLATFORMS:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, f"platform must be one of {PLATFORMS}")
    return sdkappid, identifier, sig, platform


def parse_send(
    frame: dict[str, Any], sdkappid: int, sender: str, platform: str, max_body: int
) -> InboundMessage:
    """A client's send frame as an InboundMessage (origin is set by the publisher)."""
    to = field(frame, "to", str, required=False)
    group = field(frame, "group", str, required=False)
    if (to is None) == (group is None):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "a send needs exactly one of 'to' or 'group'")
    text = field(frame, "text", str, required=False)
    body = frame.get("elements")
    if text is not None:
        body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    elements = parse_msg_body(body, max_body, ErrorCode.BODY_TOO_LARGE, ErrorCode.WS_BAD_FRAME)
    client_msg_id = field(frame, "client_msg_id", str, required=False)
    if client_msg_id is not None and not CLIENT_MSG_ID.fullmatch(client_msg_id):
        raise TidingsError(
            ErrorCode.WS_BAD_FRAME,
            "client_msg_id must be 1 to 64 of the characters A-Z a-z 0-9 . _ ~ -",
        )
    random = optional_integer(frame, "random", UINT32)
    if random is None:
        random = secrets.randbits(32)
        # Nothing to retry with: a unique id, not the 32-bit random, which two of a sender's
        # messages in a day could share (the second would be taken for a retry and dropped).
        client_msg_id = client_msg_id or f"u{secrets.token_hex(8)}"
    client_msg_id = client_msg_id or f"r{random}"
    at_users = frame.get("at_users")
    at_users = [] if at_users is None else at_users
    at_all = bool(field(frame, "at_all", bool, required=False))
    if not isinstance(at_users, list):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "field 'at_users' must be a list of UserIDs")
    if (at_users or at_all) and group is None:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "only a group message mentions members")
    inbound = InboundMessage(
        schema_version=1,
        sdkappid=sdkappid,
        conversation=conversation.c2c(sender, to) if group is None else conversation.group(group),
        chat_type=CHAT_TYPE_C2C if group is None else CHAT_TYPE_GROUP,
        sender=sender,
        to_user=to or "",
        group_id=group or "",
        client_msg_id=client_msg_id,
        msg_random=random,
        elements=elements,
        cloud_custom_data=field(frame, "cloud_custom_data", str, required=False) or "",
        source=SOURCE_WS,
        received_at_ms=int(time.time() * 1000),
        platform=platform,
        need_read_receipt=bool(field(frame, "need_receipt", bool, required=False)),
        # Tencent's OfflinePushInfo, with Tencent's field names.
        offline_push_json=parse_offline_push(
            frame.get("offline_push"), ErrorCode.WS_BAD_FRAME, "offline_push"
        ),
    )
    mentions(at_users, at_all, ErrorCode.WS_BAD_FRAME, "at_users").apply(inbound)
    return inbound


def parse_sync(frame: dict[str, Any], user: str) -> tuple[str, str | None, int, int]:
    """(conversation, group id or None, after_seq, limit). A client names the peer or the group;
    it never names a conversation id, so it cannot read other people's chats."""
    peer = field(frame, "peer", str, required=False)
    group = field(frame, "group", str, required=False)
    if (peer is None) == (group is None):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "sync needs exactly one of 'peer' or 'group'")
    after_seq = optional_integer(frame, "after_seq", STORED_U64) or 0
    # Any page size is taken; history serves at most 500 a page (docs/PROTOCOL.md).
    limit = optional_integer(frame, "limit", UINT32) or 0
    if group is not None:
        return conversation.group(group), group, after_seq, limit
    return conversation.c2c(user, peer), None, after_seq, limit
