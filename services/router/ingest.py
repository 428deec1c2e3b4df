"""Ingest: im.inbound -> moderation -> seq, dedupe and recent tail -> im.messages -> outcome to
the origin gateway.

A pipeline, so that the broker, Redis and the callbacks overlap:
- the fetch loop takes records and decides what it can at once (the word filter; whether the
  app wants a before-send callback). A message waiting for its callback holds its own
  conversation only: later records of that conversation queue behind it, every other
  conversation goes on;
- the sequencer takes the ready records in batches: one Redis round trip assigns the seqs and
  writes the recent tails (an ack then means readable), and the batch is handed to the producer
  with explicit partitions, without waiting for the broker;
- the completer awaits each batch's acks in order, then reports the outcomes to the gateways
  and marks the records done. Offsets commit up to the lowest record still in flight.

Failures: an undecodable record is poison (its topic's DLQ). Redis, the history service or the
broker being down pauses the pipeline and retries with backoff; nothing is dead-lettered. A
batch whose produce failed is produced again, with every batch after it, so that a
recall never precedes its message in im.messages; consumers are idempotent by seq.

Moderation comes before the seq, so a refused or dropped message leaves no gap. A retry of an
accepted message keeps its first ruling and gets its original seq. A dropped send is answered
with success, seq 0 and no MsgKey: it has no place in the conversation.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

from services.common import recent, topics
from services.common.bus import BatchProducer, Consumer, DeadLetters, Poison, Record, backoff_s
from services.common.conversation import kafka_key
from services.common.errors import ErrorCode
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    InboundMessage,
    Message,
)
from services.router.moderation import Decision, Ruling, accept, needs_moderation, reject
from services.router.moderator import Ask, Moderator
from services.router.sequencer import Assigned, AssignRequest, RecallClaim, Sequencer, Touch

log = get_logger(__name__)

SCHEMA_VERSION = 1
# Records taken and not done; past it the fetch loop waits (back-pressure).
MAX_PENDING = 20_000
# Batches handed to the producer and not yet acknowledged.
MAX_IN_FLIGHT = 8
# Outcome notices on their way to gateways at once; past it, the completer waits.
MAX_COMPLETING = 32
MaxSeqLookup = Callable[[int, str], Awaitable[int]]
T = TypeVar("T")

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
        msg_key=recent.msg_key(msg_random, seq, server_time_ms) if seq else "",
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
        offline_push_json=inbound.offline_push_json,
        no_unread=inbound.no_unread,
        push_when_muted=inbound.push_when_muted,
        forbid_after_callback=inbound.forbid_after_callback,
        at_users=inbound.at_users,
        at_all=inbound.at_all,
    )


def assign_request(m: InboundMessage, now_ms: int, seed: int | None = None) -> AssignRequest:
    """The assign script's input: the message without seq, time and MsgKey, which the script
    appends once it knows them. An import keeps its own time."""
    time_ms = m.client_time_ms or now_ms
    return AssignRequest(
        sdkappid=m.sdkappid,
        conversation=m.conversation,
        sender=m.sender,
        client_msg_id=m.client_msg_id,
        server_time_ms=time_ms,
        msg_random=m.msg_random,
        base=build_message(m, 0, 0, m.msg_random).SerializeToString(),
        in_history=not m.online_only,
        seed=seed,
    )


def touches(m: InboundMessage, time_ms: int) -> list[Touch]:
    """A C2C message moves its conversation up both parties' lists."""
    if m.chat_type != CHAT_TYPE_C2C:
        return []
    return [
        Touch(m.sdkappid, user, m.conversation, time_ms)
        for user in dict.fromkeys((m.sender, m.to_user))
    ]


@dataclass(slots=True)
class Pending:
    record: Record
    message: InboundMessage
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class Ready:
    """A decided record, as the sequencer takes it."""

    pending: Pending

    @property
    def decision(self) -> Decision:
        assert self.pending.decision is not None
        return self.pending.decision

    @property
    def message(self) -> InboundMessage:
        return self.decision.message


def _ready(p: Pending) -> Ready:
    return Ready(p)


class ConversationQueues:
    """Records in arrival order per conversation. A record is ready once it and every record
    before it in its conversation are decided, so a conversation's seqs follow its order and a
    record waiting for a callback holds its own conversation only."""

    def __init__(self) -> None:
        self._queues: dict[tuple[int, str], deque[Pending]] = {}

    def add(self, p: Pending) -> list[Pending]:
        key = (p.message.sdkappid, p.message.conversation)
        self._queues.setdefault(key, deque()).append(p)
        return self._pump(key)

    def decided(self, p: Pending) -> list[Pending]:
        return self._pump((p.message.sdkappid, p.message.conversation))

    def _pump(self, key: tuple[int, str]) -> list[Pending]:
        queue = self._queues.get(key)
        ready: list[Pending] = []
        while queue and queue[0].decision is not None:
            ready.append(queue.popleft())
        if queue is not None and not queue:
            del self._queues[key]
        return ready

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())


@dataclass(slots=True)
class InFlight:
    """A batch handed to the producer: its records, what was produced, and its outcomes."""

    batch: list[Pending]
    items: list[tuple[bytes, bytes]]
    futures: list[asyncio.Future[object]]
    outcomes: dict[str, list[gateway_pb2.Outcome]]
    # Dedupe keys of the messages this batch produced for the first time.
    marks: list[str] = field(default_factory=list)


class Ingest:
    def __init__(
        self,
        consumer: Consumer,
        dead_letters: DeadLetters,
        sequencer: Sequencer,
        producer: BatchProducer,
        channels: Channels,
        max_seq: MaxSeqLookup,
        moderator: Moderator,
        max_batch: int = 500,
    ) -> None:
        self._consumer = consumer
        self._dead = dead_letters
        self._seqs = sequencer
        self._producer = producer
        self._channels = channels
        self._max_seq = max_seq
        self._moderator = moderator
        self._max_batch = max_batch
        self._queues = ConversationQueues()
        self._ready: list[Pending] = []
        self._ready_wake = asyncio.Event()
        self._pending = 0
        self._space = asyncio.Event()
        self._space.set()
        self._in_flight: deque[InFlight] = deque()
        self._in_flight_wake = asyncio.Event()
        self._window = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._marks: list[str] = []
        self._asking: set[asyncio.Task[None]] = set()
        self._completing: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        # Held while handing batches to the producer, so a batch produced again after a
        # failure and new batches never interleave.
        self._producing = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- the fetch loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Until stop(): fetch and admit, with the sequencer and completer running beside."""
        workers = [
            asyncio.create_task(self._sequence_forever()),
            asyncio.create_task(self._complete_forever()),
        ]
        try:
            while not self._stopping.is_set() and not self._dead.halted:
                await self._space.wait()
                records = await self._consumer.fetch()
                if records:
                    await self._admit(records)
            await self._drain()
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def stop(self) -> None:
        self._stopping.set()

    async def _admit(self, records: list[Record]) -> None:
        pairs: list[tuple[Record, InboundMessage]] = []
        poison: list[Poison] = []
        for r in records:
            try:
                pairs.append((r, InboundMessage.FromString(r.value or b"")))
            except Exception as exc:  # noqa: BLE001 - any decode failure is the record's own
                poison.append(Poison(r, f"undecodable InboundMessage: {exc}"))
        if poison:
            await self._dead.send(poison)
            self._consumer.done(p.record for p in poison)
        pending = [Pending(r, m) for r, m in pairs]
        self._pending += len(pending)
        if pending:
            self._idle.clear()
        if self._pending >= MAX_PENDING:
            self._space.clear()
        for p, d in zip(pending, await self._decide([p.message for p in pending]), strict=True):
            if isinstance(d, Ask):
                self._queues.add(p)
                self._start_ask(p, d)
            else:
                p.decision = d
                self._ready.extend(self._queues.add(p))
        if self._ready:
            self._ready_wake.set()

    async def _decide(self, messages: list[InboundMessage]) -> list[Decision | Ask]:
        out: list[Decision | Ask] = [accept(m) for m in messages]
        candidates = [i for i, m in enumerate(messages) if needs_moderation(m)]
        if not candidates:
            return out
        prepared = await self._moderator.prepare([messages[i] for i in candidates], self._known)
        for i, d in zip(candidates, prepared, strict=True):
            out[i] = d
        return out

    async def _known(self, messages: Sequence[InboundMessage]) -> list[bool]:
        """Whether each is a retry of an accepted message. Unknown while Redis is down: then
        each is judged afresh, which at worst asks an app server twice."""
        try:
            return await self._seqs.known([assign_request(m, 0).dedupe_key for m in messages])
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning("dedupe lookup failed; judging afresh", error=str(exc))
            return [False] * len(messages)

    def _start_ask(self, p: Pending, ask: Ask) -> None:
        async def asking() -> None:
            p.decision = await self._moderator.ask(ask)
            self._ready.extend(self._queues.decided(p))
            self._ready_wake.set()

        task = asyncio.get_running_loop().create_task(asking())
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)

    # --- the sequencer ------------------------------------------------------------------------

    async def _sequence_forever(self) -> None:
        while True:
            await self._ready_wake.wait()
            self._ready_wake.clear()
            while self._ready:
                batch = [_ready(p) for p in self._ready[: self._max_batch]]
                del self._ready[: self._max_batch]
                await self._window.acquire()
                flight = await self._sequence(batch)
                # Handed to the producer in sequence order, which is each partition's order.
                async with self._producing:
                    flight.futures = await self._producer.send(topics.MESSAGES.name, flight.items)
                    self._in_flight.append(flight)
                self._in_flight_wake.set()

    async def _sequence(self, batch: list[Ready]) -> InFlight:
        now_ms = int(time.time() * 1000)
        accepted = [r for r in batch if r.decision.ruling is Ruling.ACCEPT]
        recalls = [r for r in accepted if r.message.kind == MESSAGE_KIND_RECALL]
        new = [r for r in accepted if not is_action(r.message)]
        requests = [assign_request(r.message, now_ms) for r in new]
        claims = [
            RecallClaim(m.sdkappid, m.conversation, m.target_seq, m.origin.request_id)
            for m in (r.message for r in recalls)
        ]
        moved = [
            t
            for q, r in zip(requests, new, strict=True)
            for t in touches(r.message, q.server_time_ms)
        ]
        marks, self._marks = self._marks, []
        result = await self._retrying(
            "assign", lambda: self._seqs.run(marks, claims, requests, moved)
        )
        assigned = await self._seed(requests, result.assigned)
        for r, won in zip(recalls, result.claims, strict=True):
            if not won:
                code = (
                    ErrorCode.GROUP_MSG_ALREADY_RECALLED
                    if r.message.group_id
                    else ErrorCode.MSG_ALREADY_RECALLED
                )
                r.pending.decision = reject(r.message, code, "the message was already recalled")
        await self._update_tails([r for r in batch if _is_edit(r)], now_ms)
        by_record = {
            id(r.pending): pair
            for r, pair in zip(new, zip(requests, assigned, strict=True), strict=True)
        }
        return self._produce_plan([p.pending for p in batch], by_record, now_ms)

    async def _seed(
        self, requests: list[AssignRequest], assigned: list[Assigned]
    ) -> list[Assigned]:
        """Counters Redis does not have (a new conversation, or Redis lost them) are seeded
        from the history's highest seq, so seqs continue rather than restart."""
        missing = [i for i, a in enumerate(assigned) if a.status == "needs_seed"]
        if not missing:
            return assigned
        convs = list(
            dict.fromkeys((requests[i].sdkappid, requests[i].conversation) for i in missing)
        )
        found = await self._retrying(
            "seed", lambda: asyncio.gather(*(self._max_seq(*c) for c in convs))
        )
        seeds = dict(zip(convs, found, strict=True))
        seeded = [
            replace(requests[i], seed=seeds[(requests[i].sdkappid, requests[i].conversation)])
            for i in missing
        ]
        again = await self._retrying("assign", lambda: self._seqs.assign(seeded))
        out = list(assigned)
        for i, a in zip(missing, again, strict=True):
            out[i] = a
        return out

    async def _update_tails(self, edits: list[Ready], now_ms: int) -> None:
        """A recall, an edit or a delete-by-sender also changes the tail's copies, so reads
        after its ack show it."""
        if not edits:
            return
        actions = [
            build_message(r.message, r.message.target_seq, now_ms, r.message.msg_random)
            for r in edits
        ]
        deletes = [a for a in actions if a.kind == MESSAGE_KIND_DELETE_BY_SENDER]
        actions = [a for a in actions if a.kind != MESSAGE_KIND_DELETE_BY_SENDER]
        for d in deletes:
            await self._retrying("tail", partial(self._delete_in_tail, d))
        copies = await self._retrying(
            "tail",
            lambda: self._seqs.tail_copies([(a.sdkappid, a.conversation, a.seq) for a in actions]),
        )
        replaced = [
            (
                a.sdkappid,
                a.conversation,
                a.seq,
                recent.apply_action(Message.FromString(c), a).SerializeToString(),
            )
            for a, c in zip(actions, copies, strict=True)
            if c is not None
        ]
        await self._retrying("tail", lambda: self._seqs.replace(replaced))

    async def _delete_in_tail(self, action: Message) -> None:
        window = await self._seqs.tail_of(action.sdkappid, action.conversation)
        gone = recent.deleted_by_sender(recent.decode_tail(window), action.sender)
        await self._seqs.replace(
            [(m.sdkappid, m.conversation, m.seq, m.SerializeToString()) for m in gone]
        )

    def _produce_plan(
        self,
        batch: list[Pending],
        assigned: dict[int, tuple[AssignRequest, Assigned]],
        now_ms: int,
    ) -> InFlight:
        items: list[tuple[bytes, bytes]] = []
        outcomes: dict[str, list[gateway_pb2.Outcome]] = defaultdict(list)
        marks: list[str] = []
        for p in batch:
            d = p.decision
            assert d is not None
            m = d.message
            if d.ruling is Ruling.REJECT:
                outcome = gateway_pb2.Outcome(
                    error_code=d.error_code, error_info=d.error_info, msg_random=m.msg_random
                )
            elif d.ruling is Ruling.DROP:
                outcome = gateway_pb2.Outcome(server_time_ms=now_ms, msg_random=m.msg_random)
            elif is_action(m):
                message = build_message(m, m.target_seq, now_ms, m.msg_random)
                items.append((kafka_key(m.sdkappid, m.conversation), message.SerializeToString()))
                outcome = gateway_pb2.Outcome(
                    seq=m.target_seq,
                    msg_key=message.msg_key,
                    server_time_ms=now_ms,
                    msg_random=m.msg_random,
                )
            else:
                request, a = assigned[id(p)]
                if not a.published:
                    value = recent.with_seq(request.base, a.seq, a.server_time_ms, a.msg_random)
                    items.append((kafka_key(m.sdkappid, m.conversation), value))
                    marks.append(request.dedupe_key)
                outcome = gateway_pb2.Outcome(
                    seq=a.seq,
                    msg_key=recent.msg_key(a.msg_random, a.seq, a.server_time_ms),
                    server_time_ms=a.server_time_ms,
                    duplicate=a.status == "duplicate",
                    msg_random=a.msg_random,
                )
            if m.origin.grpc_addr:
                outcome.request_id = m.origin.request_id
                outcome.conversation = m.conversation
                outcomes[m.origin.grpc_addr].append(outcome)
        return InFlight(batch, items, [], outcomes, marks)

    # --- the completer ------------------------------------------------------------------------

    async def _complete_forever(self) -> None:
        while True:
            if not self._in_flight:
                self._in_flight_wake.clear()
                await self._in_flight_wake.wait()
                continue
            head = self._in_flight[0]
            try:
                await asyncio.gather(*head.futures)
            except Exception as exc:  # noqa: BLE001 - the broker: produce again, in order
                log.warning("produce failed; producing again", error=str(exc))
                await self._produce_again()
            self._in_flight.popleft()
            self._finish(head)
            self._window.release()

    async def _produce_again(self) -> None:
        """Produce every batch in flight again, oldest first, until the broker takes them all:
        a later batch may already be in the log, and must come again after the one that
        failed, so that a recall never precedes its message."""
        attempt = 0
        async with self._producing:
            while True:
                try:
                    for f in self._in_flight:
                        f.futures = await self._producer.send(topics.MESSAGES.name, f.items)
                    await asyncio.gather(*(fut for f in self._in_flight for fut in f.futures))
                    return
                except Exception as exc:  # noqa: BLE001 - retried until the broker is back
                    log.warning("produce failed again", attempt=attempt, error=str(exc))
                    await asyncio.sleep(backoff_s(attempt))
                    attempt += 1

    def _finish(self, done: InFlight) -> None:
        self._notify(done.outcomes)
        self._marks.extend(done.marks)
        if not self._ready and not self._in_flight and self._marks:
            # Nothing to carry the marks: send them on their own, off the path of any ack.
            marks, self._marks = self._marks, []
            self._spawn(self._mark_quietly(marks))
        self._consumer.done(p.record for p in done.batch)
        self._pending -= len(done.batch)
        if self._pending < MAX_PENDING:
            self._space.set()
        if self._pending == 0:
            self._idle.set()
        _count(done.batch)

    async def _mark_quietly(self, marks: list[str]) -> None:
        try:
            await self._seqs.mark_published(marks)
        except Exception as exc:  # noqa: BLE001 - unmarked only means a retry is produced again
            log.warning("marking published failed", error=str(exc))

    def _notify(self, outcomes: dict[str, list[gateway_pb2.Outcome]]) -> None:
        if outcomes:
            self._spawn(self._complete(outcomes))

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._completing.add(task)
        task.add_done_callback(self._completing.discard)

    async def _complete(self, outcomes: dict[str, list[gateway_pb2.Outcome]]) -> None:
        async def call(addr: str, batch: list[gateway_pb2.Outcome]) -> None:
            stub = gateway_pb2_grpc.GatewayServiceStub(self._channels.get(addr))
            try:
                await stub.Complete(gateway_pb2.CompleteRequest(outcomes=batch), timeout=2.0)
            except Exception as exc:  # noqa: BLE001 - the sender retries with the same id
                log.warning("complete failed", gateway=addr, outcomes=len(batch), error=str(exc))

        await asyncio.gather(*(call(addr, batch) for addr, batch in outcomes.items()))

    # --- shared -----------------------------------------------------------------------------

    async def _retrying(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """`step()` until it succeeds: an outage of Redis or the history service pauses the
        pipeline; it never drops or dead-letters a message."""
        attempt = 0
        while True:
            try:
                return await step()
            except Exception as exc:  # noqa: BLE001 - see above
                log.warning(
                    "ingest step failed; retrying", step=what, attempt=attempt, error=str(exc)
                )
                await asyncio.sleep(backoff_s(attempt))
                attempt += 1

    async def _drain(self) -> None:
        """On stop: let what was taken finish (callbacks answer within their timeouts), so
        the outcomes reach the gateways before the process leaves."""
        if not self._dead.halted:
            await self._idle.wait()
        if self._completing:
            await asyncio.wait(self._completing)


def _is_edit(r: Ready) -> bool:
    return r.decision.ruling is Ruling.ACCEPT and r.message.kind in (
        MESSAGE_KIND_RECALL,
        MESSAGE_KIND_MODIFY,
        MESSAGE_KIND_DELETE_BY_SENDER,
    )


def _count(batch: Sequence[Pending]) -> None:
    """Metrics once per batch and app, not per message."""
    by_app: Counter[tuple[str, str]] = Counter()
    done_ms = time.time() * 1000
    latency = STAGE_LATENCY.labels("ingest")
    for p in batch:
        assert p.decision is not None
        m = p.decision.message
        by_app[(str(m.sdkappid), _STAGE_OUTCOME[p.decision.ruling])] += 1
        if m.received_at_ms:
            latency.observe(max(0.0, done_ms - m.received_at_ms) / 1000)
    for (app, outcome), n in by_app.items():
        STAGE_MESSAGES.labels("ingest", app, outcome).inc(n)
