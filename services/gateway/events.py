"""Put the facts of services/common/events.py on im.events, after the store write that made
them true.

The action has happened by then, so a failed produce does not fail it: it is logged and
counted (the callback it would have caused is lost, which Tencent's own after-callbacks also
allow). Calls from the WebSocket path do not wait for the broker (`emit_soon`).

Before it is produced, an event is applied in this process (`observe_local`: the gateway's
directory drops what it cached about the change), so the request that made the change answers
only once this node's next send sees it; other gateways see it when their feed reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer

from services.common import events, topics
from services.common.bus import send_all
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import Event

if TYPE_CHECKING:
    # Only a type here: rest_v4 imports this module.
    from services.gateway.rest_v4.context import RestContext

log = get_logger(__name__)

REST_PLATFORM = "RESTAPI"
# WebSocket close codes: a client's own logout, and the code a kicked session is closed with
# (grpc_service.Kick: 4000 + the kick's error code mod 1000).
NORMAL_CLOSURE = 1000
KICKED_CLOSURE = 4000 + int(ErrorCode.KICKED_OFFLINE) % 1000

# What this process does with its own events before producing them (the directory's
# invalidation); registered once at start-up (gateway main).
_local_observers: list[Callable[[Event], object]] = []


def observe_local(observer: Callable[[Event], object]) -> None:
    _local_observers.append(observer)


def _apply_locally(event: Event) -> None:
    for observer in _local_observers:
        try:
            observer(event)
        except Exception:  # the action stands; the observer's own max age applies
            log.exception("local event observer failed", kind=event.kind)


def state_payload(
    user: str, action: str, reason: str, kicked_platforms: Sequence[str] = ()
) -> dict[str, Any]:
    """State.StateChange's Info, and KickedDevice when a login pushed other devices out."""
    payload: dict[str, Any] = {"Info": {"Action": action, "To_Account": user, "Reason": reason}}
    if kicked_platforms:
        payload["KickedDevice"] = [{"Platform": p} for p in kicked_platforms]
    return payload


def closed_state(close_code: int | None) -> tuple[str, str] | None:
    """The Action and Reason of a closed session: the client's own close is a Logout, anything
    else (a dropped link, a dead client, a server going away) a Disconnect. A kicked session has
    none: as in Tencent's current SDKs, the login that kicked it reports it in KickedDevice."""
    if close_code == NORMAL_CLOSURE:
        return events.STATE_LOGOUT, events.REASON_UNREGISTER
    if close_code == KICKED_CLOSURE:
        return None
    return events.STATE_DISCONNECT, events.REASON_LINK_CLOSE


class EventEmitter:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._pending: set[asyncio.Task[None]] = set()

    async def emit(
        self,
        sdkappid: int,
        kind: str,
        entity: str,
        payload: Mapping[str, Any],
        *,
        client_ip: str = "",
        platform: str = REST_PLATFORM,
    ) -> None:
        event = events.new_event(sdkappid, kind, payload, client_ip=client_ip, platform=platform)
        _apply_locally(event)
        await self._produce(event, entity)

    def emit_soon(
        self,
        sdkappid: int,
        kind: str,
        entity: str,
        payload: Mapping[str, Any],
        *,
        client_ip: str = "",
        platform: str = "",
    ) -> None:
        event = events.new_event(sdkappid, kind, payload, client_ip=client_ip, platform=platform)
        _apply_locally(event)
        task = asyncio.get_running_loop().create_task(self._produce(event, entity))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _produce(self, event: Event, entity: str) -> None:
        sdkappid, kind = event.sdkappid, event.kind
        try:
            await send_all(
                self._producer,
                topics.EVENTS.name,
                [(events.event_key(sdkappid, entity), event.SerializeToString())],
            )
        except Exception as exc:  # noqa: BLE001 - the action is done; see the module doc
            STAGE_MESSAGES.labels("event", str(sdkappid), "lost").inc()
            log.error("event not produced", app=sdkappid, kind=kind, error=str(exc))
            return
        STAGE_MESSAGES.labels("event", str(sdkappid), "produced").inc()


async def emit_rest(ctx: RestContext, kind: str, entity: str, payload: Mapping[str, Any]) -> None:
    """An event of a REST v4 command: OptPlatform RESTAPI, ClientIP the caller's."""
    await EventEmitter(ctx.deps.producer).emit(
        ctx.app.sdkappid, kind, entity, payload, client_ip=ctx.client_ip
    )
