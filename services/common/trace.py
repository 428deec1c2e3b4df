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

`code` is 0 for success, else what the client or app server was given (Tencent's error codes),
except for these events, whose outcome is not an error code:

| event      | code                                                                          |
|------------|-------------------------------------------------------------------------------|
| disconnect | the WebSocket close code (1006: the link dropped without a close frame)       |
| callback   | 0 a 2xx answer; the HTTP status of any other answer; -1 no answer in time     |
|            | (CALLBACK_TIMEOUT); -2 cannot connect, resolve or talk HTTP                   |
|            | (CALLBACK_UNREACHABLE); -3 the address is not allowed (CALLBACK_ADDRESS);     |
|            | -4 the answer is too large (CALLBACK_TOO_LARGE). One record per HTTP try.     |
| push       | 0 at least one device got it; 1 nothing to push (PUSH_SKIPPED: why in         |
|            | description); 2 a vendor refused or ran out of tries (PUSH_FAILED); 3 every   |
|            | token was invalid (PUSH_TOKEN_INVALID); 4 no vendor credentials               |
|            | (PUSH_NO_CREDENTIALS). The first that applies of 0, 2, 3, 4, 1.               |
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Final

from services.common import keys, topics
from services.common.bus import BatchProducer
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent

log = get_logger(__name__)

SCHEMA_VERSION = 1
# How long a traced record waits for others to share its request to the broker.
LINGER_S = 0.05

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

# The codes of callback and push records (the table above).
CALLBACK_TIMEOUT: Final = -1
CALLBACK_UNREACHABLE: Final = -2
CALLBACK_ADDRESS: Final = -3
CALLBACK_TOO_LARGE: Final = -4
PUSH_SKIPPED: Final = 1
PUSH_FAILED: Final = 2
PUSH_TOKEN_INVALID: Final = 3
PUSH_NO_CREDENTIALS: Final = 4

# A record's ids and texts are cut to these lengths: a client's bad frame cannot make a large
# record.
MAX_ID_CHARS = 128
MAX_TEXT_CHARS = 512


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """Produces trace records in the background, batched: the caller never waits for the
    broker, and records traced within LINGER_S of each other go out as one record batch per
    partition (a record each would cost the broker a request each)."""

    def __init__(self, producer: BatchProducer, linger_s: float = LINGER_S) -> None:
        self._producer = producer
        self._linger_s = linger_s
        self._buffer: list[tuple[int, bytes, bytes]] = []
        self._flush: asyncio.Task[None] | None = None

    def trace(self, event: TraceEvent) -> None:
        self._buffer.append(
            (event.sdkappid, trace_key(event.sdkappid, event.user), event.SerializeToString())
        )
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._flush_after_linger())

    async def _flush_after_linger(self) -> None:
        await asyncio.sleep(self._linger_s)
        await self._send_buffer()

    async def _send_buffer(self) -> None:
        records, self._buffer, self._flush = self._buffer, [], None
        if not records:
            return
        try:
            futures = await self._producer.send(topics.TRACE.name, [(k, v) for _, k, v in records])
            await asyncio.gather(*futures)
        except Exception as exc:  # noqa: BLE001 - tracing never fails the traced action
            for sdkappid in {app for app, _, _ in records}:
                STAGE_MESSAGES.labels("trace", str(sdkappid), "lost").inc()
            log.warning("trace_lost", records=len(records), error=str(exc))

    async def drain(self) -> None:
        """Send what is buffered now, and wait for the broker (at a service's stop)."""
        flush = self._flush
        if flush is not None:
            flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flush
        await self._send_buffer()
