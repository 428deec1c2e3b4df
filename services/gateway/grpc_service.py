"""GatewayService: the router delivers messages and reports outcomes here."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import grpc
import orjson

from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.sessions import Encoding, LocalSessions, Prepared


class Target(Protocol):
    """What routing needs of a connection (sessions.Connection)."""

    @property
    def conn_id(self) -> str: ...

    @property
    def encoding(self) -> Encoding: ...


C = TypeVar("C", bound=Target)


@dataclass(slots=True)
class Routed:
    """Who gets what of one Deliver call."""

    # Each connection, with the indexes of the messages it gets, in order.
    per_conn: dict[Any, list[int]] = field(default_factory=dict)
    # (user, message) with no connection here but the skipped ones.
    missed: int = 0
    # (user, message) that reached a connection, per app.
    delivered: Counter[int] = field(default_factory=Counter)


def route(
    deliveries: Sequence[gateway_pb2.Delivery],
    connections: Callable[[int, str], Collection[C]],
) -> Routed:
    """Each local connection of each recipient, with the messages it gets; the sender's own
    connection skipped. Pure: `connections` is the node's table."""
    out = Routed()
    per_conn = out.per_conn
    for i, d in enumerate(deliveries):
        skip = frozenset(d.skip_conn_ids)
        sdkappid = d.sdkappid
        reached = 0
        for user in d.users:
            hit = False
            for conn in connections(sdkappid, user):
                if skip and conn.conn_id in skip:
                    continue
                got = per_conn.get(conn)
                if got is None:
                    per_conn[conn] = [i]
                else:
                    got.append(i)
                hit = True
            reached += hit
        out.missed += len(d.users) - reached
        if reached:
            out.delivered[sdkappid] += reached
    return out


@dataclass(slots=True)
class Shared:
    """One `msg` frame encoded once, and the connections that are sent those same bytes."""

    frame: Prepared
    count: int
    conns: list[Any]


def share(
    per_conn: dict[C, list[int]], payloads: Sequence[dict[str, Any]]
) -> tuple[list[Shared], list[tuple[C, list[int]]]]:
    """Connections grouped by (the messages they get, their encoding). A group of two or more
    gets one frame, encoded once; a connection alone with its messages gets a frame of its
    own (encoded by it)."""
    groups: dict[tuple[tuple[int, ...], Encoding], list[C]] = {}
    for conn, indexes in per_conn.items():
        key = (tuple(indexes), conn.encoding)
        found = groups.get(key)
        if found is None:
            groups[key] = [conn]
        else:
            found.append(conn)
    shared: list[Shared] = []
    alone: list[tuple[C, list[int]]] = []
    for (kept, encoding), conns in groups.items():
        if len(conns) == 1:
            alone.append((conns[0], list(kept)))
            continue
        frame = Prepared.of(encoding, {"op": "msg", "msgs": [payloads[i] for i in kept]})
        shared.append(Shared(frame, len(kept), conns))
    return shared, alone


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    def __init__(self, local: LocalSessions, publisher: Publisher) -> None:
        self._local = local
        self._publisher = publisher

    async def Deliver(
        self, request: gateway_pb2.DeliverRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.DeliverReply:
        """Each message of the batch once: decoded once, its client JSON built once; a frame
        that many connections get is encoded once and the same bytes written to each socket,
        a connection alone with its messages gets them in one frame. Written at once: nothing
        waits for a client. Metrics are counted per app, once per call (labels() costs more
        than a delivery)."""
        deliveries = request.messages
        routed = route(deliveries, self._local.connections)
        if routed.per_conn:
            latency = STAGE_LATENCY.labels("deliver")
            now_ms = time.time() * 1000
            payloads: list[dict[str, Any]] = []
            for d in deliveries:
                m = Message.FromString(d.message)
                payloads.append(message_json(m))
                if m.received_at_ms:
                    latency.observe(max(0.0, now_ms - m.received_at_ms) / 1000)
            shared, alone = share(routed.per_conn, payloads)
            for s in shared:
                frame = s.frame
                for conn in s.conns:
                    conn.deliver_frame(frame)
            for conn, indexes in alone:
                conn.deliver([payloads[i] for i in indexes])
        for sdkappid, count in routed.delivered.items():
            STAGE_MESSAGES.labels("deliver", str(sdkappid), "ok").inc(count)
        return gateway_pb2.DeliverReply(delivered=routed.delivered.total(), missed=routed.missed)

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
        # Each client gets its "kicked" frame, then the close frame. Nothing waits for the client
        # to take them: one that does not read is dropped after sessions.CLOSE_FLUSH_S.
        for conn in conns:
            conn.close_after(frame, 4000 + (request.reason_code % 1000), "kicked")
        return gateway_pb2.KickReply(kicked=len(conns))
