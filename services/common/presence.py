"""The presence index: which gateway nodes have which users of an app online, for fan-out.

Fan-out asks "which of these members are online, and where?" for every message. The per-user
session hash (redis_state.SessionRegistry: one hash per user, one field per connection) answers
that with one read per member; this index answers it with one read per node:

- `pres:{app:nodes}`: a sorted set of the gateway nodes with users of the app online, each
  scored with the wall-clock time (ms) its entry expires. Readers take only the live ones, so a
  node that died stops counting once its score passes, even before anything is cleaned up.
- `pres:{app:node:<addr>:<boot>}`: a set of the users of the app online on that node. Its own TTL
  expires it with the node's entry.

A node is its gRPC address and a boot id: a gateway that restarts on the same address starts
with empty sets rather than trusting what the one before it left; the leftovers expire.

Only the node itself writes its entries (NodePresence), from one task and in order, and each
write says what the node's connections say at that moment (a user is online on a node while
one of their connections there is open), so a login and a logout of the same user cannot
reorder into a wrong answer. Every heartbeat rewrites the node's sets whole (a RENAME from a
key of the same hash tag, so readers see the old set or the new one) and pushes the expiry on.

Fan-out's read is SMISMEMBER's question asked by a small Lua script (MEMBERS_LUA), one call
per (app, node) in one pipeline: the users go as one newline-joined argument and the answer
comes back as one string of '0' and '1'. redis-py without hiredis parses a reply element by
element in Python (about 10 µs each), so SMISMEMBER itself took 40-150 ms for a 6,000-member
group on two nodes on the 2-core box, against 10-20 ms this way (most of it in Redis).

Every command and script touches one key, or two of one hash tag (the RENAME), so the layout
is Redis Cluster safe; a pipeline may span slots (non-transactional).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import compress
from typing import Any, Protocol

import redis.asyncio as aioredis

from services.common import keys
from services.common.logging import get_logger
from services.common.redis_state import Script, text, with_scripts

log = get_logger(__name__)

# How long a node's entries outlive its last heartbeat.
TTL_S = 90
# How often a node rewrites its entries (the gateway's heartbeat).
REFRESH_S = 30.0
# Members per SADD / SMISMEMBER, so one command never carries a whole huge group.
CHUNK = 10_000
# How long a login waits for its presence write before going on without it.
WAIT_S = 5.0
# After a failed write: the keys stay marked and are written again this much later.
RETRY_S = 1.0


# KEYS[1] = a node's set of users; ARGV[1] = users, each followed by "\n". Returns one
# character per user, '1' when the user is in the set: SMISMEMBER, answered as one string.
# SMISMEMBER a few thousand at a time (unpack's limit is 8,000 values): it costs Redis about a
# third of a SISMEMBER per user from Lua.
MEMBERS_LUA = """
local users = {}
local n = 0
for user in string.gmatch(ARGV[1], '([^\\n]*)\\n') do
  n = n + 1
  users[n] = user
end
local out = {}
for first = 1, n, 4000 do
  local found = redis.call('SMISMEMBER', KEYS[1], unpack(users, first, math.min(n, first + 3999)))
  for k = 1, #found do
    out[first + k - 1] = found[k] == 1 and '1' or '0'
  end
end
return table.concat(out)
"""
ONLINE_FLAG = ord("1")
# An answer's '0' and '1' as false and true bytes, for itertools.compress.
_AS_SELECTORS = bytes.maketrans(b"01", b"\x00\x01")


def nodes_key(sdkappid: int) -> str:
    return keys.redis_key("pres", sdkappid, "nodes")


def node_member(addr: str, boot: str) -> str:
    """A node's member in `nodes_key`: its address (which Deliver calls) and its boot id."""
    return keys.join(addr, boot)


def node_addr(member: str) -> str:
    return keys.split(member)[0]


def users_key(sdkappid: int, member: str) -> str:
    """The set of the app's users online on one node (`member` from node_member)."""
    return keys.redis_key("pres", sdkappid, keys.join("node", *keys.split(member)))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


# --- the gateway's side ----------------------------------------------------------------------


class LocalView(Protocol):
    """What a node knows of its own connections (services/gateway/sessions.LocalSessions)."""

    def has(self, sdkappid: int, user: str) -> bool: ...

    def has_app(self, sdkappid: int) -> bool: ...

    def by_app(self) -> dict[int, list[str]]: ...


class NodePresence:
    """This node's entries in the index. `changed` marks a user whose online state on this node
    may have flipped; one task (`run`) writes what is marked, a pipeline at a time, and rewrites
    everything on each heartbeat. `written` lets a login wait until its user is listed, so the
    next message to that user reaches the new connection."""

    def __init__(
        self,
        client: aioredis.Redis,
        addr: str,
        local: LocalView,
        ttl_s: int = TTL_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._client = client
        self.member = node_member(addr, uuid.uuid4().hex[:12])
        self._local = local
        self._ttl = ttl_s
        self._refresh_s = refresh_s
        # Marked and not yet taken by a write; taken by the write in progress.
        self._dirty: dict[tuple[int, str], None] = {}
        self._writing: dict[tuple[int, str], None] = {}
        # Resolved when the write that will take the marked keys is done, and the one in progress.
        self._next_done: asyncio.Future[None] | None = None
        self._current_done: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        # Apps this node has announced (in their nodes_key) and not withdrawn.
        self._announced: set[int] = set()
        self._stopping = False
        # One write at a time, in order (run's writes, and close's withdrawal after them).
        self._io = asyncio.Lock()

    def changed(self, sdkappid: int, user: str) -> None:
        self._dirty[(sdkappid, user)] = None
        self._wake.set()

    async def written(self, sdkappid: int, user: str) -> None:
        """Return once a write that saw the current state of (app, user) is done (or failed,
        or WAIT_S passed: a login is not refused for the index's sake; it heals on the next
        write or heartbeat)."""
        key = (sdkappid, user)
        if key in self._dirty:
            if self._next_done is None:
                self._next_done = asyncio.get_running_loop().create_future()
            done = self._next_done
        elif key in self._writing and self._current_done is not None:
            done = self._current_done
        else:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), WAIT_S)

    async def run(self) -> None:
        """Write what is marked as it comes, and everything every `refresh_s`."""
        next_refresh = time.monotonic()
        while not self._stopping:
            wait = next_refresh - time.monotonic()
            if wait > 0 and not self._dirty:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            if self._stopping:
                return
            if time.monotonic() >= next_refresh:
                try:
                    async with self._io:
                        await self.refresh()
                    next_refresh = time.monotonic() + self._refresh_s
                except Exception as exc:  # noqa: BLE001 - retried shortly
                    log.warning("presence refresh failed", error=str(exc))
                    next_refresh = time.monotonic() + RETRY_S
            if self._dirty and not await self.flush():
                await asyncio.sleep(RETRY_S)

    async def flush(self) -> bool:
        """Write the marked users' current state; False if the write failed (they stay marked)."""
        async with self._io:
            return await self._flush()

    async def _flush(self) -> bool:
        self._writing, self._dirty = self._dirty, {}
        self._current_done, self._next_done = self._next_done, None
        try:
            await self._write(list(self._writing))
            return True
        except Exception as exc:  # noqa: BLE001 - marked again, written on the next round
            log.warning("presence write failed", users=len(self._writing), error=str(exc))
            for key in self._writing:
                self._dirty.setdefault(key, None)
            return False
        finally:
            self._writing = {}
            if self._current_done is not None and not self._current_done.done():
                self._current_done.set_result(None)
            self._current_done = None

    async def _write(self, marked: Sequence[tuple[int, str]]) -> None:
        added: dict[int, list[str]] = {}
        removed: dict[int, list[str]] = {}
        for sdkappid, user in marked:
            into = added if self._local.has(sdkappid, user) else removed
            into.setdefault(sdkappid, []).append(user)
        deadline = self._deadline_ms()
        async with self._client.pipeline(transaction=False) as pipe:
            for sdkappid, users in added.items():
                members = users_key(sdkappid, self.member)
                for chunk in _chunks(users):
                    pipe.sadd(members, *chunk)
                pipe.expire(members, self._ttl)
                self._announce(pipe, sdkappid, deadline)
            for sdkappid, users in removed.items():
                if self._local.has_app(sdkappid):
                    for chunk in _chunks(users):
                        pipe.srem(users_key(sdkappid, self.member), *chunk)
                else:
                    self._withdraw(pipe, sdkappid)
            await pipe.execute()

    async def refresh(self) -> None:
        """Rewrite every set of this node from its connections, and push the expiry on; withdraw
        from apps with nobody left here. Also drops dead nodes' entries from those apps."""
        now_ms = int(time.time() * 1000)
        deadline = now_ms + self._ttl * 1000
        by_app = self._local.by_app()
        async with self._client.pipeline(transaction=False) as pipe:
            for sdkappid, users in by_app.items():
                members = users_key(sdkappid, self.member)
                fresh = members + ":new"
                pipe.delete(fresh)
                for chunk in _chunks(users):
                    pipe.sadd(fresh, *chunk)
                pipe.expire(fresh, self._ttl)
                pipe.rename(fresh, members)
                self._announce(pipe, sdkappid, deadline)
                pipe.zremrangebyscore(nodes_key(sdkappid), "-inf", now_ms)
            for sdkappid in self._announced - by_app.keys():
                self._withdraw(pipe, sdkappid)
            await pipe.execute()

    async def close(self) -> None:
        """Stop writing, and withdraw this node from every app (a clean stop leaves nothing)."""
        self._stopping = True
        self._wake.set()
        async with self._io:
            if not self._announced:
                return
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for sdkappid in list(self._announced):
                        self._withdraw(pipe, sdkappid)
                    await pipe.execute()
            except Exception as exc:  # noqa: BLE001 - the entries expire by themselves
                log.warning("presence withdrawal failed", error=str(exc))

    def _deadline_ms(self) -> int:
        return int(time.time() * 1000) + self._ttl * 1000

    def _announce(self, pipe: Any, sdkappid: int, deadline_ms: int) -> None:
        pipe.zadd(nodes_key(sdkappid), {self.member: deadline_ms})
        pipe.expire(nodes_key(sdkappid), self._ttl)
        self._announced.add(sdkappid)

    def _withdraw(self, pipe: Any, sdkappid: int) -> None:
        pipe.zrem(nodes_key(sdkappid), self.member)
        pipe.delete(users_key(sdkappid, self.member))
        self._announced.discard(sdkappid)


# --- fan-out's side --------------------------------------------------------------------------

# app -> user -> the addresses of the nodes where the user is online (only users online).
Online = dict[int, dict[str, list[str]]]


class PresenceIndex:
    """Reads the index for fan-out: for a batch, which of the wanted users are online on which
    node. One round trip: the apps' live nodes and, in the same pipeline, the membership of
    the users in the sets of the nodes seen last time; a node new since then costs a second
    round trip, once."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._members = Script(client, MEMBERS_LUA)
        self._known: dict[int, list[str]] = {}

    async def locate(self, wanted: Mapping[int, Collection[str]]) -> Online:
        online, _ = await self.locate_and_get(wanted, ())
        return online

    async def locate_and_get(
        self, wanted: Mapping[int, Collection[str]], keys: Sequence[str]
    ) -> tuple[Online, list[Any]]:
        """`locate`, and the values of `keys` (GET) read in its first pipeline: fan-out's other
        reads of a batch (the groups' membership versions) share the round trip. With no users
        wanted, the pipeline holds only the GETs."""
        apps = [(sdkappid, list(users)) for sdkappid, users in wanted.items() if users]
        if not apps and not keys:
            return {}, []
        asked = {sdkappid: Asked(users) for sdkappid, users in apps}
        now_ms = int(time.time() * 1000)
        guessed = [(sdkappid, m) for sdkappid, _ in apps for m in self._known.get(sdkappid, ())]

        async def first() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                for sdkappid, _ in apps:
                    pipe.zrangebyscore(nodes_key(sdkappid), now_ms, "+inf")
                for sdkappid, member in guessed:
                    self._queue(pipe, sdkappid, member, asked[sdkappid])
                replies: list[Any] = await pipe.execute()
                return replies

        replies = await with_scripts([self._members], first)
        values, replies = replies[: len(keys)], replies[len(keys) :]
        if not apps:
            return {}, values
        live = {
            sdkappid: [text(m) for m in reply]
            for (sdkappid, _), reply in zip(apps, replies, strict=False)
        }
        found: dict[tuple[int, str], bytes] = {}
        at = len(apps)
        for sdkappid, member in guessed:
            found[(sdkappid, member)], at = asked[sdkappid].take(replies, at)
        missing = [
            (sdkappid, m)
            for sdkappid, _ in apps
            for m in live[sdkappid]
            if (sdkappid, m) not in found
        ]
        if missing:

            async def second() -> list[Any]:
                async with self._client.pipeline(transaction=False) as pipe:
                    for sdkappid, member in missing:
                        self._queue(pipe, sdkappid, member, asked[sdkappid])
                    replies: list[Any] = await pipe.execute()
                    return replies

            replies = await with_scripts([self._members], second)
            at = 0
            for sdkappid, member in missing:
                found[(sdkappid, member)], at = asked[sdkappid].take(replies, at)
        out: Online = {}
        for sdkappid, users in apps:
            self._known[sdkappid] = live[sdkappid]
            out[sdkappid] = where_online(
                users, [(node_addr(m), found[(sdkappid, m)]) for m in live[sdkappid]]
            )
        return out, values

    def _queue(self, pipe: Any, sdkappid: int, member: str, asked: Asked) -> None:
        key = users_key(sdkappid, member)
        if asked.joined is None:
            for chunk in _chunks(asked.users):
                pipe.smismember(key, list(chunk))
        else:
            for joined in asked.joined:
                self._members.queue(pipe, [key], [joined])


class Asked:
    """The users asked about, prepared once per app for every node: newline-joined for
    MEMBERS_LUA (in chunks); or, when a user id holds a newline (Tidings' import refuses
    control characters, but an id may come from elsewhere), as SMISMEMBER's arguments."""

    def __init__(self, users: Sequence[str]) -> None:
        self.users = users
        joined = ["\n".join(chunk) + "\n" for chunk in _chunks(users)]
        newlines = sum(j.count("\n") for j in joined)
        self.joined: list[str] | None = joined if newlines == len(users) else None

    def take(self, replies: Sequence[Any], at: int) -> tuple[bytes, int]:
        """One node's answer (a byte per user, ONLINE_FLAG when online) from the replies from
        `at` on, and where the next answer starts."""
        parts: list[bytes] = []
        got = 0
        while got < len(self.users):
            reply = replies[at]
            at += 1
            if self.joined is None:
                part = bytes(ONLINE_FLAG if flag else ord("0") for flag in reply)
            else:
                part = reply if isinstance(reply, bytes) else str(reply).encode()
            parts.append(part)
            got += len(part)
        return b"".join(parts), at


def where_online(users: Sequence[str], nodes: Sequence[tuple[str, bytes]]) -> dict[str, list[str]]:
    """user -> the addresses of the nodes where the user is online, from each node's answer
    over `users` (one byte per user, ONLINE_FLAG when online); users online nowhere are left
    out. Two boots of one address (a restart within the TTL) count as one node."""
    out: dict[str, list[str]] = {}
    for addr, flags in nodes:
        if len(flags) != len(users):
            raise ValueError(f"{len(flags)} answers for {len(users)} users from {addr}")
        for user in compress(users, flags.translate(_AS_SELECTORS)):
            where = out.get(user)
            if where is None:
                out[user] = [addr]
            elif addr not in where:
                where.append(addr)
    return out
