"""Fan-out: im.messages -> recipients -> one Deliver call per gateway node per batch.

Per batch: the recipients of each message (a group's members, held while the group's
membership version stays the same: services/common/group_versions.py); where they are online,
from the presence index (services/common/presence.py: one pipeline for the batch, one
SMISMEMBER per app and node, and a GET per group for its version); then one Deliver per node
carrying each message once, as the bytes read from im.messages, with its recipients on that
node. Recipients online nowhere, and pushable, go to im.push. Delivery is at least once: a
replay after a crash delivers again, and clients drop seqs they already have.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from services.common import topics
from services.common.bus import BatchProducer, Poison, Record
from services.common.group_versions import parse_version, version_key
from services.common.grpc_util import Channels
from services.common.live_recent import LiveRecent
from services.common.logging import get_logger
from services.common.metrics import PUSH_JOBS, STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_GROUP_TIPS,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    SOURCE_REST,
    Message,
    PushJob,
)
from services.common.presence import Online, PresenceIndex
from services.common.store.groups import GroupStore, Member

log = get_logger(__name__)

DELIVER_TIMEOUT_S = 5.0
# Groups whose members are held; past it, the least recently used are dropped.
MAX_CACHED_GROUPS = 10_000
# How long a member list is held at most, whatever the versions say: bounds what no version
# bump announces (the CLI or a test writing the store; a gateway that died owing a bump).
MEMBERS_MAX_AGE_S = 300.0


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

# Never pushed offline: recalls and edits change what a device already shows, a system
# notification is for online devices only (Tencent's is not stored either), and a group tip is
# read in history (Tencent pushes none).
NOT_PUSHED = frozenset(
    {
        MESSAGE_KIND_RECALL,
        MESSAGE_KIND_MODIFY,
        MESSAGE_KIND_SYSTEM_NOTIFICATION,
        MESSAGE_KIND_GROUP_TIPS,
    }
)


def pushable(message: Message, recipient: Recipient) -> bool:
    """Does this recipient get a push when offline? Not the sender's own devices, not members
    who asked not to be notified (unless the message is sent WithMuteNotifications), not the
    kinds in NOT_PUSHED, and not online-only messages (AVChatRoom), which reach live devices
    and nothing else."""
    no_push = recipient.no_push and not message.push_when_muted
    return (
        not (recipient.is_sender or no_push or recipient.user == message.sender)
        and message.kind not in NOT_PUSHED
        and not message.online_only
    )


def reaches_devices(message: Message) -> bool:
    """Silent imports are stored only. A delete-by-sender is silent too, as Tencent's is:
    devices see the deletion when they next sync."""
    return not message.silent and message.kind != MESSAGE_KIND_DELETE_BY_SENDER


def group_recipients(
    message: Message, members: Sequence[Member], mark_sender: bool = True
) -> list[Recipient]:
    """Every member's devices; the sender's own sending connection is skipped later. Members
    who discard the group's messages get nothing. A system notification reaches only the
    members it lists (every member when it lists none); a group tip reaches every member and
    the members it lists who have left. Without `mark_sender` the list is the same for every
    sender (pushable knows the sender by name), so the messages of one group in a batch share
    it."""
    if not reaches_devices(message):
        return []
    listed = frozenset(message.to_members)
    sender = message.sender if mark_sender else None
    if message.kind == MESSAGE_KIND_GROUP_TIPS:
        # A tip reaches every member, and the members it names who have just left: they learn
        # that they left (Tencent's kicked member is told too).
        present = {m.user_id for m in members}
        told = [m.user_id for m in members if m.msg_flag != "Discard"]
        told += sorted(u for u in listed if u not in present)
        return [Recipient(u, is_sender=u == sender) for u in told]
    return [
        Recipient(m.user_id, is_sender=m.user_id == sender, no_push=m.msg_flag in NO_PUSH_FLAGS)
        for m in members
        if m.msg_flag != "Discard" and (not listed or m.user_id in listed)
    ]


GroupKey = tuple[int, str]


@dataclass(frozen=True, slots=True)
class GroupAudience:
    members: list[Member]
    # The recipients of a message that lists no members (all but system notifications), the
    # same for every sender: built once per read of the members, not once per message.
    everyone: list[Recipient]
    # The group's membership version read before the members were (group_versions.py), and
    # when (time.monotonic()).
    version: int = 0
    read_at: float = 0.0


def current(held: GroupAudience | None, version: int, now: float, max_age_s: float) -> bool:
    """May fan-out deliver to a held member list? Only if it was read at the group's current
    membership version: every change bumps the version before it is answered, so an equal
    version means no change was answered since the list was read. `max_age_s` bounds what no
    bump announces (a store written behind the gateway's back)."""
    return held is not None and held.version == version and now - held.read_at < max_age_s


class MemberCache:
    """Group members for fan-out, each list tagged with the group's membership version read
    before it: a 6,000-member group is one store read per change of its members, not one per
    message. Fan-out reads the versions of a batch's groups (in its presence pipeline) and
    `load`s the groups whose held list is not `current`, once per group per batch.

    At most `max_groups` lists are held (the least recently used go first), none longer than
    `max_age_s`."""

    def __init__(
        self,
        groups: GroupStore,
        max_age_s: float = MEMBERS_MAX_AGE_S,
        max_groups: int = MAX_CACHED_GROUPS,
    ) -> None:
        self._groups = groups
        self.max_age_s = max_age_s
        self._max_groups = max_groups
        self._entries: OrderedDict[GroupKey, GroupAudience] = OrderedDict()

    def held(self, sdkappid: int, group_id: str) -> GroupAudience | None:
        """The list held for the group, whatever its version (fan-out asks presence about its
        members while it reads the version)."""
        key = (sdkappid, group_id)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    async def load(self, sdkappid: int, group_id: str, version: int) -> GroupAudience:
        """Read the members from the store and hold them under `version`, which the caller read
        before this call."""
        read_at = time.monotonic()
        members = await self._groups.members(sdkappid, group_id)
        audience = GroupAudience(
            members, group_recipients(Message(), members, mark_sender=False), version, read_at
        )
        key = (sdkappid, group_id)
        held = self._entries.get(key)
        if held is not None and held.read_at > read_at:
            return audience  # a read that started later is held already
        self._entries[key] = audience
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_groups:
            self._entries.popitem(last=False)
        return audience

    async def audience(self, sdkappid: int, group_id: str, version: int) -> GroupAudience:
        """The group's members at `version` (just read): held, or loaded."""
        held = self.held(sdkappid, group_id)
        if current(held, version, time.monotonic(), self.max_age_s):
            assert held is not None
            return held
        return await self.load(sdkappid, group_id, version)

    async def members(self, sdkappid: int, group_id: str, version: int) -> list[Member]:
        return (await self.audience(sdkappid, group_id, version)).members


# --- planning: pure ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message of the batch: its bytes as read from im.messages, decoded, and its recipients.
    Messages with the same `audience` (one group's messages in a batch) share their recipients,
    and where those are online is worked out once."""

    raw: bytes
    message: Message
    recipients: Sequence[Recipient]
    audience: Hashable | None = None


# node address -> the recipients online there; and the recipients online nowhere.
Placed = tuple[dict[str, list[str]], list[Recipient]]


@dataclass(slots=True)
class Plan:
    # One request per gateway node: each message once, with its recipients there.
    requests: dict[str, gateway_pb2.DeliverRequest] = field(default_factory=dict)
    # (message, user) online on no node, and pushable.
    offline: list[tuple[Outgoing, str]] = field(default_factory=list)


# A record of im.messages as read, and decoded.
Decoded = tuple[bytes, Message]


def delivered_to_members(m: Message) -> bool:
    return m.chat_type == CHAT_TYPE_GROUP and reaches_devices(m)


def batch_groups(decoded: Sequence[Decoded]) -> list[GroupKey]:
    """The groups whose members the batch's messages go to, each once, in order."""
    return list(
        dict.fromkeys((m.sdkappid, m.group_id) for _, m in decoded if delivered_to_members(m))
    )


def outgoing(
    decoded: Sequence[Decoded], audiences: Mapping[GroupKey, GroupAudience]
) -> list[Outgoing]:
    """The batch's messages with their recipients, in order. A group's messages share their
    recipients (built once per member list and `to_members`); those of a group missing from
    `audiences` are left out."""
    batch: list[Outgoing] = []
    built: dict[Hashable, list[Recipient]] = {}
    for raw, m in decoded:
        if m.chat_type == CHAT_TYPE_C2C:
            recipients = c2c_recipients(m)
            if recipients:
                batch.append(Outgoing(raw, m, recipients))
        elif delivered_to_members(m):
            audience = audiences.get((m.sdkappid, m.group_id))
            if audience is None:
                continue
            key = (m.sdkappid, m.group_id, tuple(m.to_members))
            shared = built.get(key)
            if shared is None:
                shared = built[key] = (
                    group_recipients(m, audience.members, mark_sender=False)
                    if m.to_members
                    else audience.everyone
                )
            if shared:
                batch.append(Outgoing(raw, m, shared, key))
    return batch


def not_asked(
    wanted_now: Mapping[int, Sequence[str]], asked: Mapping[int, Collection[str]]
) -> dict[int, list[str]]:
    """Per app, the users of `wanted_now` that `asked` does not hold."""
    out: dict[int, list[str]] = {}
    for sdkappid, users in wanted_now.items():
        before = set(asked.get(sdkappid, ()))
        more = [u for u in users if u not in before]
        if more:
            out[sdkappid] = more
    return out


def merge_online(online: Online, more: Online) -> Online:
    for sdkappid, where in more.items():
        online.setdefault(sdkappid, {}).update(where)
    return online


def wanted(batch: Sequence[Outgoing]) -> dict[int, list[str]]:
    """Per app, every recipient of the batch once: what to ask the presence index."""
    out: dict[int, dict[str, None]] = {}
    seen: set[Hashable] = set()
    for item in batch:
        if item.audience is not None:
            if item.audience in seen:
                continue
            seen.add(item.audience)
        users = out.setdefault(item.message.sdkappid, {})
        for r in item.recipients:
            users[r.user] = None
    return {sdkappid: list(users) for sdkappid, users in out.items()}


def place(recipients: Sequence[Recipient], where: Mapping[str, Sequence[str]]) -> Placed:
    per_node: dict[str, list[str]] = {}
    nowhere: list[Recipient] = []
    for r in recipients:
        nodes = where.get(r.user)
        if not nodes:
            nowhere.append(r)
            continue
        for addr in nodes:
            users = per_node.get(addr)
            if users is None:
                per_node[addr] = [r.user]
            else:
                users.append(r.user)
    return per_node, nowhere


def plan(batch: Sequence[Outgoing], online: Online) -> Plan:
    """Who goes to which node, and who is offline and pushable. Each message is in a node's
    request once, with the users there; the sender's own connection is skipped there."""
    out = Plan()
    placed: dict[Hashable, Placed] = {}
    for item in batch:
        m = item.message
        found = placed.get(item.audience) if item.audience is not None else None
        if found is None:
            found = place(item.recipients, online.get(m.sdkappid, {}))
            if item.audience is not None:
                placed[item.audience] = found
        per_node, nowhere = found
        skip = [m.origin_conn_id] if m.origin_conn_id else []
        for addr, users in per_node.items():
            request = out.requests.get(addr)
            if request is None:
                request = out.requests[addr] = gateway_pb2.DeliverRequest()
            request.messages.add(
                message=item.raw, sdkappid=m.sdkappid, users=users, skip_conn_ids=skip
            )
        out.offline.extend((item, r.user) for r in nowhere if pushable(m, r))
    return out


def stranded(
    batch: Sequence[Outgoing], online: Online, failed: Collection[str]
) -> list[tuple[Outgoing, str]]:
    """Pushable recipients online only on nodes whose Deliver failed: for them the message
    reached no device, so they get the push an offline user gets."""
    out: list[tuple[Outgoing, str]] = []
    for item in batch:
        m = item.message
        where = online.get(m.sdkappid, {})
        for r in item.recipients:
            nodes = where.get(r.user)
            if nodes and all(n in failed for n in nodes) and pushable(m, r):
                out.append((item, r.user))
    return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# PushJob.message (field 4, length-delimited).
_PUSH_MESSAGE_TAG = bytes([(4 << 3) | 2])


def push_job(sdkappid: int, user: str, raw_message: bytes) -> bytes:
    """A serialized PushJob around the message's bytes as they are: a submessage on the wire is
    its tag, its length and its bytes, so the message is not encoded again per recipient."""
    head = PushJob(schema_version=1, sdkappid=sdkappid, user=user).SerializeToString()
    return head + _PUSH_MESSAGE_TAG + _varint(len(raw_message)) + raw_message


# --- the consumer ------------------------------------------------------------------------


class Fanout:
    def __init__(
        self,
        presence: PresenceIndex,
        producer: BatchProducer,
        channels: Channels,
        members: MemberCache,
        live: LiveRecent,
    ) -> None:
        self._presence = presence
        self._producer = producer
        self._channels = channels
        self._members = members
        self._live = live
        self._latency = STAGE_LATENCY.labels("fanout")

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        decoded, poison, per_app = self._decode(records)
        # Kept before delivery, so a member who joins as a message is delivered still sees it;
        # alongside the recipients' lookup, so that it adds no round trip of its own.
        _, (batch, online) = await asyncio.gather(
            self._live.keep(decoded), self._recipients(decoded)
        )
        planned = plan(batch, online)
        failed = await self._deliver(planned.requests)
        offline = planned.offline
        if failed:
            offline = offline + stranded(batch, online, failed)
        await self._producer.send_all(
            topics.PUSH.name,
            [
                (
                    f"{item.message.sdkappid}:{user}".encode(),
                    push_job(item.message.sdkappid, user, item.raw),
                )
                for item, user in offline
            ],
        )
        for sdkappid, count in per_app.items():
            STAGE_MESSAGES.labels("fanout", str(sdkappid), "ok").inc(count)
        for sdkappid, count in Counter(item.message.sdkappid for item, _ in offline).items():
            PUSH_JOBS.labels(str(sdkappid)).inc(count)
        return poison

    def _decode(
        self, records: Sequence[Record]
    ) -> tuple[list[Decoded], list[Poison], Counter[int]]:
        """The batch's messages, decoded once; the undecodable records as poison."""
        decoded: list[Decoded] = []
        poison: list[Poison] = []
        per_app: Counter[int] = Counter()
        now_ms = time.time() * 1000
        for record in records:
            raw = record.value or b""
            try:
                m = Message.FromString(raw)
            except DecodeError as exc:
                poison.append(Poison(record, f"undecodable Message: {exc}"))
                continue
            per_app[m.sdkappid] += 1
            if m.received_at_ms:
                self._latency.observe(max(0.0, now_ms - m.received_at_ms) / 1000)
            decoded.append((raw, m))
        return decoded, poison, per_app

    async def _recipients(self, decoded: Sequence[Decoded]) -> tuple[list[Outgoing], Online]:
        """The batch's messages with their recipients, and where those are online. The presence
        read, for the recipients of the member lists held, carries the membership versions of
        the batch's groups (one round trip). A group whose held list is not `current` is read
        again from the store, once, and its recipients not asked about yet cost a second
        presence read: only in a batch after a change, or a group's first."""
        groups = batch_groups(decoded)
        held = {g: a for g in groups if (a := self._members.held(*g)) is not None}
        first = outgoing(decoded, held)
        asked = wanted(first)
        online, values = await self._presence.locate_and_get(
            asked, [version_key(*g) for g in groups]
        )
        now = time.monotonic()
        stale = [
            (g, v)
            for g, v in zip(groups, map(parse_version, values), strict=True)
            if not current(held.get(g), v, now, self._members.max_age_s)
        ]
        if not stale:
            return first, online
        loaded = await asyncio.gather(*(self._members.load(*g, v) for g, v in stale))
        audiences = {**held, **{g: a for (g, _), a in zip(stale, loaded, strict=True)}}
        batch = outgoing(decoded, audiences)
        more = not_asked(wanted(batch), asked)
        if more:
            merge_online(online, await self._presence.locate(more))
        return batch, online

    async def _deliver(self, requests: dict[str, gateway_pb2.DeliverRequest]) -> set[str]:
        """One Deliver per node, all at once; the nodes whose call failed."""
        addrs = list(requests)
        replies = await asyncio.gather(
            *(
                gateway_pb2_grpc.GatewayServiceStub(self._channels.get(addr)).Deliver(
                    requests[addr], timeout=DELIVER_TIMEOUT_S
                )
                for addr in addrs
            ),
            return_exceptions=True,
        )
        failed: set[str] = set()
        for addr, reply in zip(addrs, replies, strict=True):
            if isinstance(reply, BaseException):
                # A node that is gone: its users reconnect elsewhere and sync.
                log.warning(
                    "deliver failed",
                    gateway=addr,
                    messages=len(requests[addr].messages),
                    error=str(reply),
                )
                failed.add(addr)
        return failed
