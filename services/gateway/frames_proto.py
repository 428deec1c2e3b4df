"""The protobuf encoding of the client protocol (proto/tidings/v1/client.proto): a binary
WebSocket message per frame, converted to and from the same dict the JSON path uses, so every
op has one code path whatever the encoding. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.client_pb2 import Frame

JSON = "json"
PROTO = "proto"
ENCODINGS = (JSON, PROTO)


def encoding_of(path: str) -> str | None:
    """The encoding a client asked for in its connect URL (`/v1?encoding=proto`); JSON when it
    names none, None when it names one that does not exist."""
    asked = parse_qs(urlsplit(path).query).get("encoding", [JSON])[-1]
    return asked if asked in ENCODINGS else None


# The integers a JSON frame can hold (orjson reads larger ones as floats, and cannot write them).
_JSON_INTS = range(-(2**63), 2**64)


def _integral(value: Any) -> Any:
    """Struct numbers are doubles; the protocol's numbers are integers (ids, seqs, times), so
    integral doubles come back as ints, inside lists and objects too. Only within 64 bits, as
    in a JSON frame: 1e300 stays a float, refused where an integer is due, and a MsgBody that
    holds one is still written back out as JSON."""
    if isinstance(value, float) and value.is_integer() and int(value) in _JSON_INTS:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def decode_frame(raw: bytes, max_bytes: int) -> dict[str, Any]:
    if len(raw) > max_bytes:
        raise TidingsError(ErrorCode.WS_FRAME_TOO_LARGE, f"frame over {max_bytes} bytes")
    frame = Frame()
    try:
        frame.ParseFromString(raw)
    except DecodeError as exc:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, f"not a tidings.v1.Frame: {exc}") from exc
    if not frame.op:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "frame needs an 'op'")
    out: dict[str, Any] = _integral(MessageToDict(frame.fields))
    out["op"] = frame.op
    out["id"] = frame.id if frame.HasField("id") else None
    return out


def encode_frame(frame: dict[str, Any]) -> bytes:
    out = Frame(op=str(frame.get("op", "")))
    request_id = frame.get("id")
    if isinstance(request_id, int) and not isinstance(request_id, bool):
        out.id = request_id
    out.fields.update({k: v for k, v in frame.items() if k not in ("op", "id")})
    return out.SerializeToString()
