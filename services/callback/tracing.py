"""The callback service's im.trace records: one per HTTP try of a callback to an app server
(Tencent's or an Easemob rule's), with the outcome as services/common/trace.py's table codes it.
Pure: the poster produces them (poster.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.trace import MAX_ID_CHARS, clip, new_trace

# Whom a callback is about, by the first of these body fields it has: Tencent's sender,
# operator, requestor or reporter; State.StateChange's Info.To_Account (below); Easemob's
# sender; the recipient last.
USER_FIELDS = (
    "From_Account",
    "Operator_Account",
    "Requestor_Account",
    "Report_Account",
    "from",
    "To_Account",
)
# What ties a callback to its event: Tidings' after-callback id, Easemob's callId.
REQUEST_ID_FIELDS = ("TidingsEventId", "callId")


def _text(value: object) -> str:
    return value[:MAX_ID_CHARS] if isinstance(value, str) else ""


def _first(body: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        found = _text(body.get(name))
        if found:
            return found
    return ""


def url_host(url: str) -> str:
    """The host and port of a URL, without any user info: what the delivery log shows."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2]


def callback_user(body: dict[str, Any]) -> str:
    info = body.get("Info")
    if isinstance(info, dict) and not any(body.get(n) for n in USER_FIELDS[:4]):
        user = _text(info.get("To_Account"))
        if user:
            return user
    return _first(body, USER_FIELDS)


def callback_trace(
    sdkappid: int,
    command: str,
    body: dict[str, Any],
    *,
    code: int,
    description: str,
    latency_ms: int,
    client_ip: str = "",
    platform: str = "",
    target_host: str = "",
    attempt: int = 1,
) -> TraceEvent:
    """One try: `code` 0 for a 2xx answer, else the HTTP status or a CALLBACK_* code; the
    host (and port) posted to, and which try of the delivery it was."""
    user = callback_user(body)
    peer = _text(body.get("To_Account")) or _text(body.get("to"))
    group_id = _text(body.get("GroupId")) or _text(body.get("group_id"))
    event = new_trace(
        sdkappid,
        trace.CALLBACK,
        user,
        code=code,
        description=clip(description),
        peer="" if peer == user or group_id else peer,
        group_id=group_id,
        request_id=_first(body, REQUEST_ID_FIELDS),
        platform=platform,
        client_ip=client_ip,
        latency_ms=latency_ms,
        detail=command,
    )
    event.target_host = _text(target_host)
    event.attempt = attempt
    return event
