"""GroupKvStore contract: every adapter keeps counters and attributes per app and group, applies
changes atomically, and forgets a destroyed group's."""

from __future__ import annotations

import asyncio

import pytest

from services.common.store.group_kv import CounterChange
from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302


def _increase(key: str, by: int) -> CounterChange:
    return lambda current: {**current, key: current.get(key, 0) + by}


async def test_counters_per_app_and_group(stores: Stores) -> None:
    kv = stores.group_kv
    assert await kv.get_counters(APP_A, "g1") == {}
    new = await kv.change_counters(APP_A, "g1", lambda _: {"like": 5, "unlike": 1})
    assert new == {"like": 5, "unlike": 1}
    await kv.change_counters(APP_A, "g1", _increase("like", 2))
    await kv.change_counters(APP_A, "g2", _increase("like", 1))
    await kv.change_counters(APP_B, "g1", _increase("view", 9))
    assert await kv.get_counters(APP_A, "g1") == {"like": 7, "unlike": 1}
    assert list(await kv.get_counters(APP_A, "g1")) == ["like", "unlike"]
    assert await kv.get_counters(APP_A, "g2") == {"like": 1}
    assert await kv.get_counters(APP_B, "g1") == {"view": 9}
    # Values keep the signed 64-bit range.
    await kv.change_counters(APP_A, "g2", lambda _: {"max": 2**63 - 1, "min": -(2**63)})
    assert await kv.get_counters(APP_A, "g2") == {"max": 2**63 - 1, "min": -(2**63)}
    # Counters and attributes of one group are apart.
    assert await kv.get_attrs(APP_A, "g1") == {}


async def test_a_refused_change_keeps_the_values(stores: Stores) -> None:
    kv = stores.group_kv
    await kv.change_attrs(APP_A, "g1", lambda _: {"seat1": "alice"})

    def refuse(current: dict[str, str]) -> dict[str, str]:
        raise ValueError("over a limit")

    with pytest.raises(ValueError, match="over a limit"):
        await kv.change_attrs(APP_A, "g1", refuse)
    assert await kv.get_attrs(APP_A, "g1") == {"seat1": "alice"}
    # The store is still usable after the refusal.
    await kv.change_attrs(APP_A, "g1", lambda current: {**current, "seat2": "bob"})
    assert await kv.get_attrs(APP_A, "g1") == {"seat1": "alice", "seat2": "bob"}


async def test_concurrent_increases_all_count(stores: Stores) -> None:
    kv = stores.group_kv
    await asyncio.gather(
        *(kv.change_counters(APP_A, "live", _increase("like", 1)) for _ in range(8))
    )
    assert await kv.get_counters(APP_A, "live") == {"like": 8}


async def test_attrs_replace_clear_and_drop(stores: Stores) -> None:
    kv = stores.group_kv
    await kv.change_attrs(APP_A, "g1", lambda _: {"a": "1", "b": "é" * 10})
    await kv.change_attrs(APP_A, "g1", lambda current: {**current, "a": "2", "c": ""})
    assert await kv.get_attrs(APP_A, "g1") == {"a": "2", "b": "é" * 10, "c": ""}
    assert await kv.change_attrs(APP_A, "g1", lambda _: {}) == {}
    assert await kv.get_attrs(APP_A, "g1") == {}
    await kv.change_attrs(APP_A, "g1", lambda _: {"again": "x"})
    assert await kv.get_attrs(APP_A, "g1") == {"again": "x"}

    await kv.change_counters(APP_A, "g1", lambda _: {"like": 1})
    await kv.change_attrs(APP_A, "g2", lambda _: {"kept": "y"})
    await kv.change_attrs(APP_B, "g1", lambda _: {"other": "app"})
    await kv.drop_group(APP_A, "g1")
    assert await kv.get_attrs(APP_A, "g1") == {}
    assert await kv.get_counters(APP_A, "g1") == {}
    assert await kv.get_attrs(APP_A, "g2") == {"kept": "y"}
    assert await kv.get_attrs(APP_B, "g1") == {"other": "app"}
    # A group created again under the same ID starts empty, and can be written.
    await kv.change_counters(APP_A, "g1", _increase("like", 1))
    assert await kv.get_counters(APP_A, "g1") == {"like": 1}
