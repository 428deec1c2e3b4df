"""ExpiringCache: values are reused until they age out or are invalidated, and a load that was
in flight when the key was invalidated is not kept."""

from __future__ import annotations

import asyncio

from services.common.cache import ExpiringCache


async def test_reuses_until_invalidated() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(60)
    loads = iter(range(10))

    async def load() -> int:
        return next(loads)

    assert await cache.get("k", load) == 0
    assert await cache.get("k", load) == 0
    cache.invalidate("k")
    assert await cache.get("k", load) == 1


async def test_ages_out() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(0)
    loads = iter(range(10))

    async def load() -> int:
        return next(loads)

    assert await cache.get("k", load) == 0
    assert await cache.get("k", load) == 1


class HeldRead:
    """A load that starts, then waits for `release` before it returns `value`."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.reading.set()
        await self.release.wait()
        return self.value


async def read(value: str) -> str:
    return value


async def test_a_load_in_flight_during_an_invalidation_is_not_kept() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache(60)
    slow_old_read = HeldRead("before the change")
    in_flight = asyncio.create_task(cache.get("k", slow_old_read))
    await slow_old_read.reading.wait()
    cache.invalidate("k")
    slow_old_read.release.set()
    assert await in_flight == "before the change"
    assert await cache.get("k", lambda: read("after the change")) == "after the change"


async def test_an_entry_older_than_the_version_asked_for_is_loaded_again() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(60)
    loads = iter(range(10))

    async def load() -> int:
        return next(loads)

    assert await cache.get("k", load, at_least=1) == 0
    assert await cache.get("k", load) == 0
    assert await cache.get("k", load, at_least=1) == 0
    assert await cache.get("k", load, at_least=2) == 1
    assert await cache.get("k", load, at_least=1) == 1


async def test_a_slower_load_at_an_older_version_does_not_replace_a_newer_one() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache(60)
    slow_old_read = HeldRead("at version 1")
    in_flight = asyncio.create_task(cache.get("k", slow_old_read, at_least=1))
    await slow_old_read.reading.wait()
    assert await cache.get("k", lambda: read("at version 2"), at_least=2) == "at version 2"
    slow_old_read.release.set()
    assert await in_flight == "at version 1"
    assert await cache.get("k", slow_old_read, at_least=2) == "at version 2"
