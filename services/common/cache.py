"""A small in-memory cache with a max age and invalidation that cannot be undone by a load in
flight. Pure (the loader does the I/O).

Without the generation check, a load that started before an invalidation and finished after it
would store what it read before the change, and keep it for a whole max age.
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
        self._entries: dict[K, tuple[float, V]] = {}
        self._generations: dict[K, int] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        held = self._entries.get(key)
        if held is not None and now - held[0] < self._max_age_s:
            return held[1]
        generation = self._generations.get(key, 0)
        value = await load()
        if self._generations.get(key, 0) == generation:
            self._entries[key] = (now, value)
        return value

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1
