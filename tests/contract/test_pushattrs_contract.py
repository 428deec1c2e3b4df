"""PushAttrStore contract: every adapter keeps attribute names, values and tags per app."""

from __future__ import annotations

from services.common.store.ports import Stores

APP_A = 1400000201
APP_B = 1400000202


async def test_attr_names_merge_per_app(stores: Stores) -> None:
    s = stores.push_attrs
    assert await s.get_attr_names(APP_A) == {}
    await s.set_attr_names(APP_A, {0: "sex", 1: "city"})
    await s.set_attr_names(APP_A, {1: "town", 2: "country"})
    await s.set_attr_names(APP_B, {0: "level"})
    assert await s.get_attr_names(APP_A) == {0: "sex", 1: "town", 2: "country"}
    assert await s.get_attr_names(APP_B) == {0: "level"}


async def test_user_attrs_set_merge_and_remove(stores: Stores) -> None:
    s = stores.push_attrs
    await s.set_attrs(APP_A, {"u1": {0: "f", 1: "NY"}, "u2": {1: "SZ"}})
    await s.set_attrs(APP_A, {"u1": {1: "LA"}})
    await s.set_attrs(APP_B, {"u1": {0: "m"}})
    assert await s.get_attrs(APP_A, ["u1", "u2", "u3"]) == {
        "u1": {0: "f", 1: "LA"},
        "u2": {1: "SZ"},
    }
    await s.remove_attrs(APP_A, {"u1": [0], "u2": [1, 5]})
    assert await s.get_attrs(APP_A, ["u1", "u2"]) == {"u1": {1: "LA"}}
    assert await s.get_attrs(APP_B, ["u1"]) == {"u1": {0: "m"}}
    assert await s.get_attrs(APP_A, []) == {}


async def test_tags_add_remove_and_clear(stores: Stores) -> None:
    s = stores.push_attrs
    await s.add_tags(APP_A, {"u1": ["b", "a", "a"], "u2": ["x"]})
    await s.add_tags(APP_A, {"u1": ["c", "b"]})
    await s.add_tags(APP_B, {"u1": ["other"]})
    assert await s.get_tags(APP_A, ["u1", "u2", "u3"]) == {"u1": ["a", "b", "c"], "u2": ["x"]}
    await s.remove_tags(APP_A, {"u1": ["b", "zz"]})
    assert await s.get_tags(APP_A, ["u1"]) == {"u1": ["a", "c"]}
    await s.remove_all_tags(APP_A, ["u1", "u2"])
    assert await s.get_tags(APP_A, ["u1", "u2"]) == {}
    assert await s.get_tags(APP_B, ["u1"]) == {"u1": ["other"]}
