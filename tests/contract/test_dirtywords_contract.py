"""DirtyWordStore contract: words per app, sorted, added once, deleted idempotently."""

from __future__ import annotations

from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302


async def test_words_per_app(stores: Stores) -> None:
    s = stores.dirty_words
    assert await s.list_words(APP_A) == []
    await s.add_words(APP_A, ["发票", "spam", "spam"])
    await s.add_words(APP_A, ["ads", "发票"])
    await s.add_words(APP_B, ["other"])
    assert await s.list_words(APP_A) == sorted(["发票", "spam", "ads"])
    await s.delete_words(APP_A, ["spam", "missing"])
    assert await s.list_words(APP_A) == sorted(["发票", "ads"])
    assert await s.list_words(APP_B) == ["other"]
