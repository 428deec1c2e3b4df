"""The client WebSocket endpoint: login, send, sync, ping and the other ops. Every bad input
gets an error frame with a code, and the connection (and every other) keeps being served.

The encoding is chosen at connect (`/v1?encoding=proto` for protobuf binary frames, JSON
otherwise); frames of both decode to the same dict, so every op has one code path."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from services.common.config import Settings
from services.common.errors import ErrorCode, TidingsError
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.metrics import CONNECTIONS, STAGE_LATENCY
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.recent import TailReader
from services.common.redis_state import SessionRegistry
from services.common.store.ports import Stores
from services.gateway import frames, frames_proto
from services.gateway.archive import Archive
from services.gateway.auth import Authenticator
from services.gateway.before_events import BeforeEvents
from services.gateway.events import EventEmitter
from services.gateway.frame_budget import FrameBudget
from services.gateway.kicks import kick_connections
from services.gateway.login_modes import Session, policy_from_settings, sessions_to_kick
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.ratelimit import RateLimiter
from services.gateway.receipts import GroupReceipts, receipt_refusal
from services.gateway.reports import Reports
from services.gateway.sessions import (
    CLOSE_FLUSH_S,
    Connection,
    LocalSessions,
    close_within,
    json_text,
)
from services.gateway.ws_events import WsEvents
from services.gateway.ws_ops import WsOps, sees_history_before_join

log = get_logger(__name__)

MAX_LOGIN_ATTEMPTS = 3
# Policy violation: the client broke the frame rate (error frame 4430 says so first).
FRAME_RATE_CLOSE = 1008


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
        # Receipt-index writes in flight (held so the tasks are not collected).
        self._tracking: set[asyncio.Task[None]] = set()
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
        )
        self._reports = Reports(stores, archive, limiter, redis)

    @staticmethod
    def check_path(ws: ServerConnection, request: Request) -> Response | None:
        """The protocol version is the path: /v1, and the encoding a query parameter. Anything
        else is refused before the upgrade."""
        if request.path.split("?", 1)[0].rstrip("/") not in frames.PATHS:
            return ws.respond(
                HTTPStatus.NOT_FOUND, f"unknown protocol path; use {frames.PATHS[0]}\n"
            )
        if frames_proto.encoding_of(request.path) is None:
            return ws.respond(
                HTTPStatus.BAD_REQUEST, f"encoding must be one of {frames_proto.ENCODINGS}\n"
            )
        return None

    async def handle(self, ws: ServerConnection) -> None:
        conn: Connection | None = None
        writer: asyncio.Task[None] | None = None
        failed_logins = 0
        proto = ws.request is not None and (
            frames_proto.encoding_of(ws.request.path) == frames_proto.PROTO
        )
        encode = frames_proto.encode_frame if proto else json_text
        max_bytes = self._settings.ws_max_frame_bytes
        budget = FrameBudget(self._settings.ws_max_frames_per_s, self._settings.ws_frame_burst)
        try:
            async for raw in ws:
                if not budget.take():
                    await self._cut_off_flood(ws, conn, encode)
                    return
                request_id: Any = None
                try:
                    frame = (
                        frames_proto.decode_frame(
                            raw if isinstance(raw, bytes) else raw.encode(), max_bytes
                        )
                        if proto
                        else frames.parse_frame(raw, max_bytes)
                    )
                    request_id = frame.get("id")
                    op = frame["op"]
                    if op == "ping":
                        reply: dict[str, Any] | None = {"op": "pong", "id": request_id}
                    elif op == "login":
                        if conn is not None:
                            raise TidingsError(ErrorCode.WS_BAD_FRAME, "already logged in")
                        try:
                            conn = await self._login(ws, frame, encode)
                        except TidingsError:
                            failed_logins += 1
                            if failed_logins >= MAX_LOGIN_ATTEMPTS:
                                await self._send_now(
                                    ws,
                                    encode,
                                    frames.error_frame(
                                        request_id,
                                        ErrorCode.WS_NOT_LOGGED_IN,
                                        "too many failed logins",
                                    ),
                                )
                                await ws.close(4401, "too many failed logins")
                                return
                            raise
                        writer = asyncio.get_running_loop().create_task(conn.write_loop())
                        reply = {
                            "op": "login",
                            "id": request_id,
                            "code": 0,
                            "conn_id": conn.conn_id,
                            "server_time": int(time.time() * 1000),
                            "v": frames.PROTOCOL_VERSION,
                        }
                    elif conn is None:
                        raise TidingsError(ErrorCode.WS_NOT_LOGGED_IN)
                    elif op == "send":
                        await self._send(conn, frame, request_id)
                        reply = None
                    elif op == "sync":
                        reply = await self._sync(conn, frame, request_id)
                    elif op == "report":
                        reply = await self._reports.report(conn, frame)
                        reply["id"] = request_id
                    elif op in WsOps.NAMES:
                        reply = await self._op(conn, op, frame)
                        reply["id"] = request_id
                    else:
                        raise TidingsError(ErrorCode.WS_UNKNOWN_OP, f"unknown op {op!r}")
                except TidingsError as err:
                    reply = frames.error_frame(request_id, err.code, err.info)
                except ConnectionClosed:
                    raise
                except Exception:
                    log.exception("ws request failed", request_id=request_id)
                    reply = frames.error_frame(request_id, ErrorCode.MSG_INTERNAL, "internal error")
                if reply is not None:
                    if conn is not None:
                        conn.reply(reply)
                    else:
                        await self._send_now(ws, encode, reply)
                if conn is not None:
                    await conn.wait_for_room()
        except ConnectionClosed:
            pass
        finally:
            if conn is not None:
                await self._logout(conn)
            if writer is not None:
                writer.cancel()

    async def _cut_off_flood(
        self,
        ws: ServerConnection,
        conn: Connection | None,
        encode: Callable[[dict[str, Any]], str | bytes],
    ) -> None:
        """Tell a client over its frame rate why, and disconnect it."""
        per_s, burst = self._settings.ws_max_frames_per_s, self._settings.ws_frame_burst
        log.warning(
            "ws frame rate exceeded",
            app=conn.sdkappid if conn else None,
            user=conn.user if conn else None,
        )
        frame = frames.error_frame(
            None,
            ErrorCode.WS_FRAME_RATE,
            f"more than {per_s:g} frames a second (bursts of {burst}); reconnect and slow down",
        )
        if conn is not None:
            await conn.close_after(frame, FRAME_RATE_CLOSE, "frame rate")
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._send_now(ws, encode, frame), CLOSE_FLUSH_S)
        await close_within(ws, FRAME_RATE_CLOSE, "frame rate")

    async def _op(self, conn: Connection, op: str, frame: dict[str, Any]) -> dict[str, Any]:
        if op == "recall":
            return await self._ops.recall(conn, await self._auth.app(conn.sdkappid), frame)
        if op == "conversations":
            return await self._ops.conversations(conn, frame)
        if op == "delete_conversation":
            return await self._ops.delete_conversation(conn, frame)
        if op == "read":
            return await self._ops.read(conn, frame)
        if op == "read_members":
            return await self._ops.read_members(conn, frame)
        if op == "join_group":
            return await self._ops.join_group(conn, frame)
        if op == "quit_group":
            return await self._ops.quit_group(conn, frame)
        return await self._ops.presence(conn, frame)

    @staticmethod
    async def _send_now(
        ws: ServerConnection,
        encode: Callable[[dict[str, Any]], str | bytes],
        frame: dict[str, Any],
    ) -> None:
        await ws.send(encode(frame))

    async def _login(
        self,
        ws: ServerConnection,
        frame: dict[str, Any],
        encode: Callable[[dict[str, Any]], str | bytes],
    ) -> Connection:
        sdkappid, identifier, sig, platform = frames.parse_login(frame)
        app = await self._auth.verify(sdkappid, identifier, sig)
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
        conn = Connection(
            ws, sdkappid, identifier, platform, encode, self._settings.ws_outbox_max_bytes
        )
        await self._registry.add(
            sdkappid,
            identifier,
            conn.conn_id,
            self._node_addr,
            platform,
            login_ms=int(time.time() * 1000),
        )
        # Only once registered: a login that fails leaves no connection here for the presence
        # index to keep listing (nothing would log it out).
        self._local.add(conn)
        await self._local.announced(conn)
        CONNECTIONS.labels(self._settings.node_id).inc()
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
        return conn

    async def _logout(self, conn: Connection) -> None:
        self._local.remove(conn)
        self._events.closed(conn)
        CONNECTIONS.labels(self._settings.node_id).dec()
        try:
            await self._registry.remove(conn.sdkappid, conn.user, conn.conn_id)
        except Exception as exc:  # noqa: BLE001 - the entry expires by itself
            log.warning("session removal failed", error=str(exc))

    async def _send(self, conn: Connection, frame: dict[str, Any], request_id: Any) -> None:
        if not self._publisher.accepting:
            raise TidingsError(ErrorCode.REST_TIMEOUT, "gateway is draining; reconnect and retry")
        inbound = frames.parse_send(
            frame, conn.sdkappid, conn.user, conn.platform, self._settings.max_body_bytes
        )
        app = await self._auth.app(conn.sdkappid)
        is_group = bool(inbound.group_id)
        # Answered from this gateway's memory: its throttle buckets and its directory cache.
        rules = self._auth.rules
        rules.throttle(app, conn.user, group=is_group)
        tracks_receipts = False
        if is_group:
            group = await rules.check_group(app, inbound)
            if inbound.need_read_receipt:
                count = await self._stores.groups.count_members(conn.sdkappid, group.group_id)
                refusal = receipt_refusal(group, count)
                if refusal is not None:
                    raise refusal
                tracks_receipts = True
        else:
            await rules.check_c2c(app, inbound)
        received_ms = inbound.received_at_ms

        def on_done(outcome: Outcome) -> None:
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
            if group is not None and not sees_history_before_join(group.group_type):
                visible_from_ms = found[conn.user].join_time * 1000
        reply = await self._history.Sync(
            history_pb2.SyncRequest(
                sdkappid=conn.sdkappid, conversation=conv, after_seq=after_seq, limit=limit
            ),
            timeout=10.0,
        )
        return {
            "op": "sync",
            "id": request_id,
            "code": 0,
            "conversation": conv,
            "messages": [
                message_json(m) for m in reply.messages if m.server_time_ms >= visible_from_ms
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

        task = asyncio.get_running_loop().create_task(track())
        self._tracking.add(task)
        task.add_done_callback(self._tracking.discard)
