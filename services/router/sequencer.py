"""Ingest's Redis side: one pipeline per batch.

The pipeline carries, in order: marks that the previous batch's messages are published, the
recall claims, one assign script per new message (seq, dedupe and the recent tail, atomically
per conversation), and the recipients' recent-conversation index. Only a batch that opens a
conversation Redis has no counter for (new, or lost with Redis) takes a second round trip, to
seed the counter from the history's highest seq.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis.asyncio as aioredis

from services.common import recent
from services.common.recent import TailSettings
from services.common.redis_state import Script, text, with_scripts

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


class Sequencer:
    def __init__(self, client: aioredis.Redis, dedupe_ttl_s: int, tail: TailSettings) -> None:
        self._redis = client
        self._ttl = dedupe_ttl_s
        self._tail = tail
        self._assign = Script(client, recent.ASSIGN_LUA)
        self._published = Script(client, recent.PUBLISHED_LUA)
        self._replace = Script(client, recent.REPLACE_LUA)

    async def run(
        self,
        marks: Sequence[str],
        claims: Sequence[RecallClaim],
        assigns: Sequence[AssignRequest],
        touches: Sequence[Touch],
    ) -> BatchResult:
        """The batch's one round trip. `marks` are dedupe keys of messages now in im.messages."""

        async def run() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in marks:
                    self._published.queue(pipe, [key], [])
                for c in claims:
                    # SET NX GET: the holder's request id, or None when this request took it.
                    pipe.set(
                        recent.recall_claim_key(c.sdkappid, c.conversation, c.target_seq),
                        c.request_id,
                        nx=True,
                        get=True,
                        ex=self._ttl,
                    )
                for a in assigns:
                    self._queue_assign(pipe, a)
                for t in touches:
                    key = recent.user_index_key(t.sdkappid, t.user)
                    pipe.zadd(key, {t.conversation: t.time_ms}, gt=True)
                    pipe.zremrangebyrank(key, 0, -(self._tail.user_index_size + 1))
                    pipe.expire(key, self._tail.ttl_s)
                replies: list[Any] = await pipe.execute()
                return replies

        replies = await with_scripts([self._published, self._assign], run)
        held = replies[len(marks) : len(marks) + len(claims)]
        assigned = replies[len(marks) + len(claims) : len(marks) + len(claims) + len(assigns)]
        return BatchResult(
            claims=[
                h is None or text(h) == c.request_id for h, c in zip(held, claims, strict=True)
            ],
            assigned=[parse_assign_reply(r) for r in assigned],
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

    def _queue_assign(self, pipe: Any, a: AssignRequest) -> None:
        self._assign.queue(
            pipe,
            [
                recent.counter_key(a.sdkappid, a.conversation),
                a.dedupe_key,
                recent.tail_key(a.sdkappid, a.conversation),
                recent.watermark_key(a.sdkappid, a.conversation),
            ],
            [
                self._ttl,
                "" if a.seed is None else a.seed,
                a.server_time_ms,
                a.msg_random,
                a.base,
                self._tail.keep,
                self._tail.cap,
                self._tail.ttl_s,
                "1" if a.in_history else "0",
            ],
        )
