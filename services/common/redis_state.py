"""Hot, rebuildable state in Redis: session locations, and the helpers every Redis user
shares (scripts, the connection pool). Seqs, dedupe and recent history are in recent.py.

Keys put the app and the conversation or user in one hash tag, so every key a script touches
lives in one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from services.common import keys


def session_key(sdkappid: int, user: str) -> str:
    return keys.redis_key("sess", sdkappid, keys.escape(user))


ScriptArg = str | int | float | bytes
ScriptCall = tuple[Sequence[str], Sequence[ScriptArg]]


class Script:
    """A Lua script run by EVALSHA, alone or queued into a larger pipeline. A pipeline that
    fails because the server lost the script (restart, failover) is run again after
    reloading: every script here is safe to run twice."""

    def __init__(self, client: aioredis.Redis, source: str) -> None:
        self._client = client
        self._source = source
        self._sha = ""

    async def load(self, force: bool = False) -> None:
        if force or not self._sha:
            self._sha = await self._client.script_load(self._source)

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[ScriptArg]) -> None:
        pipe.evalsha(self._sha, len(keys), *keys, *args)

    async def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        async def run() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, args in calls:
                    self.queue(pipe, keys, args)
                replies: list[Any] = await pipe.execute()
                return replies

        replies: list[Any] = await with_scripts([self], run)
        return replies


async def with_scripts(scripts: Sequence[Script], run: Callable[[], Awaitable[Any]]) -> Any:
    """`run()` (a pipeline using `scripts`), loading them first and once more if the server
    lost them."""
    for script in scripts:
        await script.load()
    try:
        return await run()
    except NoScriptError:
        for script in scripts:
            await script.load(force=True)
        return await run()


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
