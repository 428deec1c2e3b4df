"""MsgExtStore contract: every adapter keeps one document per message, changed atomically."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from services.common.store.msg_ext import Extension, MsgExtensions
from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302
CONV = "c2c:alice:bob"


def _add(key: str, value: str) -> Callable[[MsgExtensions], tuple[MsgExtensions, int]]:
    """A change that sets `key` at the next seq and returns that seq."""

    def change(current: MsgExtensions) -> tuple[MsgExtensions, int]:
        seq = current.latest_seq + 1
        items = {**current.items, key: Extension(value, seq)}
        return MsgExtensions(seq, current.clear_seq, items), seq

    return change


async def test_a_message_without_extensions_reads_empty(stores: Stores) -> None:
    assert await stores.msg_ext.get(APP_A, CONV, 1) == MsgExtensions()


async def test_changes_are_kept_per_app_conversation_and_message(stores: Stores) -> None:
    s = stores.msg_ext
    assert await s.change(APP_A, CONV, 5, _add("k1", "v1")) == 1
    assert await s.change(APP_A, CONV, 5, _add("k2", "v2")) == 2
    await s.change(APP_A, CONV, 6, _add("other", "x"))
    await s.change(APP_A, "group:g1", 5, _add("group", "y"))
    await s.change(APP_B, CONV, 5, _add("app-b", "z"))
    got = await s.get(APP_A, CONV, 5)
    assert got == MsgExtensions(2, 0, {"k1": Extension("v1", 1), "k2": Extension("v2", 2)})
    assert list(got.items) == ["k1", "k2"]
    assert (await s.get(APP_A, CONV, 6)).items == {"other": Extension("x", 1)}
    assert (await s.get(APP_A, "group:g1", 5)).items == {"group": Extension("y", 1)}
    assert (await s.get(APP_B, CONV, 5)).items == {"app-b": Extension("z", 1)}


async def test_a_cleared_message_keeps_its_seqs(stores: Stores) -> None:
    s = stores.msg_ext
    await s.change(APP_A, CONV, 7, _add("k", "v"))
    await s.change(APP_A, CONV, 7, lambda cur: (MsgExtensions(2, 2, {}), None))
    assert await s.get(APP_A, CONV, 7) == MsgExtensions(2, 2, {})


async def test_a_refused_change_leaves_the_extensions(stores: Stores) -> None:
    s = stores.msg_ext
    await s.change(APP_A, CONV, 8, _add("k", "v"))

    def refuse(current: MsgExtensions) -> tuple[MsgExtensions, None]:
        raise ValueError("over a limit")

    with pytest.raises(ValueError):
        await s.change(APP_A, CONV, 8, refuse)
    assert await s.get(APP_A, CONV, 8) == MsgExtensions(1, 0, {"k": Extension("v", 1)})


async def test_concurrent_changes_all_apply(stores: Stores) -> None:
    s = stores.msg_ext
    seqs = await asyncio.gather(
        *(s.change(APP_A, CONV, 9, _add(f"k{i}", str(i))) for i in range(8))
    )
    assert sorted(seqs) == list(range(1, 9))
    got = await s.get(APP_A, CONV, 9)
    assert got.latest_seq == 8
    assert {k: e.value for k, e in got.items.items()} == {f"k{i}": str(i) for i in range(8)}
