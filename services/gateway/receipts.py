"""Read receipts (SPEC §4): C2C read marks told to the peer, and per-message receipts in groups
of at most 200 members, of the types the app enabled (Tencent's 群消息已读回执).

A group message sent with `need_receipt` is indexed in Redis when its ack comes back: one
sorted set per group of "seq|sender" scored by seq. A member's read mark up to seq N counts
them as a reader of every indexed message in (previous mark, N] (one set of readers per
message), and each sender whose count moved gets a `receipt` push. Receipt state lives as long
as RECEIPT_TTL_S, then a query answers 10062 like Tencent's for an unknown receipt.

Frames for users who may be on any gateway node go through GatewayService.Notify, one call per
node.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from services.common import conversation, keys, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.messaging_settings import MAX_RECEIPT_GROUP_MEMBERS
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.redis_state import SessionRegistry, text
from services.common.store.groups import Group
from services.gateway.group_rules import AVCHATROOM, COMMUNITY

log = get_logger(__name__)

# Tencent: group read receipts are for groups of at most 200 members, of the types the app
# enabled (messaging setting `group_receipt_types`), never AVChatRoom or Community groups.
NO_RECEIPT_TYPES = frozenset({AVCHATROOM, COMMUNITY})
RECEIPT_TTL_S = 7 * 86400
NOTIFY_TIMEOUT_S = 5.0


def receipt_refusal(
    settings: Mapping[str, Any], group: Group, member_count: int
) -> TidingsError | None:
    """Why this group's messages may not have read receipts (asked for when sending, read or
    queried over REST), or None."""
    if group.group_type in NO_RECEIPT_TYPES:
        return TidingsError(
            ErrorCode.GROUP_NO_PERMISSION,
            f"{group.group_type} groups have no read receipts",
        )
    if not messaging_settings.receipts_enabled(settings, group.group_type):
        return TidingsError(
            ErrorCode.GROUP_NO_PERMISSION,
            f"read receipts are not enabled for {group.group_type} groups in this app "
            "(messaging setting group_receipt_types)",
        )
    if member_count > MAX_RECEIPT_GROUP_MEMBERS:
        return TidingsError(
            ErrorCode.GROUP_NO_PERMISSION,
            f"read receipts are for groups of at most {MAX_RECEIPT_GROUP_MEMBERS} members",
        )
    return None


def index_key(sdkappid: int, group_id: str) -> str:
    return keys.redis_key("rcpt", sdkappid, conversation.group(group_id))


def readers_key(sdkappid: int, group_id: str, seq: int) -> str:
    return keys.redis_key("rcptr", sdkappid, conversation.group(group_id), seq)


def parse_entry(entry: object) -> tuple[int, str]:
    """An index entry, "seq|sender", as (seq, sender)."""
    seq, _, sender = text(entry).partition("|")
    return int(seq), sender


@dataclass(frozen=True, slots=True)
class ReadCount:
    seq: int
    sender: str
    read: int


class GroupReceipts:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def track(self, sdkappid: int, group_id: str, seq: int, sender: str) -> None:
        key = index_key(sdkappid, group_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {f"{seq}|{sender}": seq})
            pipe.expire(key, RECEIPT_TTL_S)
            await pipe.execute()

    async def sender_of(self, sdkappid: int, group_id: str, seq: int) -> str | None:
        found = await self._redis.zrangebyscore(index_key(sdkappid, group_id), seq, seq)
        return parse_entry(found[0])[1] if found else None

    async def mark_read(
        self, sdkappid: int, group_id: str, reader: str, after_seq: int, up_to_seq: int
    ) -> list[ReadCount]:
        """Count `reader` as a reader of the indexed messages in (after_seq, up_to_seq] that
        are not their own; returns the messages whose count moved, with the new count."""
        if up_to_seq <= after_seq:
            return []
        entries = await self._redis.zrangebyscore(
            index_key(sdkappid, group_id), f"({after_seq}", up_to_seq
        )
        targets = [(seq, sender) for seq, sender in map(parse_entry, entries) if sender != reader]
        if not targets:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for seq, _ in targets:
                key = readers_key(sdkappid, group_id, seq)
                pipe.sadd(key, reader)
                pipe.scard(key)
                pipe.expire(key, RECEIPT_TTL_S)
            replies = await pipe.execute()
        return [
            ReadCount(seq, sender, int(replies[3 * i + 1]))
            for i, (seq, sender) in enumerate(targets)
            if replies[3 * i]
        ]

    async def readers(self, sdkappid: int, group_id: str, seq: int) -> set[str]:
        members = await self._redis.smembers(readers_key(sdkappid, group_id, seq))
        return {text(m) for m in members}


@dataclass(frozen=True, slots=True)
class Notice:
    sdkappid: int
    user: str
    frame: dict[str, object]
    skip_conn_id: str = ""


def read_split(
    readers: Collection[str], members: Iterable[str], sender: str
) -> tuple[list[str], list[str]]:
    """Who has and has not read a message, among the group's current members other than its
    sender, each sorted: members who joined after it count as not read."""
    current = set(members) - {sender}
    return sorted(current.intersection(readers)), sorted(current.difference(readers))


def group_receipt_notice(
    sdkappid: int, group_id: str, reader: str, counted: ReadCount, now_ms: int
) -> Notice:
    """The `receipt` push telling a message's sender that `reader` read it, with its count."""
    return Notice(
        sdkappid,
        counted.sender,
        {
            "op": "receipt",
            "conversation": conversation.group(group_id),
            "group": group_id,
            "seq": counted.seq,
            "reader": reader,
            "read_count": counted.read,
            "time": now_ms,
        },
    )


def c2c_message_receipt_notice(
    sdkappid: int, reader: str, sender: str, seq: int, msg_key: str, now_ms: int
) -> Notice:
    """The `receipt` push telling a C2C message's sender that `reader` read that message (one
    message, named by its msg_key; a read mark's receipt has none and covers everything up to
    its seq)."""
    return Notice(
        sdkappid,
        sender,
        {
            "op": "receipt",
            "conversation": conversation.c2c(reader, sender),
            "peer": reader,
            "reader": reader,
            "seq": seq,
            "msg_key": msg_key,
            "time": now_ms,
        },
    )


async def notify(channels: Channels, registry: SessionRegistry, notices: Sequence[Notice]) -> None:
    """Send each notice's frame to its user's live connections, wherever they are. Best effort:
    a user who is offline sees the state (read marks, receipt counts) on the next query."""
    if not notices:
        return
    sessions = await registry.lookup([(n.sdkappid, n.user) for n in notices])
    per_node: dict[str, list[gateway_pb2.Notice]] = defaultdict(list)
    for n, conns in zip(notices, sessions, strict=True):
        payload = orjson.dumps(n.frame)
        for addr in {s.node_addr for cid, s in conns.items() if cid != n.skip_conn_id}:
            per_node[addr].append(
                gateway_pb2.Notice(
                    sdkappid=n.sdkappid,
                    user=n.user,
                    frame_json=payload,
                    skip_conn_ids=[n.skip_conn_id] if n.skip_conn_id else [],
                )
            )

    async def send(addr: str, batch: list[gateway_pb2.Notice]) -> None:
        stub = gateway_pb2_grpc.GatewayServiceStub(channels.get(addr))
        try:
            await stub.Notify(gateway_pb2.NotifyRequest(notices=batch), timeout=NOTIFY_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a gone node's users re-query on reconnect
            log.warning("notify failed", gateway=addr, notices=len(batch), error=str(exc))

    await asyncio.gather(*(send(addr, batch) for addr, batch in per_node.items()))
