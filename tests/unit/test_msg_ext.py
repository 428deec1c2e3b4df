"""Message extension rules: parsing, compare-and-set by Seq, clear and paging."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.msg_ext import Extension, MsgExtensions
from services.gateway.rest_v4.msg_ext import (
    DELETE,
    MAX_KEYS,
    MAX_WRITES,
    PAGE_SIZE,
    SET,
    ExtWrite,
    apply_writes,
    clear_all,
    extension_page,
    parse_writes,
)

BAD = ErrorCode.OPENIM_JSON_FIELDS
CONFLICT = int(ErrorCode.MSG_EXTENSION_CONFLICT)
NOT_EXIST = int(ErrorCode.MSG_EXTENSION_NOT_EXIST)


def _code(call: Any, *args: Any) -> int:
    with pytest.raises(TidingsError) as err:
        call(*args)
    return int(err.value.code)


def _ext(key: str, value: str, seq: int, code: int = 0) -> dict[str, Any]:
    return {"ErrorCode": code, "Extension": {"Key": key, "Value": value, "Seq": seq}}


def test_parse_writes_follows_tencents_fields_and_limits() -> None:
    raw = [{"Key": "k1", "Value": "v1", "Seq": 0}, {"Key": "k2", "Value": "v2"}]
    assert parse_writes(raw, SET, BAD) == [ExtWrite("k1", "v1", 0), ExtWrite("k2", "v2", None)]
    # A delete needs no Value, and keeps none.
    assert parse_writes([{"Key": "k", "Value": "x", "Seq": 1}], DELETE, BAD) == [
        ExtWrite("k", "", 1)
    ]
    assert parse_writes([{"Key": "k"}], DELETE, BAD) == [ExtWrite("k", "", None)]
    assert parse_writes([{"Key": "k" * 100, "Value": "v" * 1000}], SET, BAD)
    for bad in (
        None,
        [],
        {"Key": "k"},
        ["k"],
        [{"Value": "v"}],
        [{"Key": "", "Value": "v"}],
        [{"Key": "k"}],
        [{"Key": "k", "Value": ""}],
        [{"Key": "k" * 101, "Value": "v"}],
        [{"Key": "k", "Value": "v" * 1001}],
        [{"Key": "k", "Value": "v", "Seq": -1}],
        [{"Key": "k", "Value": "v", "Seq": "1"}],
        [{"Key": "k", "Value": "v"}, {"Key": "k", "Value": "w"}],
        [{"Key": f"k{i}", "Value": "v"} for i in range(MAX_WRITES + 1)],
    ):
        assert _code(parse_writes, bad, SET, BAD) == BAD, bad


def test_a_set_takes_the_next_seq_for_every_key_it_writes() -> None:
    first, results = apply_writes(
        MsgExtensions(), [ExtWrite("k1", "v1", 0), ExtWrite("k2", "v2", 0)], SET, BAD
    )
    assert results == [_ext("k1", "v1", 1), _ext("k2", "v2", 1)]
    assert first == MsgExtensions(1, 0, {"k1": Extension("v1", 1), "k2": Extension("v2", 1)})
    second, results = apply_writes(
        first, [ExtWrite("k2", "two", 1), ExtWrite("k3", "v3", None)], SET, BAD
    )
    assert results == [_ext("k2", "two", 2), _ext("k3", "v3", 2)]
    assert second.latest_seq == 2
    assert second.items == {
        "k1": Extension("v1", 1),
        "k2": Extension("two", 2),
        "k3": Extension("v3", 2),
    }


def test_a_stale_seq_fails_for_that_key_alone() -> None:
    current = MsgExtensions(3, 0, {"k1": Extension("v1", 3), "k2": Extension("v2", 1)})
    after, results = apply_writes(
        current,
        [ExtWrite("k1", "mine", 1), ExtWrite("k2", "new", 1), ExtWrite("k9", "x", 4)],
        SET,
        BAD,
    )
    # The winner's value comes back with its Seq, for the caller to retry from.
    assert results == [
        _ext("k1", "v1", 3, CONFLICT),
        _ext("k2", "new", 4),
        _ext("k9", "", 0, CONFLICT),
    ]
    assert after.latest_seq == 4
    assert after.items["k1"] == Extension("v1", 3) and after.items["k2"] == Extension("new", 4)
    # Nothing written: the extensions stay as they were, Seq included.
    unchanged, results = apply_writes(current, [ExtWrite("k1", "x", 0)], SET, BAD)
    assert unchanged == current and results == [_ext("k1", "v1", 3, CONFLICT)]


def test_delete_removes_keys_and_counts_as_a_change() -> None:
    current = MsgExtensions(2, 0, {"k1": Extension("v1", 1), "k2": Extension("v2", 2)})
    after, results = apply_writes(
        current,
        [ExtWrite("k1", "", 1), ExtWrite("k2", "", 1), ExtWrite("gone", "", None)],
        DELETE,
        BAD,
    )
    assert results == [
        _ext("k1", "", 3),
        _ext("k2", "v2", 2, CONFLICT),
        _ext("gone", "", 0, NOT_EXIST),
    ]
    assert after == MsgExtensions(3, 0, {"k2": Extension("v2", 2)})


def test_a_message_holds_at_most_300_keys() -> None:
    full = MsgExtensions(1, 0, {f"k{i}": Extension("v", 1) for i in range(MAX_KEYS)})
    assert _code(apply_writes, full, [ExtWrite("one-more", "v", None)], SET, BAD) == BAD
    # Rewriting a key it has is fine.
    after, _ = apply_writes(full, [ExtWrite("k0", "w", 1)], SET, BAD)
    assert len(after.items) == MAX_KEYS


def test_clear_drops_every_key_at_the_next_seq() -> None:
    current = MsgExtensions(5, 2, {"k": Extension("v", 5)})
    assert clear_all(current) == (MsgExtensions(6, 6, {}), [])


def test_pages_list_keys_by_seq_from_start_seq() -> None:
    current = MsgExtensions(
        4, 1, {"b": Extension("2", 3), "a": Extension("1", 2), "c": Extension("3", 3)}
    )
    assert extension_page(current, 0) == {
        "CompleteFlag": 1,
        "LatestSeq": 4,
        "ClearSeq": 1,
        "ExtensionList": [
            {"Key": "a", "Value": "1", "Seq": 2},
            {"Key": "b", "Value": "2", "Seq": 3},
            {"Key": "c", "Value": "3", "Seq": 3},
        ],
    }
    assert [e["Key"] for e in extension_page(current, 3)["ExtensionList"]] == ["b", "c"]
    assert extension_page(current, 5)["ExtensionList"] == []
    assert extension_page(MsgExtensions(), 0) == {
        "CompleteFlag": 1,
        "LatestSeq": 0,
        "ClearSeq": 0,
        "ExtensionList": [],
    }


def test_a_long_list_is_cut_at_a_whole_seq() -> None:
    # 15 changes of 20 keys each: Seq 1..15, 300 keys.
    items = {f"s{s}k{i}": Extension("v", s) for s in range(1, 16) for i in range(MAX_WRITES)}
    current = MsgExtensions(15, 0, items)
    first = extension_page(current, 0)
    assert first["CompleteFlag"] == 0 and len(first["ExtensionList"]) == PAGE_SIZE
    last_seq = first["ExtensionList"][-1]["Seq"]
    rest = extension_page(current, last_seq + 1)
    assert rest["CompleteFlag"] == 1
    assert len(first["ExtensionList"]) + len(rest["ExtensionList"]) == len(items)
    # One key fewer: the 200th key is Seq 11's first, so the page ends with Seq 10 and the
    # next starts with Seq 11.
    uneven = dict(items)
    del uneven["s1k0"]
    page = extension_page(MsgExtensions(15, 0, uneven), 0)
    assert page["CompleteFlag"] == 0
    assert {e["Seq"] for e in page["ExtensionList"]} == set(range(1, 11))
    assert len(page["ExtensionList"]) == 10 * MAX_WRITES - 1
    assert extension_page(MsgExtensions(15, 0, uneven), 11)["ExtensionList"][0]["Seq"] == 11


def test_extensions_round_trip_as_documents() -> None:
    current = MsgExtensions(7, 3, {"k": Extension("v", 7), "é": Extension("ü", 5)})
    assert MsgExtensions.from_doc(current.to_doc()) == current
    assert list(MsgExtensions.from_doc(current.to_doc()).items) == ["k", "é"]
