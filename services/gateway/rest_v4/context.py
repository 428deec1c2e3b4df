"""What a REST v4 command handler gets: the caller, and the gateway's ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from services.common import admin_audit
from services.common.config import Settings
from services.common.config_feed import ConfigAnnouncer
from services.common.grpc_util import Channels
from services.common.pb.tidings.v1 import history_pb2_grpc
from services.common.recent import TailReader
from services.common.redis_state import SessionRegistry
from services.common.store.ports import App, Stores
from services.gateway.archive import Archive
from services.gateway.auth import Authenticator
from services.gateway.publisher import Publisher
from services.gateway.ratelimit import RateLimiter
from services.gateway.receipts import GroupReceipts


@dataclass(slots=True)
class RestDeps:
    settings: Settings
    auth: Authenticator
    stores: Stores
    publisher: Publisher
    history: history_pb2_grpc.HistoryServiceStub
    # Specific messages by seq (recall, withdraw, reports).
    archive: Archive
    # Recent history in Redis: conversation lists as of the last ack.
    tails: TailReader
    # Where users are connected (querystate, kick) and channels to the gateway nodes.
    sessions: SessionRegistry
    channels: Channels
    # Per-app, per-command REST rate limits (Redis token buckets).
    limiter: RateLimiter
    # For records nobody answers, such as all_member_push jobs on im.events.
    producer: AIOKafkaProducer
    # Announces settings and word changes (in effect for what is sent after the answer).
    config: ConfigAnnouncer
    # Group message read receipts in Redis (the WebSocket endpoint's state, read and counted).
    receipts: GroupReceipts


@dataclass(slots=True)
class RestContext:
    app: App
    identifier: str
    client_ip: str
    deps: RestDeps


Reply = dict[str, Any]
Handler = Callable[[RestContext, dict[str, Any]], Awaitable[Reply]]


async def audit(ctx: RestContext, action: str, before: object = None, after: object = None) -> None:
    """The admin audit entry of a REST command that changes the app's configuration (the
    custom sensitive words, the push attribute names), made by the calling admin."""
    actor = admin_audit.Actor(ctx.identifier, admin_audit.REST, ctx.client_ip)
    await admin_audit.record(
        ctx.deps.stores.admin_audit, actor, ctx.app.sdkappid, action, before=before, after=after
    )
