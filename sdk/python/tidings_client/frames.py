"""Frame encodings of protocol v1: JSON text, or protobuf binary (tidings.v1.Frame, whose
fields are a Struct of the JSON frame's other fields). Both give the same dict."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson
from google.protobuf.json_format import MessageToDict

from tidings_client.pb.client_pb2 import Frame

JSON = "json"
PROTO = "proto"


def _integral(value: Any) -> Any:
    # Struct numbers are doubles; the protocol's numbers are integers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def encode(frame: dict[str, Any], encoding: str) -> str | bytes:
    if encoding == JSON:
        return orjson.dumps(frame).decode()
    out = Frame(op=str(frame.get("op", "")))
    request_id = frame.get("id")
    if isinstance(request_id, int) and not isinstance(request_id, bool):
        out.id = request_id
    out.fields.update({k: v for k, v in frame.items() if k not in ("op", "id")})
    return out.SerializeToString()


def decode(raw: str | bytes, encoding: str) -> dict[str, Any]:
    if encoding == JSON:
        decoded: dict[str, Any] = orjson.loads(raw)
        return decoded
    frame = Frame()
    frame.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
    out: dict[str, Any] = _integral(MessageToDict(frame.fields))
    out["op"] = frame.op
    out["id"] = frame.id if frame.HasField("id") else None
    return out


def conversation_parts(conversation: str) -> list[str]:
    """A conversation id's kind and ids: ["c2c", lo, hi] or ["group", id]. Ids are joined with
    `:` after percent-encoding `%`, `:`, `{` and `}` in each (docs/PROTOCOL.md)."""
    return [unquote(part) for part in conversation.split(":")]
