"""Integer fields are checked against their ranges where a request is parsed (bounds.py), so
a number too large or negative for protobuf, SQLite or Cassandra is a parameter error with
the caller's code and a message naming the field and the range, never an internal error."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway import frames, frames_proto, reports
from services.gateway.bounds import (
    INT64_MAX,
    SDKAPPID,
    STORED_U64,
    UINT32,
    UINT32_MAX,
    IntRange,
    checked_int,
    parse_decimal,
)
from services.gateway.msgbody import msg_body_json
from services.gateway.msgkeys import parse_msg_key
from services.gateway.rest_v4 import fields

U64_MAX = 2**64 - 1


@pytest.mark.parametrize(
    ("value", "within"),
    [
        (U64_MAX, UINT32),
        (-1, UINT32),
        (UINT32_MAX + 1, UINT32),
        (U64_MAX, STORED_U64),
        (INT64_MAX + 1, STORED_U64),
        (-1, STORED_U64),
        (1.0, UINT32),
        ("1", UINT32),
        (True, UINT32),
    ],
)
def test_out_of_range_or_not_an_integer_is_refused_with_the_field_and_range(
    value: Any, within: IntRange
) -> None:
    with pytest.raises(TidingsError) as err:
        checked_int(value, "MaxTime", within, ErrorCode.OPENIM_JSON_FIELDS)
    assert err.value.code == ErrorCode.OPENIM_JSON_FIELDS
    assert "MaxTime" in err.value.info
    assert str(within) in err.value.info


def test_the_ends_of_a_range_are_in_it() -> None:
    for within in (UINT32, STORED_U64, IntRange(1, 2)):
        for value in (within.low, within.high):
            assert checked_int(value, "x", within, ErrorCode.WS_BAD_FRAME) == value


@pytest.mark.parametrize(
    "text", ["", "-1", "1.5", "²", "١٢", " 1", "1_0", "1" * 5000, str(INT64_MAX + 1)]
)
def test_decimal_strings_are_ascii_digits_within_the_range(text: str) -> None:
    # "²" and Arabic-Indic digits pass str.isdigit() but int() refuses them; 5,000 digits
    # pass the regex but int() refuses those too. Each must be a parameter error instead.
    with pytest.raises(TidingsError) as err:
        parse_decimal(text, "seq", STORED_U64, ErrorCode.OPENIM_BAD_MSG_KEY)
    assert err.value.code == ErrorCode.OPENIM_BAD_MSG_KEY


def test_decimal_strings_in_range_parse() -> None:
    assert parse_decimal("0042", "seq", STORED_U64, ErrorCode.OPENIM_BAD_MSG_KEY) == 42
    assert parse_decimal("1400000001", "sdkappid", SDKAPPID, ErrorCode.REST_SDKAPPID_REQUIRED) == (
        1400000001
    )


@pytest.mark.parametrize(
    "key", [f"{2**70}_{2**70}_1", f"1_{2**64 - 1}_1", f"{2**32}_1_1", f"1_1_{2**32}", "1_²_1"]
)
def test_msg_keys_with_parts_out_of_range_name_no_message(key: str) -> None:
    with pytest.raises(TidingsError) as err:
        parse_msg_key(key, ErrorCode.OPENIM_BAD_MSG_KEY)
    assert err.value.code == ErrorCode.OPENIM_BAD_MSG_KEY


def test_rest_fields_take_a_range_and_a_default() -> None:
    body = {"MaxTime": U64_MAX, "MsgSeq": 7, "Empty": None}
    with pytest.raises(TidingsError) as err:
        fields.integer(body, "MaxTime", code=ErrorCode.OPENIM_JSON_FIELDS, within=UINT32)
    assert err.value.code == ErrorCode.OPENIM_JSON_FIELDS
    assert fields.integer(body, "MsgSeq", code=ErrorCode.OPENIM_JSON_FIELDS, within=UINT32) == 7
    assert (
        fields.integer(
            body, "Absent", code=ErrorCode.OPENIM_JSON_FIELDS, within=UINT32, required=False
        )
        == 0
    )
    assert (
        fields.optional_integer(body, "Empty", code=ErrorCode.GROUP_INVALID_PARAM, within=UINT32)
        is None
    )


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "sync", "peer": "bob", "after_seq": U64_MAX},
        {"op": "sync", "peer": "bob", "limit": U64_MAX},
        {"op": "sync", "peer": "bob", "after_seq": -1},
    ],
)
def test_sync_frames_out_of_range_are_bad_frames(frame: dict[str, Any]) -> None:
    with pytest.raises(TidingsError) as err:
        frames.parse_sync(frame, "alice")
    assert err.value.code == ErrorCode.WS_BAD_FRAME


@pytest.mark.parametrize("random", [U64_MAX, -1, 2**32])
def test_send_frames_with_a_random_out_of_range_are_bad_frames(random: int) -> None:
    with pytest.raises(TidingsError) as err:
        frames.parse_send(
            {"op": "send", "to": "b", "text": "x", "random": random}, 1, "a", "Web", 100
        )
    assert err.value.code == ErrorCode.WS_BAD_FRAME
    assert "random" in err.value.info


def test_login_and_report_frames_check_their_integers() -> None:
    with pytest.raises(TidingsError) as err:
        frames.parse_login({"op": "login", "sdkappid": U64_MAX, "identifier": "a", "usersig": "s"})
    assert err.value.code == ErrorCode.WS_BAD_FRAME
    for seq in (U64_MAX, 0, -1):
        with pytest.raises(TidingsError) as err:
            reports.parse_report({"op": "report", "peer": "b", "seq": seq, "reason": "x"}, "a")
        assert err.value.code == ErrorCode.WS_BAD_FRAME


def test_proto_frames_keep_numbers_past_64_bits_as_floats() -> None:
    # A Struct number is a double. Turned into an int, 1e300 would be an integer that orjson
    # cannot write back out inside a MsgBody (an internal error before).
    elements = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x", "n": 1e300, "m": 3.0}}]
    raw = frames_proto.encode_frame({"op": "send", "id": 1, "to": "b", "elements": elements})
    frame = frames_proto.decode_frame(raw, 64 * 1024)
    content = frame["elements"][0]["MsgContent"]
    assert isinstance(content["n"], float) and isinstance(content["m"], int)
    inbound = frames.parse_send(frame, 1, "a", "Web", 1024)
    assert msg_body_json(inbound.elements)[0]["MsgContent"]["n"] == 1e300
    # And where an integer is due, such a number is a bad frame.
    frame = frames_proto.decode_frame(
        frames_proto.encode_frame({"op": "send", "to": "b", "text": "x", "random": 1e30}), 1024
    )
    with pytest.raises(TidingsError) as err:
        frames.parse_send(frame, 1, "a", "Web", 1024)
    assert err.value.code == ErrorCode.WS_BAD_FRAME
    assert "random" in err.value.info
