"""GatewayService: the router delivers messages and reports outcomes here."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import grpc
import orjson

from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.sessions import LocalSessions

# The field names and punctuation of a message's JSON (message_json) beyond its protobuf bytes.
MESSAGE_JSON_OVERHEAD = 256


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    def __init__(self, local: LocalSessions, publisher: Publisher) -> None:
        self._local = local
        self._publisher = publisher
        # Kicked connections still flushing and closing (held so the tasks are not collected).
        self._closing: set[asyncio.Task[None]] = set()

    async def Deliver(
        self, request: gateway_pb2.DeliverRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.DeliverReply:
        missed = 0
        delivered: Counter[int] = Counter()
        # Fan-out sends a group message once per member: encode it once, and count metrics
        # per app rather than per delivery (labels() costs more than the delivery itself).
        # Each also gets its size for the outbox limit: its protobuf bytes, at hand already,
        # plus the JSON field names the client frame adds.
        encoded: dict[bytes, tuple[dict[str, Any], int]] = {}
        latency = STAGE_LATENCY.labels("deliver")
        now_ms = time.time() * 1000
        for d in request.deliveries:
            conns = [
                c for c in self._local.of(d.sdkappid, d.user) if c.conn_id not in d.skip_conn_ids
            ]
            if not conns:
                missed += 1
                continue
            m = d.message
            key = m.SerializeToString(deterministic=True)
            found = encoded.get(key)
            if found is None:
                found = encoded[key] = (message_json(m), len(key) + MESSAGE_JSON_OVERHEAD)
                if m.received_at_ms:
                    latency.observe(max(0.0, now_ms - m.received_at_ms) / 1000)
            payload, size = found
            for conn in conns:
                conn.deliver(payload, size)
            delivered[d.sdkappid] += 1
        for sdkappid, count in delivered.items():
            STAGE_MESSAGES.labels("deliver", str(sdkappid), "ok").inc(count)
        return gateway_pb2.DeliverReply(delivered=delivered.total(), missed=missed)

    async def Complete(
        self, request: gateway_pb2.CompleteRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.CompleteReply:
        return gateway_pb2.CompleteReply(matched=self._publisher.complete(list(request.outcomes)))

    async def Notify(
        self, request: gateway_pb2.NotifyRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.NotifyReply:
        delivered = 0
        for n in request.notices:
            conns = [
                c for c in self._local.of(n.sdkappid, n.user) if c.conn_id not in n.skip_conn_ids
            ]
            if conns:
                frame = orjson.loads(n.frame_json)
                for conn in conns:
                    conn.notify(frame)
                delivered += 1
        return gateway_pb2.NotifyReply(delivered=delivered)

    async def Kick(
        self, request: gateway_pb2.KickRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.KickReply:
        conns = [
            c
            for c in self._local.of(request.sdkappid, request.user)
            if not request.conn_ids or c.conn_id in request.conn_ids
        ]
        frame = {
            "op": "kicked",
            "code": request.reason_code,
            "message": request.reason or "kicked by the app admin",
        }
        # Each client gets its "kicked" frame before its socket closes. The reply does not wait
        # for that: a client that does not read must not hold up the caller.
        for conn in conns:
            task = asyncio.get_running_loop().create_task(
                conn.close_after(frame, 4000 + (request.reason_code % 1000), "kicked")
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return gateway_pb2.KickReply(kicked=len(conns))
