"""The client WebSocket endpoint: login, send, sync, ping and the other ops. Every bad input
gets an error frame with a code, and the connection (and every other) keeps being served.

The encoding is chosen at connect (`/v1?encoding=proto` for protobuf binary frames, JSON
otherwise); frames of both decode to the same dict, so every op has one code path.

The server is picows (tests/bench/ws_server.py measured it against websockets): a connection
is a listener object (sessions.Connection) that picows calls with each frame, and no task runs
per connection. A frame is handled at once, in picows' callback, as far as it can go without
waiting (eager.py): a ping, a send whose checks are answered from memory up to the publisher's
`submit`, a frame its parser refuses. A request that has to wait (a login, a sync, most ops, a
send whose checks miss a cache) goes on in a task of its own, and the frames the client sends
meanwhile wait behind it, so a connection's requests are handled one after the other in the
order they came, as before: a client's sends are produced in that order. Replies go out as they
are ready (a send's ack when the router has answered).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from functools import partial
from http import HTTPStatus
from typing import Any

import redis.asyncio as aioredis
from picows import (
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from services.common.config import Settings
from services.common.errors import ErrorCode, TidingsError
from services.common.grpc_util import Channels
from services.common.live_recent import LiveRecent
from services.common.logging import get_logger
from services.common.messaging_settings import sees_history_before_join
from services.common.metrics import CONNECTIONS, STAGE_LATENCY
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.recent import TailReader
from services.common.redis_state import SessionRegistry
from services.common.store.msg_deletions import as_seen_by
from services.common.store.ports import Stores
from services.gateway import eager, frames, frames_proto, tracing
from services.gateway.archive import Archive
from services.gateway.auth import Authenticator
from services.gateway.before_events import BeforeEvents
from services.gateway.events import EventEmitter
from services.gateway.frame_budget import FrameBudget
from services.gateway.handlers.send import check_send
from services.gateway.kicks import kick_connections
from services.gateway.login_modes import Session, policy_from_settings, sessions_to_kick
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.push_ops import PushOps
from services.gateway.ratelimit import RateLimiter
from services.gateway.receipts import GroupReceipts, receipt_refusal
from services.gateway.reports import Reports
from services.gateway.sessions import (
    CLOSE_FLUSH_S,
    JSON,
    KEEPALIVE_CLOSE,
    MAX_MESSAGE_BYTES,
    MAX_PENDING,
    PROTO,
    Connection,
    LocalSessions,
)
from services.gateway.ws_events import WsEvents
from services.gateway.ws_ops import WsOps

log = get_logger(__name__)

MAX_LOGIN_ATTEMPTS = 3
# Policy violation: the client broke the frame rate (error frame 4430 says so first).
FRAME_RATE_CLOSE = 1008
# The server pings a connection it has heard nothing from for this long, and closes it when
# nothing (not even the pong) comes within as long again.
PING_INTERVAL_S = 20.0
GOING_AWAY_CLOSE = 1001
# Connections waiting to be accepted (asyncio's default is 100; a node restarted under load
# sees thousands of clients reconnect at once).
BACKLOG = 2048


class WsEndpoint:
    def __init__(
        self,
        settings: Settings,
        auth: Authenticator,
        local: LocalSessions,
        registry: SessionRegistry,
        publisher: Publisher,
        history: history_pb2_grpc.HistoryServiceStub,
        node_addr: str,
        stores: Stores,
        channels: Channels,
        limiter: RateLimiter,
        redis: aioredis.Redis,
    ) -> None:
        self._settings = settings
        self._auth = auth
        self._local = local
        self._registry = registry
        self._publisher = publisher
        self._history = history
        self._node_addr = node_addr
        self._stores = stores
        self._channels = channels
        self._limiter = limiter
        self._receipts = GroupReceipts(redis)
        # Every open socket, logged in or not (the keepalive sweep, and closing them all).
        self._sockets: set[Connection] = set()
        # Runs each request eagerly (made on the first, inside the event loop).
        self._eager: eager.Eager | None = None
        # Requests that had to wait, session removals and receipt-index writes in flight (held
        # so the tasks are not collected, and waited for on shutdown).
        self._tasks: set[asyncio.Task[None]] = set()
        self._events = WsEvents(
            EventEmitter(publisher.producer),
            BeforeEvents(channels, settings.callback_addr),
            stores,
            history,
            TailReader(redis),
            auth,
        )
        archive = Archive(history)
        self._ops = WsOps(
            stores,
            history,
            archive,
            TailReader(redis),
            publisher,
            registry,
            channels,
            self._receipts,
            self._events,
            LiveRecent(redis),
        )
        self._reports = Reports(stores, archive, limiter, redis)
        self._push_ops = PushOps(stores, redis)

    @property
    def sockets(self) -> int:
        return len(self._sockets)

    # --- connections ----------------------------------------------------------------------

    def listener(self, request: WSUpgradeRequest) -> Connection | WSUpgradeResponseWithListener:
        """picows' listener factory. The protocol version is the path: /v1, and the encoding a
        query parameter. Anything else is refused before the upgrade."""
        path = request.path.decode("latin-1")
        if path.split("?", 1)[0].rstrip("/") not in frames.PATHS:
            return _refuse(HTTPStatus.NOT_FOUND, f"unknown protocol path; use {frames.PATHS[0]}\n")
        encoding = frames_proto.encoding_of(path)
        if encoding is None:
            return _refuse(
                HTTPStatus.BAD_REQUEST, f"encoding must be one of {frames_proto.ENCODINGS}\n"
            )
        settings = self._settings
        return Connection(
            self,
            PROTO if encoding == frames_proto.PROTO else JSON,
            settings.ws_outbox_max_bytes,
            FrameBudget(settings.ws_max_frames_per_s, settings.ws_frame_burst),
        )

    def connected(self, conn: Connection) -> None:
        self._sockets.add(conn)

    def received(self, conn: Connection, payload: bytes) -> None:
        """A whole message from the client: handled now as far as it goes without waiting,
        or queued behind the request in flight."""
        if not conn.budget.take():
            self._cut_off_flood(conn)
            return
        pending = conn.pending
        if pending is not None:
            pending.append(payload)
            if len(pending) >= MAX_PENDING:
                conn.pause_reading()
            return
        if self._eager is None:
            self._eager = eager.Eager()
        try:
            task = self._eager.run(self._serve(conn, payload))
        except Exception:
            log.exception("ws request failed")
            return
        if task is not None:
            # It waits: what the client sends meanwhile waits behind it.
            conn.pending = deque()
            conn.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: Connection, payload: bytes) -> None:
        """One request; if it had to wait, then those that came meanwhile, one after the other
        (the task ends when none is left)."""
        try:
            await self._request(conn, payload)
            pending = conn.pending
            while pending and not conn.closing:
                payload = pending.popleft()
                if len(pending) < MAX_PENDING // 2:
                    conn.resume_reading()
                await self._request(conn, payload)
        finally:
            if conn.pending is not None:
                conn.pending = None
                conn.task = None
                conn.resume_reading()
                if conn.gone:
                    self._end(conn)

    def gone(self, conn: Connection) -> None:
        self._sockets.discard(conn)
        # A request in flight finishes first (a login registers the session): its task ends it.
        if conn.task is None:
            self._end(conn)

    def _end(self, conn: Connection) -> None:
        if not conn.logged_in or conn.logged_out:
            return
        conn.logged_out = True
        self._local.remove(conn)
        self._events.closed(conn)
        ended = tracing.session_end(tracing.who_of(conn), conn.conn_id, tracing.closing_of(conn))
        if ended is not None:
            tracing.emit(ended)
        CONNECTIONS.labels(self._settings.node_id).dec()
        self._spawn(self._unregister(conn))

    async def _unregister(self, conn: Connection) -> None:
        try:
            await self._registry.remove(conn.sdkappid, conn.user, conn.conn_id)
        except Exception as exc:  # noqa: BLE001 - the entry expires by itself
            log.warning("session removal failed", error=str(exc))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def keepalive(self) -> None:
        """One sweep for every socket, instead of a timer or task per connection."""
        while True:
            await asyncio.sleep(PING_INTERVAL_S)
            self.ping_quiet()

    def ping_quiet(self) -> None:
        """Ping each socket that sent nothing since the last sweep; close each that sent
        nothing, not even the pong, since the sweep before."""
        for conn in list(self._sockets):
            conn.quiet += 1
            if conn.closing:
                continue
            if conn.quiet == 1:
                conn.transport.send_ping()
            else:
                conn.close(KEEPALIVE_CLOSE, "keepalive ping timeout")

    async def close_all(self) -> None:
        """Close every socket (1001), wait for the clients to go (at most CLOSE_FLUSH_S and a
        little), then for the requests and session removals in flight."""
        for conn in list(self._sockets):
            conn.close(GOING_AWAY_CLOSE, "server shutting down")
        deadline = time.monotonic() + CLOSE_FLUSH_S + 1
        while self._sockets and time.monotonic() < deadline:  # noqa: ASYNC110 - polled briefly
            await asyncio.sleep(0.05)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self._settings.send_timeout_s)
        if self._eager is not None:
            self._eager.close()

    # --- requests -------------------------------------------------------------------------

    async def _request(self, conn: Connection, payload: bytes) -> None:
        request_id: Any = None
        reply: dict[str, Any] | None
        try:
            max_bytes = self._settings.ws_max_frame_bytes
            frame = (
                frames_proto.decode_frame(payload, max_bytes)
                if conn.encoding is PROTO
                else frames.parse_frame(payload, max_bytes)
            )
            request_id = frame.get("id")
            op = frame["op"]
            if op == "ping":
                reply = {"op": "pong", "id": request_id}
            elif op == "send" and conn.logged_in:
                # A refusal is traced here, the router's outcome in _send's on_done.
                await tracing.traced(
                    self._send(conn, frame, request_id),
                    partial(tracing.ws_send_refused, tracing.who_of(conn), frame),
                    ErrorCode.MSG_INTERNAL,
                    success=False,
                )
                reply = None
            elif op == "login":
                if conn.logged_in:
                    raise TidingsError(ErrorCode.WS_BAD_FRAME, "already logged in")
                try:
                    await tracing.traced(
                        self._login(conn, frame),
                        partial(tracing.ws_login, conn, frame),
                        ErrorCode.MSG_INTERNAL,
                    )
                except TidingsError:
                    conn.failed_logins += 1
                    if conn.failed_logins >= MAX_LOGIN_ATTEMPTS:
                        conn.reply(
                            frames.error_frame(
                                request_id, ErrorCode.WS_NOT_LOGGED_IN, "too many failed logins"
                            )
                        )
                        conn.close(4401, "too many failed logins")
                        return
                    raise
                reply = {
                    "op": "login",
                    "id": request_id,
                    "code": 0,
                    "conn_id": conn.conn_id,
                    "server_time": int(time.time() * 1000),
                    "v": frames.PROTOCOL_VERSION,
                }
            elif not conn.logged_in:
                raise TidingsError(ErrorCode.WS_NOT_LOGGED_IN)
            elif op == "sync":
                reply = await self._sync(conn, frame, request_id)
            elif op == "report":
                reply = await self._reports.report(conn, frame)
                reply["id"] = request_id
            elif op in WsOps.NAMES:
                reply = await self._op(conn, op, frame)
                reply["id"] = request_id
            elif op in PushOps.NAMES:
                reply = await self._push_ops.handle(conn, op, frame)
                reply["id"] = request_id
            else:
                raise TidingsError(ErrorCode.WS_UNKNOWN_OP, f"unknown op {op!r}")
        except TidingsError as err:
            reply = frames.error_frame(request_id, err.code, err.info)
        except Exception:
            log.exception("ws request failed", request_id=request_id)
            reply = frames.error_frame(request_id, ErrorCode.MSG_INTERNAL, "internal error")
        if reply is not None:
            conn.reply(reply)

    def _cut_off_flood(self, conn: Connection) -> None:
        """Tell a client over its frame rate why, and disconnect it."""
        per_s, burst = self._settings.ws_max_frames_per_s, self._settings.ws_frame_burst
        log.warning(
            "ws frame rate exceeded",
            app=conn.sdkappid or None,
            user=conn.user or None,
        )
        conn.close_after(
            frames.error_frame(
                None,
                ErrorCode.WS_FRAME_RATE,
                f"more than {per_s:g} frames a second (bursts of {burst}); reconnect and slow down",
            ),
            FRAME_RATE_CLOSE,
            "frame rate",
        )

    async def _op(self, conn: Connection, op: str, frame: dict[str, Any]) -> dict[str, Any]:
        if op == "recall":
            return await tracing.traced(
                self._ops.recall(conn, await self._auth.app(conn.sdkappid), frame),
                partial(tracing.ws_recall, tracing.who_of(conn), frame),
                ErrorCode.MSG_INTERNAL,
            )
        if op == "conversations":
            return await self._ops.conversations(conn, await self._auth.app(conn.sdkappid), frame)
        if op == "delete_conversation":
            app = await self._auth.app(conn.sdkappid)
            return await self._ops.delete_conversation(conn, app, frame)
        if op == "read":
            return await self._ops.read(conn, frame)
        if op == "read_members":
            return await self._ops.read_members(conn, frame)
        if op == "join_group":
            return await self._ops.join_group(conn, await self._auth.app(conn.sdkappid), frame)
        if op == "quit_group":
            return await self._ops.quit_group(conn, frame)
        return await self._ops.presence(conn, await self._auth.app(conn.sdkappid), frame)

    async def _login(self, conn: Connection, frame: dict[str, Any]) -> None:
        sdkappid, identifier, sig, platform = frames.parse_login(frame)
        app = await self._auth.verify(sdkappid, identifier, sig, current=True)
        if not self._auth.is_admin(app, identifier) and await self._auth.missing_accounts(
            sdkappid, [identifier]
        ):
            raise TidingsError(ErrorCode.ACCOUNT_NOT_IMPORTED)
        (existing,) = await self._registry.lookup([(sdkappid, identifier)])
        evicted = sessions_to_kick(
            policy_from_settings(app.settings),
            [Session(cid, s.platform, s.login_ms) for cid, s in existing.items()],
            platform,
        )
        conn_id = uuid.uuid4().hex
        await self._registry.add(
            sdkappid,
            identifier,
            conn_id,
            self._node_addr,
            platform,
            login_ms=int(time.time() * 1000),
        )
        # Only once registered: a login that fails leaves no connection here for the presence
        # index to keep listing (nothing would log it out).
        conn.log_in(sdkappid, identifier, platform, conn_id)
        self._local.add(conn)
        CONNECTIONS.labels(self._settings.node_id).inc()
        await self._local.announced(conn)
        self._events.login(conn, [existing[cid].platform for cid in evicted])
        if evicted:
            await kick_connections(
                self._channels,
                sdkappid,
                identifier,
                existing,
                ErrorCode.KICKED_OFFLINE,
                f"logged in on another device ({platform})",
                only=evicted,
            )

    async def _send(self, conn: Connection, frame: dict[str, Any], request_id: Any) -> None:
        if not self._publisher.accepting:
            raise TidingsError(ErrorCode.REST_TIMEOUT, "gateway is draining; reconnect and retry")
        inbound = frames.parse_send(
            frame, conn.sdkappid, conn.user, conn.platform, self._settings.max_body_bytes
        )
        app = await self._auth.app(conn.sdkappid)
        # Answered from this gateway's memory: its throttle buckets and its directory cache.
        group = await check_send(self._auth.rules, app, inbound)
        tracks_receipts = False
        group_type = ""
        if group is not None:
            group_type = group.group_type
            if inbound.need_read_receipt:
                count = await self._stores.groups.count_members(conn.sdkappid, group.group_id)
                refusal = receipt_refusal(app.settings, group, count)
                if refusal is not None:
                    raise refusal
                tracks_receipts = True
        received_ms = inbound.received_at_ms

        def on_done(outcome: Outcome) -> None:
            tracing.emit(
                tracing.send(
                    tracing.who_of(conn),
                    peer=inbound.to_user,
                    group_id=inbound.group_id,
                    code=outcome.error_code,
                    description=outcome.error_info or f"MsgKey {outcome.msg_key}",
                    request_id=inbound.client_msg_id,
                    latency_ms=max(0, int(time.time() * 1000) - received_ms),
                    group_type=group_type,
                )
            )
            if outcome.error_code:
                conn.reply(frames.error_frame(request_id, outcome.error_code, outcome.error_info))
                return
            STAGE_LATENCY.labels("ack").observe(max(0.0, time.time() * 1000 - received_ms) / 1000)
            if tracks_receipts:
                self._track_receipt(conn.sdkappid, inbound.group_id, outcome.seq, conn.user)
            conn.reply(
                {
                    "op": "ack",
                    "id": request_id,
                    "code": 0,
                    "seq": outcome.seq,
                    "msg_key": outcome.msg_key,
                    "time": outcome.server_time_ms,
                    "conversation": outcome.conversation,
                    "duplicate": outcome.duplicate,
                }
            )

        await self._publisher.submit(inbound, on_done, conn_id=conn.conn_id)

    async def _sync(
        self, conn: Connection, frame: dict[str, Any], request_id: Any
    ) -> dict[str, Any]:
        conv, group_id, after_seq, limit = frames.parse_sync(frame, conn.user)
        visible_from_ms = 0
        if group_id is not None:
            found = await self._stores.groups.get_members(conn.sdkappid, group_id, [conn.user])
            if conn.user not in found:
                raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
            group = await self._stores.groups.get_group(conn.sdkappid, group_id)
            settings = (await self._auth.app(conn.sdkappid)).settings
            if group is not None and not sees_history_before_join(settings, group.group_type):
                visible_from_ms = found[conn.user].join_time * 1000
        reply = await self._history.Sync(
            history_pb2.SyncRequest(
                sdkappid=conn.sdkappid, conversation=conv, after_seq=after_seq, limit=limit
            ),
            timeout=10.0,
        )
        # What the user deleted for itself, or a clear_group_msg reached, comes as deleted.
        deletions = self._stores.msg_deletions
        hidden = await deletions.hidden(conn.sdkappid, conn.user, conv)
        cleared = 0 if group_id is None else await deletions.group_cleared(conn.sdkappid, group_id)
        return {
            "op": "sync",
            "id": request_id,
            "code": 0,
            "conversation": conv,
            "messages": [
                message_json(as_seen_by(m, hidden, cleared))
                for m in reply.messages
                if m.server_time_ms >= visible_from_ms
            ],
            "complete": reply.complete,
        }

    def _track_receipt(self, sdkappid: int, group_id: str, seq: int, sender: str) -> None:
        """Index a group message that asked for receipts, off the ack path."""

        async def track() -> None:
            try:
                await self._receipts.track(sdkappid, group_id, seq, sender)
            except Exception as exc:  # noqa: BLE001 - the message stands; its receipt is lost
                log.warning("receipt tracking failed", group=group_id, seq=seq, error=str(exc))

        self._spawn(track())


def _refuse(status: HTTPStatus, body: str) -> WSUpgradeResponseWithListener:
    return WSUpgradeResponseWithListener(
        WSUpgradeResponse.create_error_response(status, body.encode()), None
    )


class PicowsLog:
    """picows' logger: its warnings and errors through the gateway's log (whose repeat limit
    keeps a client that repeats a bad frame from filling the disk); its per-connection info
    and debug lines dropped. Not a logging.Logger on purpose: picows makes a child Logger for
    each connection of a server given one."""

    _log = get_logger("picows")

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        if level >= logging.WARNING:
            self._log.warning(msg, detail=_args(args))

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log.warning(msg, detail=_args(args))

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log.error(msg, detail=_args(args))

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log.error(msg, detail=_args(args), exc_info=True)


def _args(args: tuple[Any, ...]) -> str:
    return ", ".join(str(a)[:200] for a in args)


async def serve(
    endpoint: WsEndpoint, settings: Settings, reuse_port: bool = False
) -> asyncio.Server:
    """The WebSocket server on `settings.ws_port`; with `reuse_port`, shared with the other
    workers of the gateway (SO_REUSEPORT: the kernel spreads the connections)."""
    return await ws_create_server(
        endpoint.listener,
        settings.bind_host,
        settings.ws_port,
        websocket_handshake_timeout=10,
        # One sweep pings every quiet socket (WsEndpoint.keepalive): picows' auto-ping would
        # run a task per connection.
        enable_auto_ping=False,
        enable_auto_pong=True,
        max_frame_size=MAX_MESSAGE_BYTES,
        # picows' least (2 KiB); it grows for a larger frame.
        read_buffer_init_size=0,
        # uvloop's own transports: 5 KiB less per idle connection than aiofastnet's, at the
        # same CPU per frame (tests/bench/ws_server.py).
        use_aiofastnet=False,
        logger_name=PicowsLog(),  # type: ignore[arg-type]
        reuse_port=reuse_port or None,
        backlog=BACKLOG,
    )
