"""A small in-memory cache with a max age, versions, and invalidation that cannot be undone by
a load in flight. Pure (the loader does the I/O).

Without the generation check, a load that started before an invalidation and finished after it
would store what it read before the change, and keep it for a whole max age.

Versions make a change exact where the caller can read the source's version first: `get(key,
load, at_least=v)` serves an entry only if it was loaded at version v or later, and otherwise
loads again, recording v. The caller must read v before the load reads the source (see
services/common/config_versions.py), so that an entry recorded at v holds every change up to v.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    def __init__(self, max_age_s: float) -> None:
        self._max_age_s = max_age_s
        # key -> (loaded at, version read before the load, value)
        self._entries: dict[K, tuple[float, int, V]] = {}
        self._generations: dict[K, int] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]], at_least: int = 0) -> V:
        now = time.monotonic()
        held = self._entries.get(key)
        if held is not None and now - held[0] < self._max_age_s and held[1] >= at_least:
            return held[2]
        generation = self._generations.get(key, 0)
        value = await load()
        current = self._entries.get(key)
        if self._generations.get(key, 0) == generation and (
            current is None or current[1] <= at_least
        ):
            self._entries[key] = (now, at_least, value)
        return value

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1
