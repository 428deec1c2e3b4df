"""Ingest: im.inbound -> moderation -> dedupe and seq -> im.messages -> outcome to the origin
gateway.

Per batch: one Redis pipeline for seqs, one produce batch awaited with acks=all, one
Redis pipeline to mark the dedupe entries published, and one Complete call per origin node,
which the next batch does not wait for. The outcome is reported only after im.messages holds
the message.

Moderation (moderator.py) comes before the seq, so a refused or dropped message leaves no gap.
A send whose dedupe entry exists (a retry of an accepted message) keeps its first ruling and is
answered as a duplicate; a refused or dropped send leaves no entry, so its retry is decided
afresh. A refused send's outcome carries the code and info. A dropped send is answered with
success, seq 0 and no MsgKey: it has no place in the conversation. (Not the conversation's last
seq: that may be a peer's message still on its way to the client, which would then take it for
its own send.)
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer

from services.common import topics
from services.common.bus import Record, send_all
from services.common.conversation import kafka_key
from services.common.errors import ErrorCode
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    InboundMessage,
    Message,
)
from services.common.redis_state import RecallClaim, SeqAllocator, SeqRequest, SeqResult
from services.router.moderation import Decision, Ruling, accept, needs_moderation, reject
from services.router.moderator import Moderator

log = get_logger(__name__)

SCHEMA_VERSION = 1
# Batches whose outcome notices may be in flight at once; past it, ingest waits (back-pressure
# from slow gateways).
MAX_COMPLETING = 32
MaxSeqLookup = Callable[[int, str], Awaitable[int]]


def msg_key(msg_random: int, seq: int, server_time_ms: int) -> str:
    """Tencent's MsgKey shape: random_seq_time (time in seconds)."""
    return f"{msg_random}_{seq}_{server_time_ms // 1000}"


# Records that are not new messages: they take no seq (and skip dedupe), so a conversation's
# seqs stay contiguous and mean "messages". Recall and modify act on target_seq; a system
# notification is delivered, never stored; a delete-by-sender rewrites stored messages.
ACTIONS = frozenset(
    {
        MESSAGE_KIND_RECALL,
        MESSAGE_KIND_MODIFY,
        MESSAGE_KIND_SYSTEM_NOTIFICATION,
        MESSAGE_KIND_DELETE_BY_SENDER,
    }
)


_STAGE_OUTCOME = {Ruling.ACCEPT: "ok", Ruling.REJECT: "rejected", Ruling.DROP: "dropped"}


def is_action(inbound: InboundMessage) -> bool:
    return inbound.kind in ACTIONS


def build_message(
    inbound: InboundMessage, seq: int, server_time_ms: int, msg_random: int
) -> Message:
    return Message(
        kind=inbound.kind or MESSAGE_KIND_MESSAGE,
        silent=inbound.silent,
        schema_version=SCHEMA_VERSION,
        sdkappid=inbound.sdkappid,
        conversation=inbound.conversation,
        chat_type=inbound.chat_type,
        seq=seq,
        server_time_ms=server_time_ms,
        sender=inbound.sender,
        to_user=inbound.to_user,
        group_id=inbound.group_id,
        client_msg_id=inbound.client_msg_id,
        msg_random=msg_random,
        msg_key=msg_key(msg_random, seq, server_time_ms),
        elements=inbound.elements,
        cloud_custom_data=inbound.cloud_custom_data,
        source=inbound.source,
        sync_other_machine=inbound.sync_other_machine,
        received_at_ms=inbound.received_at_ms,
        client_ip=inbound.client_ip,
        platform=inbound.platform,
        origin_conn_id=inbound.origin.conn_id,
        to_members=inbound.to_members,
        target_msg_key=inbound.target_msg_key,
        online_only=inbound.online_only,
        need_read_receipt=inbound.need_read_receipt,
    )


def seq_request(inbound: InboundMessage, now_ms: int, seed: int | None = None) -> SeqRequest:
    return SeqRequest(
        sdkappid=inbound.sdkappid,
        conversation=inbound.conversation,
        sender=inbound.sender,
        client_msg_id=inbound.client_msg_id,
        server_time_ms=now_ms,
        msg_random=inbound.msg_random,
        seed=seed,
    )


class Ingest:
    def __init__(
        self,
        seqs: SeqAllocator,
        producer: AIOKafkaProducer,
        channels: Channels,
        max_seq: MaxSeqLookup,
        moderator: Moderator,
    ) -> None:
        self._seqs = seqs
        self._producer = producer
        self._channels = channels
        self._max_seq = max_seq
        self._moderator = moderator
        # Outcome notices still on their way to gateways.
        self._completing: set[asyncio.Task[None]] = set()

    async def handle(self, records: Sequence[Record]) -> None:
        inbound = [InboundMessage.FromString(r.value) for r in records]
        now_ms = int(time.time() * 1000)
        decisions = await self._claim_recalls(await self._moderate(inbound, now_ms))
        accepted = [d.message for d in decisions if d.ruling is Ruling.ACCEPT]
        new = [m for m in accepted if not is_action(m)]
        requests = [seq_request(m, m.client_time_ms or now_ms) for m in new]
        assigned = iter(zip(requests, await self._assign(new, requests, now_ms), strict=True))

        to_publish: list[Message] = []
        published_requests: list[SeqRequest] = []
        outcomes: dict[str, list[gateway_pb2.Outcome]] = defaultdict(list)
        for d in decisions:
            m = d.message
            if d.ruling is Ruling.REJECT:
                outcome = gateway_pb2.Outcome(
                    error_code=d.error_code, error_info=d.error_info, msg_random=m.msg_random
                )
            elif d.ruling is Ruling.DROP:
                outcome = gateway_pb2.Outcome(server_time_ms=now_ms, msg_random=m.msg_random)
            else:
                if is_action(m):
                    res = SeqResult("action", m.target_seq, now_ms, m.msg_random)
                    message = build_message(m, m.target_seq, now_ms, m.msg_random)
                    to_publish.append(message)
                else:
                    req, res = next(assigned)
                    message = build_message(m, res.seq, res.server_time_ms, res.msg_random)
                    if not res.published:
                        to_publish.append(message)
                        published_requests.append(req)
                outcome = gateway_pb2.Outcome(
                    seq=res.seq,
                    msg_key=message.msg_key,
                    server_time_ms=res.server_time_ms,
                    duplicate=res.status == "duplicate",
                    msg_random=res.msg_random,
                )
            if m.origin.grpc_addr:
                outcome.request_id = m.origin.request_id
                outcome.conversation = m.conversation
                outcomes[m.origin.grpc_addr].append(outcome)

        await send_all(
            self._producer,
            topics.MESSAGES.name,
            [(kafka_key(m.sdkappid, m.conversation), m.SerializeToString()) for m in to_publish],
        )
        # Both only need im.messages to hold the batch. The next batch need not wait for the
        # gateways to take the outcomes: a lost notice only makes the sender retry, and the
        # retry gets the same seq.
        await self._notify(outcomes)
        await self._seqs.mark_published(published_requests)

        done_ms = time.time() * 1000
        for d in decisions:
            m = d.message
            STAGE_MESSAGES.labels("ingest", str(m.sdkappid), _STAGE_OUTCOME[d.ruling]).inc()
            if m.received_at_ms:
                STAGE_LATENCY.labels("ingest").observe(max(0.0, done_ms - m.received_at_ms) / 1000)

    async def _moderate(self, inbound: list[InboundMessage], now_ms: int) -> list[Decision]:
        decisions = [accept(m) for m in inbound]
        candidates = [i for i, m in enumerate(inbound) if needs_moderation(m)]
        if not candidates:
            return decisions

        async def is_retry(messages: Sequence[InboundMessage]) -> list[bool]:
            return await self._seqs.known([seq_request(m, now_ms) for m in messages])

        moderated = await self._moderator.moderate([inbound[i] for i in candidates], is_retry)
        for i, decision in zip(candidates, moderated, strict=True):
            decisions[i] = decision
        return decisions

    async def _claim_recalls(self, decisions: list[Decision]) -> list[Decision]:
        """A message is recalled once: a later recall of it is refused with Tencent's code."""
        recalls = [
            i
            for i, d in enumerate(decisions)
            if d.ruling is Ruling.ACCEPT and d.message.kind == MESSAGE_KIND_RECALL
        ]
        claims = [
            RecallClaim(m.sdkappid, m.conversation, m.target_seq, m.origin.request_id)
            for m in (decisions[i].message for i in recalls)
        ]
        for i, won in zip(recalls, await self._seqs.claim_recalls(claims), strict=True):
            if not won:
                m = decisions[i].message
                code = (
                    ErrorCode.GROUP_MSG_ALREADY_RECALLED
                    if m.group_id
                    else ErrorCode.MSG_ALREADY_RECALLED
                )
                decisions[i] = reject(m, code, "the message was already recalled")
        return decisions

    async def _assign(
        self, inbound: list[InboundMessage], requests: list[SeqRequest], now_ms: int
    ) -> list[SeqResult]:
        results = await self._seqs.assign(requests)
        missing = [i for i, r in enumerate(results) if r.status == "needs_seed"]
        if not missing:
            return results
        # A counter is missing: a new conversation, or Redis lost its data. Seed it from the
        # archive's highest seq so that seqs continue rather than restart.
        keys = list(dict.fromkeys((inbound[i].sdkappid, inbound[i].conversation) for i in missing))
        found = await asyncio.gather(*(self._max_seq(*key) for key in keys))
        seeds = dict(zip(keys, found, strict=True))
        retry = [
            seq_request(
                inbound[i],
                inbound[i].client_time_ms or now_ms,
                seeds[(inbound[i].sdkappid, inbound[i].conversation)],
            )
            for i in missing
        ]
        for i, res in zip(missing, await self._seqs.assign(retry), strict=True):
            results[i] = res
        return results

    async def drain(self) -> None:
        """Let the outcome notices still in flight reach their gateways (on shutdown)."""
        if self._completing:
            await asyncio.wait(self._completing)

    async def _notify(self, outcomes: dict[str, list[gateway_pb2.Outcome]]) -> None:
        if not outcomes:
            return
        task = asyncio.get_running_loop().create_task(self._complete(outcomes))
        self._completing.add(task)
        task.add_done_callback(self._completing.discard)
        if len(self._completing) > MAX_COMPLETING:
            await asyncio.wait(self._completing, return_when=asyncio.FIRST_COMPLETED)

    async def _complete(self, outcomes: dict[str, list[gateway_pb2.Outcome]]) -> None:
        async def call(addr: str, batch: list[gateway_pb2.Outcome]) -> None:
            stub = gateway_pb2_grpc.GatewayServiceStub(self._channels.get(addr))
            try:
                await stub.Complete(gateway_pb2.CompleteRequest(outcomes=batch), timeout=2.0)
            except Exception as exc:  # noqa: BLE001 - the sender retries with the same id
                log.warning("complete failed", gateway=addr, outcomes=len(batch), error=str(exc))

        await asyncio.gather(*(call(addr, batch) for addr, batch in outcomes.items()))
