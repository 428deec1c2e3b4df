"""Group counter and group attribute rules: parsing, limits, merging, with Tencent's codes."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway.rest_v4.group_kv import (
    ATTR_VALUES_MAX_BYTES,
    DECREASE,
    INCREASE,
    INT64,
    MAX_ATTRS,
    MAX_COUNTERS,
    SET,
    apply_counter_changes,
    attr_list,
    check_attr_limits,
    counter_list,
    delete_attr_keys,
    parse_attr_keys,
    parse_attrs,
    parse_counter_changes,
    parse_counter_keys,
    parse_mode,
    without_keys,
)

BAD = ErrorCode.GROUP_INVALID_PARAM


def _code(call: Any, *args: Any) -> int:
    with pytest.raises(TidingsError) as err:
        call(*args)
    return int(err.value.code)


def test_counter_changes_follow_tencents_fields_and_limits() -> None:
    raw = [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": -1}]
    assert parse_counter_changes(raw) == {"like": 5, "unlike": -1}
    assert list(parse_counter_changes(raw)) == ["like", "unlike"]
    too_many = [{"Key": f"k{i}", "Value": 1} for i in range(MAX_COUNTERS + 1)]
    for bad in (
        None,
        [],
        {"like": 5},
        too_many,
        ["like"],
        [{"Key": "", "Value": 1}],
        [{"Key": 5, "Value": 1}],
        [{"Key": "k" * 129, "Value": 1}],
        [{"Key": "like"}],
        [{"Key": "like", "Value": "5"}],
        [{"Key": "like", "Value": True}],
        [{"Key": "like", "Value": 1.5}],
        [{"Key": "like", "Value": INT64.high + 1}],
        [{"Key": "like", "Value": 1}, {"Key": "like", "Value": 2}],
    ):
        assert _code(parse_counter_changes, bad) == BAD, bad
    assert parse_counter_changes([{"Key": "k" * 128, "Value": INT64.low}]) == {"k" * 128: INT64.low}


def test_counter_keys_and_mode() -> None:
    assert parse_counter_keys(None) is None
    assert parse_counter_keys([]) is None
    assert parse_counter_keys(["like", "unlike", "like"]) == ["like", "unlike"]
    for bad in ("like", [1], [""], ["k" * 129], [f"k{i}" for i in range(MAX_COUNTERS + 1)]):
        assert _code(parse_counter_keys, bad) == BAD, bad
    assert parse_mode(None) == SET
    assert [parse_mode(m) for m in ("Set", "Increase", "Decrease")] == [SET, INCREASE, DECREASE]
    for bad in ("set", "", 1, ["Set"]):
        assert _code(parse_mode, bad) == BAD, bad


def test_counter_modes_start_absent_keys_at_zero() -> None:
    current = {"like": 5, "view": 10}
    assert apply_counter_changes(current, {"like": 2, "new": 3}, SET) == {
        "like": 2,
        "view": 10,
        "new": 3,
    }
    assert apply_counter_changes(current, {"like": 2, "new": 3}, INCREASE) == {
        "like": 7,
        "view": 10,
        "new": 3,
    }
    assert apply_counter_changes(current, {"like": 2, "new": 3}, DECREASE) == {
        "like": 3,
        "view": 10,
        "new": -3,
    }
    assert current == {"like": 5, "view": 10}


def test_counter_limits() -> None:
    full = {f"k{i}": i for i in range(MAX_COUNTERS)}
    assert apply_counter_changes(full, {"k0": 9}, INCREASE)["k0"] == 9
    assert _code(apply_counter_changes, full, {"one_more": 1}, SET) == BAD
    assert _code(apply_counter_changes, {"k": INT64.high}, {"k": 1}, INCREASE) == BAD
    assert _code(apply_counter_changes, {"k": INT64.low}, {"k": 1}, DECREASE) == BAD
    # A negative change goes the other way, up to the range's edge.
    assert apply_counter_changes({"k": INT64.high - 1}, {"k": -1}, DECREASE) == {"k": INT64.high}


def test_counter_replies_and_deletes() -> None:
    counters = {"like": 5, "unlike": 1, "view": 9}
    assert counter_list(counters) == [
        {"Key": "like", "Value": 5},
        {"Key": "unlike", "Value": 1},
        {"Key": "view", "Value": 9},
    ]
    assert counter_list(counters, ["view", "ghost", "like"]) == [
        {"Key": "view", "Value": 9},
        {"Key": "like", "Value": 5},
    ]
    assert without_keys(counters, ["like", "ghost"]) == {"unlike": 1, "view": 9}
    assert without_keys(counters, None) == {}


def test_attrs_follow_tencents_fields_and_codes() -> None:
    raw = [{"key": "attr_key", "value": "attr_val"}, {"key": "attr_key1", "value": ""}]
    assert parse_attrs(raw) == {"attr_key": "attr_val", "attr_key1": ""}
    cases: list[tuple[object, ErrorCode]] = [
        (None, BAD),
        ([], BAD),
        ({"attr_key": "v"}, BAD),
        (["attr_key"], BAD),
        ([{"Key": "attr_key", "Value": "v"}], BAD),
        ([{"key": "", "value": "v"}], BAD),
        ([{"key": "k"}], BAD),
        ([{"key": "k", "value": 1}], BAD),
        ([{"key": "k", "value": "a"}, {"key": "k", "value": "b"}], BAD),
        ([{"key": "k" * 33, "value": "v"}], ErrorCode.GROUP_ATTR_KEY_TOO_LONG),
        ([{"key": "k", "value": "v" * 4001}], ErrorCode.GROUP_ATTR_VALUE_TOO_LONG),
        (
            [{"key": f"k{i}", "value": "v"} for i in range(MAX_ATTRS + 1)],
            ErrorCode.GROUP_ATTR_TOO_MANY_KEYS,
        ),
    ]
    for bad, code in cases:
        assert _code(parse_attrs, bad) == code, bad
    # Limits count UTF-8 bytes.
    assert _code(parse_attrs, [{"key": "é" * 17, "value": ""}]) == ErrorCode.GROUP_ATTR_KEY_TOO_LONG
    assert parse_attrs([{"key": "k" * 32, "value": "v" * 4000}]) == {"k" * 32: "v" * 4000}


def test_attr_keys_of_delete() -> None:
    assert parse_attr_keys([{"key": "a"}, {"key": "b"}, {"key": "a"}]) == ["a", "b"]
    assert _code(parse_attr_keys, [{"value": "a"}]) == BAD
    assert _code(parse_attr_keys, [{"key": "k" * 33}]) == ErrorCode.GROUP_ATTR_KEY_TOO_LONG
    assert _code(parse_attr_keys, []) == BAD


def test_attr_limits_per_group() -> None:
    full = {f"k{i}": "v" for i in range(MAX_ATTRS)}
    assert check_attr_limits(full) == full
    assert _code(check_attr_limits, {**full, "one_more": ""}) == ErrorCode.GROUP_ATTR_TOO_MANY_KEYS
    per_value = ATTR_VALUES_MAX_BYTES // 4
    fits = {f"k{i}": "v" * per_value for i in range(4)}
    assert check_attr_limits(fits) == fits
    assert _code(check_attr_limits, {**fits, "x": "v"}) == ErrorCode.GROUP_ATTR_TOTAL_TOO_LARGE


def test_attr_delete_needs_every_key() -> None:
    current = {"a": "1", "b": "2", "c": "3"}
    assert delete_attr_keys(current, ["a", "c"]) == {"b": "2"}
    assert _code(delete_attr_keys, current, ["a", "ghost"]) == ErrorCode.GROUP_ATTR_KEY_NOT_FOUND
    assert attr_list({"a": "1", "b": ""}) == [{"key": "a", "value": "1"}, {"key": "b", "value": ""}]
