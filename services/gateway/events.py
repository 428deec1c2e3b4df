"""Put the facts of services/common/events.py on im.events, after the store write that made
them true.

The action has happened by then, so a failed produce does not fail it: it is logged and
counted (the callback it would have caused is lost, which Tencent's own after-callbacks also
allow). Calls from the WebSocket path do not wait for the broker (`emit_soon`).

Before it is produced, an event is applied in this process (`observe_local`: the gateway's
directory drops what it cached about the change), so the request that made the change answers
only once this node's next send sees it; other gateways see it when their feed reads it.

An event of `events.MEMBERSHIP_KINDS` also bumps its group's membership version, awaited before
it is produced (`emit`, `emit_membership_soon`), so the change answers only once fan-out will
see it (services/common/group_versions.py). A bump that fails still produces the event (the
change stands), then raises VersionNotBumped (10002): the caller retries.

After it is produced, a group change's event is told to the group's members as a group tip
(services/gateway/group_tips.py): `emit` returns once the tips have their seqs, the `_soon`
calls tell them in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from services.common import events, topics
from services.common.bus import send_all
from services.common.errors import ErrorCode
from services.common.group_versions import GroupVersions, VersionNotBumped
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import Event

if TYPE_CHECKING:
    from services.gateway.group_tips import GroupTips

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


# The group tips this process publishes after its events; set once at start-up (gateway main).
# Unset (an emitter built alone in a test), no tips are sent.
_tips: list[GroupTips] = []


def use_group_tips(tips: GroupTips) -> None:
    _tips[:] = [tips]


async def _tell(event: Event) -> None:
    for tips in _tips:
        await tips.tell(event)


# The group membership versions this process bumps; set once at start-up (gateway main). Unset
# (an emitter built alone in a test), nothing is bumped.
_versions: list[GroupVersions] = []


def use_group_versions(client: aioredis.Redis) -> GroupVersions:
    versions = GroupVersions(client)
    _versions[:] = [versions]
    return versions


async def group_changed(sdkappid: int, group_id: str) -> None:
    """Bump the group's membership version for a change that has no event of its own (a
    member's MsgFlag); raises VersionNotBumped if it fails."""
    for versions in _versions:
        await versions.bump(sdkappid, group_id)


async def group_unchanged(sdkappid: int, group_id: str) -> None:
    """An operation that could have changed the group's members found nothing to change (a
    retry): pay the increment this node may still owe for the group."""
    for versions in _versions:
        await versions.settle(sdkappid, group_id)


async def _bump_for(event: Event, entity: str) -> VersionNotBumped | None:
    if event.kind not in events.MEMBERSHIP_KINDS:
        return None
    try:
        await group_changed(event.sdkappid, entity)
    except VersionNotBumped as err:
        return err
    return None


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
        tips: bool = True,
    ) -> None:
        """Returns once the event is produced and its group tips (unless `tips` is off: REST's
        Silence) have their seqs."""
        event = events.new_event(sdkappid, kind, payload, client_ip=client_ip, platform=platform)
        _apply_locally(event)
        failed = await _bump_for(event, entity)
        await self._produce(event, entity)
        if tips:
            await _tell(event)
        if failed is not None:
            raise failed

    async def emit_membership_soon(
        self,
        sdkappid: int,
        kind: str,
        entity: str,
        payload: Mapping[str, Any],
        *,
        client_ip: str = "",
        platform: str = "",
    ) -> None:
        """emit_soon for a kind of events.MEMBERSHIP_KINDS: returns once the group's version is
        bumped, without waiting for the broker."""
        event = events.new_event(sdkappid, kind, payload, client_ip=client_ip, platform=platform)
        _apply_locally(event)
        failed = await _bump_for(event, entity)
        self._produce_soon(event, entity)
        if failed is not None:
            raise failed

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
        if kind in events.MEMBERSHIP_KINDS:
            raise ValueError(f"{kind} bumps a group version first: use emit_membership_soon")
        event = events.new_event(sdkappid, kind, payload, client_ip=client_ip, platform=platform)
        _apply_locally(event)
        self._produce_soon(event, entity)

    def _produce_soon(self, event: Event, entity: str) -> None:
        task = asyncio.get_running_loop().create_task(self._produce_and_tell(event, entity))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _produce_and_tell(self, event: Event, entity: str) -> None:
        await self._produce(event, entity)
        await _tell(event)

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


async def emit_rest(
    ctx: RestContext, kind: str, entity: str, payload: Mapping[str, Any], *, tips: bool = True
) -> None:
    """An event of a REST v4 command: OptPlatform RESTAPI, ClientIP the caller's."""
    await EventEmitter(ctx.deps.producer).emit(
        ctx.app.sdkappid, kind, entity, payload, client_ip=ctx.client_ip, tips=tips
    )
