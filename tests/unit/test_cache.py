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


async def test_a_load_in_flight_during_an_invalidation_is_not_kept() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache(60)
    reading = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_read() -> str:
        reading.set()
        await release.wait()
        return "before the change"

    async def fresh_read() -> str:
        return "after the change"

    in_flight = asyncio.create_task(cache.get("k", slow_old_read))
    await reading.wait()
    cache.invalidate("k")
    release.set()
    assert await in_flight == "before the change"
    assert await cache.get("k", fresh_read) == "after the change"
