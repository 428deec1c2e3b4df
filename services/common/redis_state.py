"""Hot, rebuildable state in Redis: seq counters with dedupe, and session locations.

Keys put the app and conversation in one hash tag, so every key a script touches lives in
one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from services.common import keys

# KEYS[1] = conversation counter, KEYS[2] = dedupe entry.
# ARGV[1] = dedupe ttl (s), ARGV[2] = seed ("" when unknown), ARGV[3] = server time (ms),
# ARGV[4] = msg random. Returns {status, value}: status 1 = newly assigned, 0 = duplicate,
# -1 = counter needs a seed. The value is "seq:time_ms:random:state", where state 1 means the
# message is in im.messages; a duplicate gets the original's seq, time and random (its MsgKey).
ASSIGN_LUA = """
local d = redis.call('GET', KEYS[2])
if d then return {0, d} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[2] == '' then return {-1, ''} end
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
local seq = redis.call('INCR', KEYS[1])
local v = seq .. ':' .. ARGV[3] .. ':' .. ARGV[4] .. ':0'
redis.call('SET', KEYS[2], v, 'EX', tonumber(ARGV[1]))
return {1, v}
"""

# Mark a dedupe entry as published, keeping its ttl.
PUBLISHED_LUA = """
local d = redis.call('GET', KEYS[1])
if d and string.sub(d, -2) == ':0' then
  redis.call('SET', KEYS[1], string.sub(d, 1, -2) .. '1', 'KEEPTTL')
end
return 1
"""


def counter_key(sdkappid: int, conversation: str) -> str:
    return keys.redis_key("seq", sdkappid, conversation)


def dedupe_key(sdkappid: int, conversation: str, sender: str, client_msg_id: str) -> str:
    return keys.redis_key("dd", sdkappid, conversation, sender, client_msg_id)


def recall_claim_key(sdkappid: int, conversation: str, target_seq: int) -> str:
    return keys.redis_key("rc", sdkappid, conversation, target_seq)


def session_key(sdkappid: int, user: str) -> str:
    return keys.redis_key("sess", sdkappid, keys.escape(user))


@dataclass(frozen=True, slots=True)
class SeqRequest:
    sdkappid: int
    conversation: str
    sender: str
    client_msg_id: str
    server_time_ms: int
    msg_random: int = 0
    # Counter seed used when the counter is missing (after a Redis loss); None if unknown.
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class SeqResult:
    # "new", "duplicate" or "needs_seed".
    status: str
    seq: int = 0
    server_time_ms: int = 0
    msg_random: int = 0
    published: bool = False


_STATUS = {1: "new", 0: "duplicate", -1: "needs_seed"}


@dataclass(frozen=True, slots=True)
class RecallClaim:
    sdkappid: int
    conversation: str
    target_seq: int
    request_id: str


def parse_assign_reply(reply: Sequence[object]) -> SeqResult:
    status = _STATUS[int(reply[0])]  # type: ignore[call-overload]
    if status == "needs_seed":
        return SeqResult(status)
    seq, t, random, state = text(reply[1]).split(":")
    return SeqResult(status, int(seq), int(t), int(random), state == "1")


ScriptArg = str | int | float | bytes
ScriptCall = tuple[Sequence[str], Sequence[ScriptArg]]


class _Script:
    """EVALSHA in a pipeline, reloading the script if the server lost it (restart, failover)."""

    def __init__(self, client: aioredis.Redis, source: str) -> None:
        self._client = client
        self._source = source
        self._sha = ""

    async def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        if not self._sha:
            self._sha = await self._client.script_load(self._source)
        try:
            return await self._pipeline(calls)
        except NoScriptError:
            self._sha = await self._client.script_load(self._source)
            return await self._pipeline(calls)

    async def _pipeline(self, calls: Sequence[ScriptCall]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self._sha, len(keys), *keys, *args)
            return await pipe.execute()


class SeqAllocator:
    """Assigns per-conversation seqs idempotently: one pipeline round trip per batch."""

    def __init__(self, client: aioredis.Redis, dedupe_ttl_s: int) -> None:
        self._client = client
        self._ttl = dedupe_ttl_s
        self._assign = _Script(client, ASSIGN_LUA)
        self._published = _Script(client, PUBLISHED_LUA)

    async def known(self, requests: Sequence[SeqRequest]) -> list[bool]:
        """Whether each send already has a seq (a retry of an accepted message)."""
        if not requests:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for r in requests:
                pipe.exists(dedupe_key(r.sdkappid, r.conversation, r.sender, r.client_msg_id))
            return [bool(n) for n in await pipe.execute()]

    async def assign(self, requests: Sequence[SeqRequest]) -> list[SeqResult]:
        if not requests:
            return []
        replies = await self._assign.run_many(
            [
                (
                    [
                        counter_key(r.sdkappid, r.conversation),
                        dedupe_key(r.sdkappid, r.conversation, r.sender, r.client_msg_id),
                    ],
                    [
                        self._ttl,
                        "" if r.seed is None else r.seed,
                        r.server_time_ms,
                        r.msg_random,
                    ],
                )
                for r in requests
            ]
        )
        return [parse_assign_reply(reply) for reply in replies]

    async def mark_published(self, requests: Sequence[SeqRequest]) -> None:
        if requests:
            await self._published.run_many(
                [
                    ([dedupe_key(r.sdkappid, r.conversation, r.sender, r.client_msg_id)], [])
                    for r in requests
                ]
            )

    async def claim_recalls(self, claims: Sequence[RecallClaim]) -> list[bool]:
        """Whether each request may recall its target: the first request to claim a message
        wins, and the same request (a redelivery after a crash) still holds its claim. The
        archive marks the message recalled only after the recall passes through
        im.messages, so a second recall read the archive too early to be refused there."""
        if not claims:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for c in claims:
                # SET NX GET: the holder's request id, or None when this request took the claim.
                pipe.set(
                    recall_claim_key(c.sdkappid, c.conversation, c.target_seq),
                    c.request_id,
                    nx=True,
                    get=True,
                    ex=self._ttl,
                )
            holders = await pipe.execute()
        return [h is None or text(h) == c.request_id for h, c in zip(holders, claims, strict=True)]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    node_addr: str
    platform: str
    login_ms: int = 0


def _session_value(node_addr: str, platform: str, login_ms: int) -> str:
    return f"{node_addr}|{platform}|{login_ms}"


def _parse_session(value: str) -> SessionInfo:
    node_addr, _, rest = value.partition("|")
    platform, _, login_ms = rest.partition("|")
    return SessionInfo(node_addr, platform, int(login_ms) if login_ms.isdigit() else 0)


class SessionRegistry:
    """Where each user's connections live: a hash of conn_id -> "gateway_addr|platform|login_ms"."""

    def __init__(self, client: aioredis.Redis, ttl_s: int = 120) -> None:
        self._client = client
        self._ttl = ttl_s

    async def add(
        self,
        sdkappid: int,
        user: str,
        conn_id: str,
        node_addr: str,
        platform: str,
        login_ms: int = 0,
    ) -> None:
        key = session_key(sdkappid, user)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(key, conn_id, _session_value(node_addr, platform, login_ms))
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def touch(self, keys: Sequence[tuple[int, str]]) -> None:
        """Keep live sessions from expiring (called on the gateway's heartbeat)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for sdkappid, user in keys:
                pipe.expire(session_key(sdkappid, user), self._ttl)
            await pipe.execute()

    async def remove(self, sdkappid: int, user: str, conn_id: str) -> None:
        await self._client.hdel(session_key(sdkappid, user), conn_id)

    async def lookup(self, users: Sequence[tuple[int, str]]) -> list[dict[str, SessionInfo]]:
        """For each (app, user): {conn_id: SessionInfo}, in the order asked."""
        async with self._client.pipeline(transaction=False) as pipe:
            for sdkappid, user in users:
                pipe.hgetall(session_key(sdkappid, user))
            replies = await pipe.execute()
        return [
            {text(k): _parse_session(text(v)) for k, v in reply.items()} if reply else {}
            for reply in replies
        ]


def text(value: object) -> str:
    """A reply value as str, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


# redis-py's default pool raises "Too many connections" past 100 at once, which a login storm
# reaches; a blocking pool makes the excess wait for a free connection instead.
MAX_CONNECTIONS = 64
POOL_WAIT_S = 10.0


def connect(url: str) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, decode_responses=False
    )
    return aioredis.Redis.from_pool(pool)
