"""im.trace: the key events of an app, for the troubleshooting event log ("why did this user's
message fail?"), real-time monitoring and statistics.

Each service traces what it sees, where it sees it:
- the gateway: login, logout, disconnect, kick, and the outcome of every c2c_send, group_send
  and recall it answers (WebSocket and REST alike), with the code the client was given;
- the callback service: each callback to an app server (`callback`, the command in `detail`);
- the push service: each push job (`push`, the vendor or the reason nothing went out).

Tracing never holds up what it traces: `Tracer.trace` hands the record to the producer's
batching in the background and returns; a record that cannot be produced is counted
(`tidings_stage_messages_total{stage="trace",outcome="lost"}`) and the action stands. The audit
service consumes the topic (keyed `app:user`, so one user's events stay in order).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from aiokafka import AIOKafkaProducer

from services.common import keys, topics
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent

log = get_logger(__name__)

SCHEMA_VERSION = 1

LOGIN: Final = "login"
LOGOUT: Final = "logout"
DISCONNECT: Final = "disconnect"
KICK: Final = "kick"
C2C_SEND: Final = "c2c_send"
GROUP_SEND: Final = "group_send"
RECALL: Final = "recall"
CALLBACK: Final = "callback"
PUSH: Final = "push"
KINDS: tuple[str, ...] = (
    LOGIN,
    LOGOUT,
    DISCONNECT,
    KICK,
    C2C_SEND,
    GROUP_SEND,
    RECALL,
    CALLBACK,
    PUSH,
)


def trace_key(sdkappid: int, user: str) -> bytes:
    return keys.join("trace", str(sdkappid), user).encode()


def new_trace(
    sdkappid: int,
    event: str,
    user: str,
    *,
    code: int = 0,
    description: str = "",
    peer: str = "",
    group_id: str = "",
    request_id: str = "",
    platform: str = "",
    client_ip: str = "",
    latency_ms: int = 0,
    detail: str = "",
    time_ms: int | None = None,
) -> TraceEvent:
    if event not in KINDS:
        raise ValueError(f"{event!r} is not a trace event; one of {', '.join(KINDS)}")
    return TraceEvent(
        schema_version=SCHEMA_VERSION,
        sdkappid=sdkappid,
        time_ms=int(time.time() * 1000) if time_ms is None else time_ms,
        event=event,
        user=user,
        peer=peer,
        group_id=group_id,
        code=code,
        description=description,
        request_id=request_id,
        platform=platform,
        client_ip=client_ip,
        latency_ms=latency_ms,
        detail=detail,
    )


class Tracer:
    """Produces trace records in the background: the caller never waits for the broker."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._pending: set[asyncio.Task[None]] = set()

    def trace(self, event: TraceEvent) -> None:
        task = asyncio.get_running_loop().create_task(self._produce(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _produce(self, event: TraceEvent) -> None:
        try:
            # Awaits the record's place in the producer's batch, not the broker's answer.
            await self._producer.send(
                topics.TRACE.name,
                value=event.SerializeToString(),
                key=trace_key(event.sdkappid, event.user),
            )
        except Exception as exc:  # noqa: BLE001 - tracing never fails the traced action
            STAGE_MESSAGES.labels("trace", str(event.sdkappid), "lost").inc()
            log.warning("trace_lost", app=event.sdkappid, error=str(exc))

    async def drain(self) -> None:
        """Wait for the records handed over so far (at a service's stop)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
