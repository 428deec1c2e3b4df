"""A bounded, invalidated in-memory cache: what the gateway's directory keeps (services/gateway/
directory.py). Pure: the loader does the I/O, and the clock is a parameter.

- **Bounded**: at most `max_entries`, least recently used first out.
- **Max age**: an entry is served for `max_age_s` after its load started, the fallback for
  writers that announce nothing (the `tidings` CLI writes the store directly).
- **Exact invalidation**: `invalidate(key)` drops an entry, `invalidate_scope(scope)` every
  entry loaded under that scope (a group's member rows). A load that was in flight when either
  happened returns what it read to its callers but does not store it: without that, a refill
  that read the store just before a change and finished just after it would keep the old value
  for a whole max age (the same rule as services/common/cache.py, in bounded memory).

How: a counter ticks at every invalidation; a load takes a ticket (the tick and the time at its
start) and its entry is valid while no invalidation of its key or scope came after the ticket.
Key invalidations are remembered only while loads are in flight, scope invalidations for one
max age (an entry older than that is expired anyway), and at most `max_scopes` of them: when
one is forgotten early, every entry loaded before it is treated as invalid (the floor), which
costs reloads, never a stale answer.

One load per key at a time: callers that miss while it runs wait for it (a hot group whose
record was just invalidated is read once, not once per sender).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class Ticket:
    """A load's start: the invalidation tick and the time."""

    __slots__ = ("at", "tick")

    def __init__(self, tick: int, at: float) -> None:
        self.tick = tick
        self.at = at


class DirectoryCache(Generic[K, V]):
    def __init__(
        self,
        max_entries: int,
        max_age_s: float,
        *,
        max_scopes: int = 65_536,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._max_age_s = max_age_s
        self._max_scopes = max_scopes
        self._clock = clock
        # key -> (tick of its load, time its load started, scope or None, value)
        self._entries: OrderedDict[K, tuple[int, float, Hashable | None, V]] = OrderedDict()
        self._tick = 0
        # Entries loaded before this tick are invalid (everything was dropped, or a scope
        # invalidation was forgotten early).
        self._floor = 0
        # scope -> (tick, time) of its last invalidation, oldest first.
        self._scopes: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()
        # Key invalidations while loads are in flight (forgotten when none is).
        self._keys: dict[K, int] = {}
        self._in_flight = 0
        self._loading: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    # --- reads -------------------------------------------------------------------------

    def get(self, key: K) -> V | _Missing:
        """The cached value, or MISSING (absent, expired or invalidated)."""
        held = self._entries.get(key)
        if held is None:
            return MISSING
        tick, at, scope, value = held
        if (
            self._clock() - at >= self._max_age_s
            or tick < self._floor
            or (scope is not None and not self._scope_allows(scope, tick))
        ):
            del self._entries[key]
            return MISSING
        self._entries.move_to_end(key)
        return value

    async def load(
        self, key: K, loader: Callable[[], Awaitable[V]], scope: Hashable | None = None
    ) -> V:
        """The value from `loader` (one load per key at a time), cached unless invalidated
        meanwhile."""
        while True:
            running = self._loading.get(key)
            if running is None:
                break
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not running.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The task that was loading was cancelled: load here instead.
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        ticket = self.begin()
        try:
            value = await loader()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        else:
            self.put(ticket, key, value, scope)
            future.set_result(value)
            return value
        finally:
            del self._loading[key]
            self.end()

    # --- loads that the caller runs (several keys in one store read) --------------------

    def begin(self) -> Ticket:
        self._in_flight += 1
        return Ticket(self._tick, self._clock())

    def put(self, ticket: Ticket, key: K, value: V, scope: Hashable | None = None) -> bool:
        """Store what a load that began at `ticket` read, unless the key or scope was
        invalidated since. True if stored."""
        if (
            ticket.tick < self._floor
            or self._keys.get(key, -1) > ticket.tick
            or (scope is not None and not self._scope_allows(scope, ticket.tick))
        ):
            return False
        self._entries[key] = (ticket.tick, ticket.at, scope, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return True

    def end(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._keys.clear()

    # --- invalidation -------------------------------------------------------------------

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        if self._in_flight:
            self._tick += 1
            self._keys[key] = self._tick

    def invalidate_scope(self, scope: Hashable) -> None:
        self._tick += 1
        now = self._clock()
        self._scopes[scope] = (self._tick, now)
        self._scopes.move_to_end(scope)
        # Older than one max age: every entry loaded before it has expired.
        while self._scopes:
            oldest = next(iter(self._scopes.values()))
            if now - oldest[1] < self._max_age_s:
                break
            self._scopes.popitem(last=False)
        while len(self._scopes) > self._max_scopes:
            _, (tick, _) = self._scopes.popitem(last=False)
            self._floor = max(self._floor, tick)

    def clear(self) -> None:
        """Drop everything, including what loads in flight would store."""
        self._entries.clear()
        self._scopes.clear()
        self._keys.clear()
        self._tick += 1
        self._floor = self._tick

    def _scope_allows(self, scope: Hashable, tick: int) -> bool:
        last = self._scopes.get(scope)
        return last is None or tick >= last[0]
