"""DirectoryCache: bounded (least recently used out), aged, and invalidated by key or by scope
so that a load in flight during an invalidation is not kept; one load per key at a time."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

from services.gateway.directory_cache import MISSING, DirectoryCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(
    max_entries: int = 100,
    max_age_s: float = 30.0,
    clock: Clock | None = None,
    max_scopes: int = 1000,
) -> DirectoryCache[Any, Any]:
    return DirectoryCache(max_entries, max_age_s, max_scopes=max_scopes, clock=clock or Clock())


def fill(c: DirectoryCache[Any, Any], key: Any, value: Any, scope: Any = None) -> None:
    ticket = c.begin()
    c.put(ticket, key, value, scope)
    c.end()


def test_miss_then_hit() -> None:
    c = cache()
    assert c.get("k") is MISSING
    fill(c, "k", False)
    assert c.get("k") is False


def test_least_recently_used_goes_first() -> None:
    c = cache(max_entries=2)
    fill(c, "a", 1)
    fill(c, "b", 2)
    assert c.get("a") == 1  # a is now the most recent
    fill(c, "c", 3)
    assert c.get("b") is MISSING
    assert c.get("a") == 1
    assert c.get("c") == 3
    assert len(c) == 2


def test_max_age_counts_from_the_start_of_the_load() -> None:
    clock = Clock()
    c = cache(max_age_s=10, clock=clock)
    ticket = c.begin()
    clock.now += 6  # a slow read
    c.put(ticket, "k", 1)
    c.end()
    clock.now += 3.9
    assert c.get("k") == 1
    clock.now += 0.2
    assert c.get("k") is MISSING


def test_invalidate_drops_the_entry() -> None:
    c = cache()
    fill(c, "k", 1)
    fill(c, "other", 2)
    c.invalidate("k")
    assert c.get("k") is MISSING
    assert c.get("other") == 2


def test_a_load_in_flight_during_an_invalidation_is_not_kept() -> None:
    c = cache()
    before = c.begin()
    c.invalidate("k")
    after = c.begin()  # a load that started after the change
    assert not c.put(before, "k", "old")
    assert c.get("k") is MISSING
    assert c.put(after, "k", "new")
    c.end()
    c.end()
    assert c.get("k") == "new"


def test_key_invalidations_are_forgotten_once_no_load_is_in_flight() -> None:
    c = cache()
    t = c.begin()
    c.invalidate("k")
    c.end()
    assert c._keys == {}
    # A later load is kept.
    fill(c, "k", 1)
    assert c.get("k") == 1
    assert t.tick < c._tick


def test_scope_invalidation_drops_every_entry_of_the_scope() -> None:
    c = cache()
    fill(c, ("g1", "ann"), "member", scope="g1")
    fill(c, ("g1", "bob"), None, scope="g1")
    fill(c, ("g2", "ann"), "member", scope="g2")
    c.invalidate_scope("g1")
    assert c.get(("g1", "ann")) is MISSING
    assert c.get(("g1", "bob")) is MISSING
    assert c.get(("g2", "ann")) == "member"
    # Loaded after the invalidation: kept.
    fill(c, ("g1", "ann"), "again", scope="g1")
    assert c.get(("g1", "ann")) == "again"


def test_a_load_in_flight_during_a_scope_invalidation_is_not_kept() -> None:
    c = cache()
    ticket = c.begin()
    c.invalidate_scope("g1")
    assert not c.put(ticket, ("g1", "ann"), "old", "g1")
    assert c.put(ticket, ("g2", "ann"), "unrelated", "g2")
    c.end()


def test_scope_invalidations_are_kept_one_max_age() -> None:
    clock = Clock()
    c = cache(max_age_s=10, clock=clock)
    c.invalidate_scope("g1")
    clock.now += 11
    c.invalidate_scope("g2")  # prunes g1's: every entry loaded before it has expired
    assert list(c._scopes) == ["g2"]


def test_forgetting_a_scope_early_raises_the_floor() -> None:
    c = cache(max_scopes=2)
    fill(c, ("g9", "ann"), 1, scope="g9")
    c.invalidate_scope("g1")
    c.invalidate_scope("g2")
    fill(c, ("g1", "ann"), 2, scope="g1")
    c.invalidate_scope("g3")  # g1's invalidation is forgotten
    assert list(c._scopes) == ["g2", "g3"]
    # What was loaded before the forgotten invalidation is invalid (a reload, never stale)...
    assert c.get(("g9", "ann")) is MISSING
    # ...what was loaded after it stays.
    assert c.get(("g1", "ann")) == 2


def test_clear_drops_everything_and_loads_in_flight() -> None:
    c = cache()
    fill(c, "a", 1)
    ticket = c.begin()
    c.clear()
    assert c.get("a") is MISSING
    assert not c.put(ticket, "b", 2)
    c.end()
    fill(c, "b", 3)
    assert c.get("b") == 3


async def test_one_load_per_key_at_a_time() -> None:
    c = cache()
    calls = 0
    release = asyncio.Event()

    async def load() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "v"

    tasks = [asyncio.create_task(c.load("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*tasks) == ["v"] * 5
    assert calls == 1
    assert c.get("k") == "v"


async def test_load_invalidated_meanwhile_answers_but_is_not_kept() -> None:
    c = cache()
    reading = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_read() -> str:
        reading.set()
        await release.wait()
        return "before the change"

    in_flight = asyncio.create_task(c.load("k", slow_old_read))
    await reading.wait()
    c.invalidate("k")
    release.set()
    assert await in_flight == "before the change"
    assert c.get("k") is MISSING


async def test_a_failed_load_fails_its_waiters_and_keeps_nothing() -> None:
    c = cache()
    release = asyncio.Event()

    async def broken() -> str:
        await release.wait()
        raise RuntimeError("store down")

    first = asyncio.create_task(c.load("k", broken))
    await asyncio.sleep(0)
    second = asyncio.create_task(c.load("k", broken))
    await asyncio.sleep(0)
    release.set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for task in (first, second):
            with pytest.raises(RuntimeError):
                await task
        gc.collect()
    assert c.get("k") is MISSING
    assert c._in_flight == 0


async def test_a_waiter_loads_itself_when_the_loading_task_is_cancelled() -> None:
    c = cache()
    started = asyncio.Event()

    async def never() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async def quick() -> str:
        return "fresh"

    loader = asyncio.create_task(c.load("k", never))
    await started.wait()
    waiter = asyncio.create_task(c.load("k", quick))
    await asyncio.sleep(0)
    loader.cancel()
    assert await waiter == "fresh"
    assert c.get("k") == "fresh"
    with pytest.raises(asyncio.CancelledError):
        await loader
