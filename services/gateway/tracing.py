"""The gateway's im.trace records (services/common/trace.py): what a client or an app server was
answered. The builders take plain values (pure, tested without I/O); the records go to the one
Tracer that gateway main registers (`use`).

Each event is traced once, where its outcome is known:
- login: the WebSocket login op, with code 0 or the refusal (only once the login frame parsed:
  before that there is no user to file it under);
- logout and disconnect: when a logged-in socket ends (`session_end`): the client's own close
  (1000) is a logout; anything else a disconnect with its close code. A socket the server
  closed for a kick is not traced again: `kick_connections` traced the kick, once per session;
- c2c_send and group_send: a WebSocket send's ack or error frame (refusals before the router
  included), and the answer of REST sendmsg, batchsendmsg (one record per recipient) and
  send_group_msg (`rest_traced`);
- recall: the WebSocket recall op, REST admin_msgwithdraw and group_msg_recall (one record per
  MsgSeq).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from services.common import trace
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.groups import Group
from services.common.trace import MAX_ID_CHARS, Tracer, clip, new_trace
from services.gateway import frames
from services.gateway.events import NORMAL_CLOSURE, REST_PLATFORM
from services.gateway.sessions import ABNORMAL_CLOSE, Connection

if TYPE_CHECKING:
    # Only types here: the REST command modules import this one.
    from services.gateway.rest_v4.context import Handler, Reply, RestContext

# The close reason of a kicked socket (grpc_service.GatewayServicer.Kick).
KICKED_REASON = "kicked"
# The most records one REST command makes (batchsendmsg's recipients are at most 500).
MAX_RECORDS = 500

T = TypeVar("T")
# A record of an outcome: (code, description, latency_ms) -> the record, or None for none.
Build = Callable[[int, str, int], TraceEvent | None]

# The gateway's tracer, set once at start-up (gateway main). Unset (parts built alone in a
# test), nothing is traced.
_tracers: list[Tracer] = []


def use(tracer: Tracer) -> None:
    _tracers[:] = [tracer]


def emit(*events: TraceEvent) -> None:
    for tracer in _tracers:
        for event in events:
            tracer.trace(event)


@dataclass(frozen=True, slots=True)
class Who:
    """Who acted, and from where."""

    sdkappid: int
    user: str
    platform: str
    client_ip: str


def who_of(conn: Connection) -> Who:
    address = conn.remote_address
    return Who(conn.sdkappid, conn.user, conn.platform, str(address[0]) if address else "")


def failure(exc: BaseException, internal: ErrorCode) -> tuple[int, str]:
    """(code, description) of what the client was answered for `exc`: a TidingsError's own,
    else `internal` (the code the caller answers an unexpected error with)."""
    if isinstance(exc, TidingsError):
        return int(exc.code), exc.info
    return int(internal), "internal error"


def _default_info(code: int) -> str:
    try:
        return ErrorCode(code).default_info
    except ValueError:
        return ""


def elapsed_ms(started_s: float) -> int:
    return max(0, int((time.time() - started_s) * 1000))


def _id(value: object) -> str:
    """A client-given id as a record keeps it: a string or an integer, cut to MAX_ID_CHARS."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value[:MAX_ID_CHARS] if isinstance(value, str) else ""


async def traced(work: Awaitable[T], build: Build, internal: ErrorCode, success: bool = True) -> T:
    """Await `work` and trace its outcome: a failure always, a success if `success`. The
    exception goes on to the caller, who answers it (`internal` is its code for one that is not
    a TidingsError)."""
    started = time.time()
    try:
        result = await work
    except Exception as exc:
        code, info = failure(exc, internal)
        record = build(code, info, elapsed_ms(started))
        if record is not None:
            emit(record)
        raise
    if success:
        record = build(0, "", elapsed_ms(started))
        if record is not None:
            emit(record)
    return result


# --- sessions --------------------------------------------------------------------------------


def login(who: Who, code: int, description: str, latency_ms: int) -> TraceEvent:
    return new_trace(
        who.sdkappid,
        trace.LOGIN,
        who.user,
        code=code,
        description=clip(description),
        platform=who.platform,
        client_ip=who.client_ip,
        latency_ms=latency_ms,
    )


def login_refused_who(frame: dict[str, Any], client_ip: str) -> Who | None:
    """Who a refused login frame claims to be; None when it does not parse (no user to file
    the refusal under)."""
    try:
        sdkappid, identifier, _, platform = frames.parse_login(frame)
    except TidingsError:
        return None
    return Who(sdkappid, identifier[:MAX_ID_CHARS], platform, client_ip)


def ws_login(
    conn: Connection, frame: dict[str, Any], code: int, description: str, latency_ms: int
) -> TraceEvent | None:
    """A WebSocket login's outcome: the session's when it succeeded, else the frame's claim."""
    if not code:
        return login(who_of(conn), 0, "", latency_ms)
    claimed = login_refused_who(frame, who_of(conn).client_ip)
    return None if claimed is None else login(claimed, code, description, latency_ms)


@dataclass(frozen=True, slots=True)
class Closing:
    """How a socket's close went: the code of the client's close frame (None when none came),
    and the server's close frame when the server closed first (None when the client did)."""

    client_code: int | None
    server_code: int | None = None
    server_reason: str = ""


def closing_of(conn: Connection) -> Closing:
    """How `conn`'s close went, from picows' record of the close frames."""
    handshake = conn.transport.close_handshake
    if handshake is None:
        return Closing(None)
    recv, sent = handshake.recv, handshake.sent
    client_code = int(recv.code.value) if recv is not None else None
    if sent is not None and (recv is None or not handshake.recv_then_sent):
        return Closing(client_code, int(sent.code.value), sent.reason)
    return Closing(client_code)


def session_end(who: Who, conn_id: str, closing: Closing) -> TraceEvent | None:
    """A logged-in socket ended: logout (the client closed with 1000), disconnect (anything
    else, its close code as the code), or None for a kicked socket (traced as the kick)."""
    if closing.server_code is not None:
        if closing.server_reason == KICKED_REASON:
            return None
        event, code = trace.DISCONNECT, closing.server_code
        description = f"closed by the server ({code}): {closing.server_reason}"
    elif closing.client_code == NORMAL_CLOSURE:
        event, code, description = trace.LOGOUT, 0, ""
    elif closing.client_code is None:
        event, code = trace.DISCONNECT, ABNORMAL_CLOSE
        description = f"the connection dropped without a close frame ({ABNORMAL_CLOSE})"
    else:
        event, code = trace.DISCONNECT, closing.client_code
        description = f"closed by the client ({code})"
    return new_trace(
        who.sdkappid,
        event,
        who.user,
        code=code,
        description=clip(description),
        request_id=conn_id,
        platform=who.platform,
        client_ip=who.client_ip,
    )


def kicks(
    sdkappid: int, user: str, sessions: Sequence[tuple[str, str]], code: int, reason: str
) -> list[TraceEvent]:
    """One record per kicked session, (conn_id, platform): the code the client was kicked
    with and why."""
    return [
        new_trace(
            sdkappid,
            trace.KICK,
            user,
            code=code,
            description=clip(reason),
            request_id=conn_id,
            platform=platform,
        )
        for conn_id, platform in sessions
    ]


# --- sends and recalls -----------------------------------------------------------------------


def send(
    who: Who,
    *,
    peer: str,
    group_id: str,
    code: int,
    description: str,
    request_id: str,
    latency_ms: int,
    group_type: str = "",
) -> TraceEvent:
    return new_trace(
        who.sdkappid,
        trace.GROUP_SEND if group_id else trace.C2C_SEND,
        who.user,
        code=code,
        description=clip(description),
        peer=peer,
        group_id=group_id,
        request_id=request_id,
        platform=who.platform,
        client_ip=who.client_ip,
        latency_ms=latency_ms,
        detail=group_type,
    )


def ws_send_refused(
    who: Who, frame: dict[str, Any], code: int, description: str, latency_ms: int
) -> TraceEvent:
    """A WebSocket send refused before it reached the router: its target as the frame gave it
    (it may be what was wrong)."""
    return send(
        who,
        peer=_id(frame.get("to")),
        group_id=_id(frame.get("group")),
        code=code,
        description=description,
        request_id=_id(frame.get("client_msg_id")),
        latency_ms=latency_ms,
    )


def recall(
    who: Who,
    *,
    peer: str,
    group_id: str,
    code: int,
    description: str,
    request_id: str,
    latency_ms: int,
) -> TraceEvent:
    return new_trace(
        who.sdkappid,
        trace.RECALL,
        who.user,
        code=code,
        description=clip(description),
        peer=peer,
        group_id=group_id,
        request_id=request_id,
        platform=who.platform,
        client_ip=who.client_ip,
        latency_ms=latency_ms,
    )


def ws_recall(
    who: Who, frame: dict[str, Any], code: int, description: str, latency_ms: int
) -> TraceEvent:
    """A WebSocket recall: the seq is its request id."""
    return recall(
        who,
        peer=_id(frame.get("peer")),
        group_id=_id(frame.get("group")),
        code=code,
        description=description,
        request_id=_id(frame.get("seq")),
        latency_ms=latency_ms,
    )


@dataclass(frozen=True, slots=True)
class RestOutcome:
    """A REST command's answer: its code and info, and its reply fields when it succeeded."""

    code: int
    info: str
    reply: Reply
    latency_ms: int
    # The group's type when the gateway's directory holds the group (group sends).
    group_type: str = ""


def _rest_who(ctx_app: int, sender: object, identifier: str, client_ip: str) -> Who:
    user = _id(sender) or identifier
    return Who(ctx_app, user, REST_PLATFORM, client_ip)


def _recipients(value: object) -> list[str]:
    if isinstance(value, list):
        return list(dict.fromkeys(_id(v) for v in value[:MAX_RECORDS] if _id(v)))
    return [_id(value)]


def rest_c2c_send(
    sdkappid: int, identifier: str, client_ip: str, body: dict[str, Any], out: RestOutcome
) -> list[TraceEvent]:
    """sendmsg and batchsendmsg: one record per recipient, with the code it got (ErrorList),
    MsgRandom as the request id and the MsgKey in the description."""
    who = _rest_who(sdkappid, body.get("From_Account"), identifier, client_ip)
    per_recipient = {
        _id(e.get("To_Account")): int(e.get("ErrorCode", 0))
        for e in out.reply.get("ErrorList", ())
        if isinstance(e, dict)
    }
    msg_key = out.reply.get("MsgKey")
    records = []
    for to in _recipients(body.get("To_Account")):
        code = per_recipient.get(to, out.code)
        if not code:
            description = f"MsgKey {msg_key}"
        else:
            description = out.info if out.code else _default_info(code)
        records.append(
            send(
                who,
                peer=to,
                group_id="",
                code=code,
                description=description,
                request_id=_id(body.get("MsgRandom")),
                latency_ms=out.latency_ms,
            )
        )
    return records


def rest_group_send(
    sdkappid: int, identifier: str, client_ip: str, body: dict[str, Any], out: RestOutcome
) -> list[TraceEvent]:
    """send_group_msg: Random as the request id, the MsgSeq in the description."""
    who = _rest_who(sdkappid, body.get("From_Account"), identifier, client_ip)
    group_id = _id(body.get("GroupId"))
    description = out.info if out.code else f"MsgSeq {out.reply.get('MsgSeq')}"
    return [
        send(
            who,
            peer="",
            group_id=group_id,
            code=out.code,
            description=description,
            request_id=_id(body.get("Random")),
            latency_ms=out.latency_ms,
            group_type=out.group_type,
        )
    ]


def rest_c2c_recall(
    sdkappid: int, identifier: str, client_ip: str, body: dict[str, Any], out: RestOutcome
) -> list[TraceEvent]:
    """admin_msgwithdraw: the MsgKey is the request id."""
    who = _rest_who(sdkappid, body.get("From_Account"), identifier, client_ip)
    return [
        recall(
            who,
            peer=_id(body.get("To_Account")),
            group_id="",
            code=out.code,
            description=out.info,
            request_id=_id(body.get("MsgKey")),
            latency_ms=out.latency_ms,
        )
    ]


def rest_group_recall(
    sdkappid: int, identifier: str, client_ip: str, body: dict[str, Any], out: RestOutcome
) -> list[TraceEvent]:
    """group_msg_recall: one record per MsgSeq, with its RetCode; the MsgSeq is the request
    id. A request refused as a whole is one record per MsgSeq it named."""
    who = Who(sdkappid, identifier, REST_PLATFORM, client_ip)
    group_id = _id(body.get("GroupId"))
    ret = {
        _id(r.get("MsgSeq")): int(r.get("RetCode", 0))
        for r in out.reply.get("RecallRetList", ())
        if isinstance(r, dict)
    }
    items = body.get("MsgSeqList")
    seqs = [
        _id(i.get("MsgSeq")) if isinstance(i, dict) else ""
        for i in (items[:MAX_RECORDS] if isinstance(items, list) else [None])
    ]
    return [
        recall(
            who,
            peer="",
            group_id=group_id,
            code=ret.get(seq, out.code),
            description=out.info,
            request_id=seq,
            latency_ms=out.latency_ms,
        )
        for seq in dict.fromkeys(seqs)
    ]


RestTraces = Callable[[int, str, str, dict[str, Any], RestOutcome], list[TraceEvent]]


def cached_group_type(ctx: RestContext, body: dict[str, Any]) -> str:
    """The type of the body's GroupId if the gateway's directory holds the group (the send
    looked it up there): no store read for a trace."""
    group_id = body.get("GroupId")
    if not isinstance(group_id, str):
        return ""
    held = ctx.deps.auth.directory.groups.get((ctx.app.sdkappid, group_id))
    return held.group_type if isinstance(held, Group) else ""


def rest_traced(handler: Handler, records: RestTraces, group_type: bool = False) -> Handler:
    """`handler`, tracing what it answered (`records` builds the records; with `group_type`,
    they get the group's type if it is cached)."""

    @functools.wraps(handler)
    async def traced(ctx: RestContext, body: dict[str, Any]) -> Reply:
        started = time.time()
        try:
            reply = await handler(ctx, body)
        except Exception as exc:
            # rest_v4.build_router answers an unexpected error with 60008.
            code, info = failure(exc, ErrorCode.REST_TIMEOUT)
            trace_rest(ctx, body, RestOutcome(code, info, {}, elapsed_ms(started)))
            raise
        trace_rest(ctx, body, RestOutcome(0, "", reply, elapsed_ms(started)))
        return reply

    def trace_rest(ctx: RestContext, body: dict[str, Any], out: RestOutcome) -> None:
        if group_type:
            out = dataclasses.replace(out, group_type=cached_group_type(ctx, body))
        emit(*records(ctx.app.sdkappid, ctx.identifier, ctx.client_ip, body, out))

    return traced
