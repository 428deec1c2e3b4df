"""Fan-out: im.messages -> recipients -> one Deliver call per gateway node per batch.

Recipients without a live session go to im.push. Delivery is at least once: a replay after
a crash delivers again, and clients drop seqs they already have.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from services.common import topics
from services.common.bus import Poison, Record, decode, send_all
from services.common.cache import ExpiringCache
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    SOURCE_REST,
    Message,
    PushJob,
)
from services.common.redis_state import SessionRegistry
from services.common.store.groups import GroupStore, Member

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Recipient:
    user: str
    # The sender's own devices get the message too, but are never pushed to.
    is_sender: bool
    no_push: bool = False


def c2c_recipients(message: Message) -> list[Recipient]:
    """The peer, plus the sender's other devices. A REST send reaches the sender's devices
    only with SyncOtherMachine=1, as in Tencent's sendmsg. A recall or an edit reaches both
    parties' devices, whoever asked for it."""
    if message.silent:
        return []
    out = [Recipient(message.to_user, is_sender=False)]
    action = message.kind in (MESSAGE_KIND_RECALL, MESSAGE_KIND_MODIFY)
    syncs_sender = action or message.source != SOURCE_REST or message.sync_other_machine == 1
    if syncs_sender and message.sender != message.to_user:
        out.append(Recipient(message.sender, is_sender=True))
    return out


# Members who asked not to be notified of this group's messages (Tencent MsgFlag).
NO_PUSH_FLAGS = frozenset({"AcceptNotNotify", "Discard"})

# Never pushed offline: recalls and edits change what a device already shows, and a system
# notification is for online devices only (Tencent's is not stored either).
NOT_PUSHED = frozenset({MESSAGE_KIND_RECALL, MESSAGE_KIND_MODIFY, MESSAGE_KIND_SYSTEM_NOTIFICATION})


def pushable(message: Message, recipient: Recipient) -> bool:
    """Does this recipient get a push when offline? Not the sender's own devices, not members
    who asked not to be notified, not the kinds in NOT_PUSHED, and not online-only messages
    (AVChatRoom), which reach live devices and nothing else."""
    return (
        not (recipient.is_sender or recipient.no_push)
        and message.kind not in NOT_PUSHED
        and not message.online_only
    )


def reaches_devices(message: Message) -> bool:
    """Silent imports are stored only. A delete-by-sender is silent too, as Tencent's is:
    devices see the deletion when they next sync."""
    return not message.silent and message.kind != MESSAGE_KIND_DELETE_BY_SENDER


def group_recipients(message: Message, members: Sequence[Member]) -> list[Recipient]:
    """Every member's devices; the sender's own sending connection is skipped later. Members
    who discard the group's messages get nothing. A system notification reaches only the
    members it lists (every member when it lists none)."""
    if not reaches_devices(message):
        return []
    listed = frozenset(message.to_members)
    return [
        Recipient(
            m.user_id, is_sender=m.user_id == message.sender, no_push=m.msg_flag in NO_PUSH_FLAGS
        )
        for m in members
        if m.msg_flag != "Discard" and (not listed or m.user_id in listed)
    ]


class MemberCache:
    """Group members for fan-out, read once per group per `ttl_s`: a 6,000-member group is one
    store read, not one per message. A member added in the last `ttl_s` seconds may miss live
    delivery and gets the message on sync."""

    def __init__(self, groups: GroupStore, ttl_s: float = 2.0) -> None:
        self._groups = groups
        self._entries: ExpiringCache[tuple[int, str], list[Member]] = ExpiringCache(ttl_s)

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        return await self._entries.get(
            (sdkappid, group_id), lambda: self._groups.members(sdkappid, group_id)
        )


class Fanout:
    def __init__(
        self,
        sessions: SessionRegistry,
        producer: AIOKafkaProducer,
        channels: Channels,
        members: MemberCache,
    ) -> None:
        self._sessions = sessions
        self._producer = producer
        self._channels = channels
        self._members = members

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        messages, poison = decode(records, Message)
        targets: list[tuple[Message, Recipient]] = []
        for m in messages:
            if m.chat_type == CHAT_TYPE_C2C:
                targets.extend((m, r) for r in c2c_recipients(m))
            elif m.chat_type == CHAT_TYPE_GROUP and reaches_devices(m):
                members = await self._members.members(m.sdkappid, m.group_id)
                targets.extend((m, r) for r in group_recipients(m, members))
        # A batch often holds several messages to one group: look each member up once.
        users = list(dict.fromkeys((m.sdkappid, r.user) for m, r in targets))
        found = dict(zip(users, await self._sessions.lookup(users), strict=True))
        sessions = [found[(m.sdkappid, r.user)] for m, r in targets]

        per_node: dict[str, list[gateway_pb2.Delivery]] = defaultdict(list)
        offline: list[tuple[Message, Recipient]] = []
        for (m, r), conns in zip(targets, sessions, strict=True):
            nodes = {s.node_addr for cid, s in conns.items() if cid != m.origin_conn_id}
            if not nodes and pushable(m, r):
                offline.append((m, r))
            for addr in nodes:
                per_node[addr].append(
                    gateway_pb2.Delivery(
                        sdkappid=m.sdkappid,
                        user=r.user,
                        message=m,
                        skip_conn_ids=[m.origin_conn_id] if m.origin_conn_id else [],
                    )
                )
        await asyncio.gather(*(self._deliver(addr, batch) for addr, batch in per_node.items()))
        await send_all(
            self._producer,
            topics.PUSH.name,
            [
                (
                    f"{m.sdkappid}:{r.user}".encode(),
                    PushJob(
                        schema_version=1, sdkappid=m.sdkappid, user=r.user, message=m
                    ).SerializeToString(),
                )
                for m, r in offline
            ],
        )
        now_ms = time.time() * 1000
        for m in messages:
            STAGE_MESSAGES.labels("fanout", str(m.sdkappid), "ok").inc()
            if m.received_at_ms:
                STAGE_LATENCY.labels("fanout").observe(max(0.0, now_ms - m.received_at_ms) / 1000)
        return poison

    async def _deliver(self, addr: str, batch: list[gateway_pb2.Delivery]) -> None:
        stub = gateway_pb2_grpc.GatewayServiceStub(self._channels.get(addr))
        try:
            await stub.Deliver(gateway_pb2.DeliverRequest(deliveries=batch), timeout=5.0)
        except Exception as exc:  # noqa: BLE001 - a gone node's users sync on reconnect
            log.warning("deliver failed", gateway=addr, deliveries=len(batch), error=str(exc))
