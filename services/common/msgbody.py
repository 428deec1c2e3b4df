"""Tencent MsgBody <-> MsgElement, with validation: what the gateway accepts from senders and
the callback service accepts from app servers that rewrite a message. Pure functions, no I/O."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import MsgElement

ELEMENT_TYPES = frozenset(
    {
        "TIMTextElem",
        "TIMCustomElem",
        "TIMImageElem",
        "TIMFileElem",
        "TIMSoundElem",
        "TIMVideoFileElem",
        "TIMLocationElem",
        "TIMFaceElem",
    }
)


def parse_msg_body(
    body: Any, max_bytes: int, too_large: ErrorCode, invalid: ErrorCode
) -> list[MsgElement]:
    """Validate a Tencent MsgBody array and turn it into elements.

    The 12 KB limit applies to the body as serialised (Tencent counts the packet).
    """
    if not isinstance(body, list) or not body:
        raise TidingsError(invalid, "MsgBody must be a non-empty array")
    elements: list[MsgElement] = []
    size = 0
    for i, elem in enumerate(body):
        if not isinstance(elem, dict):
            raise TidingsError(invalid, f"MsgBody[{i}] must be an object")
        msg_type = elem.get("MsgType")
        content = elem.get("MsgContent")
        if msg_type not in ELEMENT_TYPES:
            raise TidingsError(invalid, f"MsgBody[{i}].MsgType {msg_type!r} is not supported")
        if not isinstance(content, dict):
            raise TidingsError(invalid, f"MsgBody[{i}].MsgContent must be an object")
        if msg_type == "TIMTextElem" and not isinstance(content.get("Text"), str):
            raise TidingsError(invalid, f"MsgBody[{i}].MsgContent.Text must be a string")
        raw = orjson.dumps(content)
        size += len(raw) + len(msg_type)
        elements.append(MsgElement(msg_type=msg_type, content_json=raw))
    if size > max_bytes:
        raise TidingsError(too_large, f"message body is {size} bytes, over {max_bytes}")
    return elements


def content_crc(elements: Any) -> int:
    """CRC32 of a body, part of Tencent's dedupe key for REST sends (stable across processes)."""
    return zlib.crc32(b"".join(e.content_json for e in elements))


def msg_body_json(elements: Any) -> list[dict[str, Any]]:
    return [{"MsgType": e.msg_type, "MsgContent": orjson.loads(e.content_json)} for e in elements]
