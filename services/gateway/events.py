"""Put the facts of services/common/events.py on im.events, after the store write that made
them true.

The action has happened by then, so a failed produce does not fail it: it is logged and
counted (the callback it would have caused is lost, which Tencent's own after-callbacks also
allow). Calls from the WebSocket path do not wait for the broker (`emit_soon`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer

from services.common import events, topics
from services.common.bus import send_all
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES

if TYPE_CHECKING:
    # Only a type here: rest_v4 imports this module.
    from services.gateway.rest_v4.context import RestContext

log = get_logger(__name__)

REST_PLATFORM = "RESTAPI"
# WebSocket close codes: a client's own logout, and the code a kicked session is closed with
# (grpc_service.Kick: 4000 + the kick's error code mod 1000).
NORMAL_CLOSURE = 1000
KICKED_CLOSURE = 4000 + int(ErrorCode.KICKED_OFFLINE) % 1000


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
        task = asyncio.get_running_loop().create_task(
            self.emit(sdkappid, kind, entity, payload, client_ip=client_ip, platform=platform)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


async def emit_rest(ctx: RestContext, kind: str, entity: str, payload: Mapping[str, Any]) -> None:
    """An event of a REST v4 command: OptPlatform RESTAPI, ClientIP the caller's."""
    await EventEmitter(ctx.deps.producer).emit(
        ctx.app.sdkappid, kind, entity, payload, client_ip=ctx.client_ip
    )
