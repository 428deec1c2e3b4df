"""Ingest's Redis side: one script call per batch (recent.BATCH_LUA).

The call carries, in order: marks that the previous batch's messages are published, the recall
claims, each new message's seq, dedupe entry and recent tail write, and the recipients'
recent-conversation index. With Redis Cluster the batch is split into one call per slot, sent
in one pipeline: still one round trip. Only a batch that opens a conversation Redis has no
counter for (new, or lost with Redis) takes a second round trip, to seed the counter from the
history's highest seq.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import redis.asyncio as aioredis
from redis.crc import key_slot

from services.common import recent
from services.common.recent import TailSettings
from services.common.redis_state import Script, ScriptArg, text

Status = Literal["new", "duplicate", "needs_seed"]
_STATUS: dict[int, Status] = {1: "new", 0: "duplicate", -1: "needs_seed"}


@dataclass(frozen=True, slots=True)
class AssignRequest:
    sdkappid: int
    conversation: str
    sender: str
    client_msg_id: str
    server_time_ms: int
    msg_random: int
    # The message serialized without seq, server time and MsgKey (recent.with_seq adds them).
    base: bytes
    # Whether history keeps it (not for online-only messages): then it goes to the tail.
    in_history: bool = True
    # Counter seed when the counter is missing (after a Redis loss); None if unknown.
    seed: int | None = None

    @property
    def dedupe_key(self) -> str:
        return recent.dedupe_key(self.sdkappid, self.conversation, self.sender, self.client_msg_id)


@dataclass(frozen=True, slots=True)
class Assigned:
    status: Status
    seq: int = 0
    server_time_ms: int = 0
    msg_random: int = 0
    # A duplicate whose message is already in im.messages: not produced again.
    published: bool = False


def parse_assign_reply(reply: Sequence[object]) -> Assigned:
    status = _STATUS[int(reply[0])]  # type: ignore[call-overload]
    if status == "needs_seed":
        return Assigned(status)
    seq, t, random, state = text(reply[1]).split(":")
    return Assigned(status, int(seq), int(t), int(random), state == "1")


@dataclass(frozen=True, slots=True)
class RecallClaim:
    sdkappid: int
    conversation: str
    target_seq: int
    request_id: str


@dataclass(frozen=True, slots=True)
class Touch:
    """A user's C2C conversation got a message at `time_ms`: move it up their list."""

    sdkappid: int
    user: str
    conversation: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    claims: list[bool]
    assigned: list[Assigned]


Slot = Callable[[str], int]


def one_slot(key: str) -> int:
    """A standalone server: the whole batch in one call."""
    return 0


def cluster_slot(key: str) -> int:
    """The Redis Cluster slot of a key (its hash tag's CRC16)."""
    return int(key_slot(key.encode()))


@dataclass(slots=True)
class _Call:
    """One script call's share of a batch: its keys and arguments, and where its replies go."""

    marks: list[str] = field(default_factory=list)
    claims: list[tuple[str, str]] = field(default_factory=list)
    assigns: list[tuple[list[str], list[ScriptArg]]] = field(default_factory=list)
    touches: list[tuple[str, str, int]] = field(default_factory=list)
    # Index in the batch of each claim and each assign.
    claim_at: list[int] = field(default_factory=list)
    assign_at: list[int] = field(default_factory=list)

    def keys_and_args(self, header: Sequence[ScriptArg]) -> tuple[list[str], list[ScriptArg]]:
        keys: list[str] = [*self.marks, *(k for k, _ in self.claims)]
        args: list[ScriptArg] = [
            *header,
            len(self.marks),
            len(self.claims),
            len(self.assigns),
            len(self.touches),
            *(request for _, request in self.claims),
        ]
        for assign_keys, assign_args in self.assigns:
            keys.extend(assign_keys)
            args.extend(assign_args)
        for key, conversation, time_ms in self.touches:
            keys.append(key)
            args.extend((conversation, time_ms))
        return keys, args


class Sequencer:
    def __init__(
        self,
        client: aioredis.Redis,
        dedupe_ttl_s: int,
        tail: TailSettings,
        slot: Slot = one_slot,
    ) -> None:
        self._redis = client
        self._ttl = dedupe_ttl_s
        self._tail = tail
        # Standalone Redis takes a whole batch in one call; a cluster one call per slot.
        self._slot = slot
        self._batch = Script(client, recent.BATCH_LUA)
        self._replace = Script(client, recent.REPLACE_LUA)

    async def run(
        self,
        marks: Sequence[str],
        claims: Sequence[RecallClaim],
        assigns: Sequence[AssignRequest],
        touches: Sequence[Touch],
    ) -> BatchResult:
        """The batch's one round trip. `marks` are dedupe keys of messages now in im.messages."""
        calls: dict[int, _Call] = {}

        def call(key: str) -> _Call:
            return calls.setdefault(self._slot(key), _Call())

        for key in marks:
            call(key).marks.append(key)
        for i, c in enumerate(claims):
            key = recent.recall_claim_key(c.sdkappid, c.conversation, c.target_seq)
            call(key).claims.append((key, c.request_id))
            call(key).claim_at.append(i)
        for i, a in enumerate(assigns):
            keys, args = self._assign_keys_and_args(a)
            call(keys[0]).assigns.append((keys, args))
            call(keys[0]).assign_at.append(i)
        for t in touches:
            key = recent.user_index_key(t.sdkappid, t.user)
            call(key).touches.append((key, t.conversation, t.time_ms))
        header = [
            self._ttl,
            self._tail.keep,
            self._tail.cap,
            self._tail.ttl_s,
            self._tail.user_index_size,
        ]
        ordered = list(calls.values())
        replies = await self._batch.run_many([c.keys_and_args(header) for c in ordered])
        held: list[object] = [None] * len(claims)
        assigned: list[Assigned] = [Assigned("needs_seed")] * len(assigns)
        for part, reply in zip(ordered, replies, strict=True):
            for n, i in enumerate(part.claim_at):
                held[i] = reply[n]
            base = len(part.claims)
            for n, i in enumerate(part.assign_at):
                assigned[i] = parse_assign_reply(reply[base + 2 * n : base + 2 * n + 2])
        return BatchResult(
            claims=[not h or text(h) == c.request_id for h, c in zip(held, claims, strict=True)],
            assigned=assigned,
        )

    async def assign(self, assigns: Sequence[AssignRequest]) -> list[Assigned]:
        """Assign alone (the seeded second try of a batch)."""
        return (await self.run([], [], assigns, [])).assigned

    async def mark_published(self, marks: Sequence[str]) -> None:
        if marks:
            await self.run(marks, [], [], [])

    async def known(self, dedupe_keys: Sequence[str]) -> list[bool]:
        """Whether each send already has a seq (a retry of an accepted message)."""
        if not dedupe_keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in dedupe_keys:
                pipe.exists(key)
            return [bool(n) for n in await pipe.execute()]

    async def replace(self, items: Sequence[tuple[int, str, int, bytes]]) -> None:
        """(app, conversation, seq, message): a recalled or edited message replaces its copy
        in the tail, if the tail still holds it."""
        if items:
            await self._replace.run_many(
                [([recent.tail_key(app, conv)], [seq, value]) for app, conv, seq, value in items]
            )

    async def tail_copies(self, items: Sequence[tuple[int, str, int]]) -> list[bytes | None]:
        """The tail's copy of each (app, conversation, seq), None where it has none."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for app, conv, seq in items:
                pipe.zrangebyscore(recent.tail_key(app, conv), seq, seq)
            found = await pipe.execute()
        return [entries[0] if entries else None for entries in found]

    async def tail_of(self, sdkappid: int, conversation: str) -> list[bytes]:
        entries = await self._redis.zrange(recent.tail_key(sdkappid, conversation), 0, -1)
        return cast(list[bytes], entries)

    def _assign_keys_and_args(self, a: AssignRequest) -> tuple[list[str], list[ScriptArg]]:
        return (
            [
                recent.counter_key(a.sdkappid, a.conversation),
                a.dedupe_key,
                recent.tail_key(a.sdkappid, a.conversation),
                recent.watermark_key(a.sdkappid, a.conversation),
            ],
            [
                "" if a.seed is None else a.seed,
                a.server_time_ms,
                a.msg_random,
                a.base,
                "1" if a.in_history else "0",
            ],
        )
