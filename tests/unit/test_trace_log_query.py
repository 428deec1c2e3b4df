"""The rules of an event-log search, checked before any store is read: the range, the filters,
the page size and the cursor; and the record id that makes appends idempotent."""

from __future__ import annotations

import pytest

from services.cli.events import parse_time
from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import (
    CLOCK_SLACK_MS,
    DAY_MS,
    MAX_PAGE,
    RETENTION_MS,
    Position,
    TraceQueryError,
    build_query,
    decode_cursor,
    encode_cursor,
    record_id,
    writable,
)

APP = 1400000601
NOW = 1_780_000_000_000


def test_a_cursor_round_trips_and_is_opaque() -> None:
    pos = Position(NOW - 5, record_id(trace.new_trace(APP, trace.LOGIN, "alice", time_ms=NOW)))
    cursor = encode_cursor(pos)
    assert str(NOW - 5) not in cursor
    assert "=" not in cursor
    assert decode_cursor(cursor) == pos
    assert build_query(APP, NOW - DAY_MS, None, NOW, cursor=cursor).after == pos


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!",
        "a" * 65,
        encode_cursor(Position(5, "0" * 24))[:-2],
        # Well-formed base64 of the wrong things.
        "MS5hYmMuZGVm",  # "1.abc.def"
        "Mi41LjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA",  # version 2
        encode_cursor(Position(10**20, "0" * 24)),  # past what a store can bind
        encode_cursor(Position(-5, "0" * 24)),
    ],
)
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(TraceQueryError, match="cursor is not one"):
        build_query(APP, NOW - DAY_MS, None, NOW, cursor=cursor)


def test_the_range_is_bounded_to_the_kept_days() -> None:
    q = build_query(APP, NOW - RETENTION_MS - CLOCK_SLACK_MS, None, NOW)
    # A "7 days ago" computed a moment before the check passes, raised to the oldest kept.
    assert (q.since_ms, q.until_ms) == (NOW - RETENTION_MS, NOW)
    with pytest.raises(TraceQueryError, match="more than 7 days ago"):
        build_query(APP, NOW - RETENTION_MS - CLOCK_SLACK_MS - 1, None, NOW)
    with pytest.raises(TraceQueryError, match="before since"):
        build_query(APP, NOW - 10, NOW - 11, NOW)
    # Nothing is traced in the future: an end past now reads as now (and a clock's slack).
    assert build_query(APP, NOW - 10, NOW + DAY_MS, NOW).until_ms == NOW + CLOCK_SLACK_MS
    assert build_query(APP, NOW - 10, NOW - 10, NOW).until_ms == NOW - 10


def test_filters_and_page_size_are_checked() -> None:
    q = build_query(APP, NOW - 10, None, NOW, event=trace.KICK, user="u", code=0, limit=MAX_PAGE)
    assert (q.event, q.user, q.code, q.limit, q.filtered) == (trace.KICK, "u", 0, MAX_PAGE, True)
    assert not build_query(APP, NOW - 10, None, NOW).filtered
    with pytest.raises(TraceQueryError, match="event 'sendmsg' is not one of login, logout"):
        build_query(APP, NOW - 10, None, NOW, event="sendmsg")
    for limit in (0, MAX_PAGE + 1):
        with pytest.raises(TraceQueryError, match="limit must be 1 to 100"):
            build_query(APP, NOW - 10, None, NOW, limit=limit)
    with pytest.raises(TraceQueryError, match="user is longer than 128"):
        build_query(APP, NOW - 10, None, NOW, user="u" * 129)
    with pytest.raises(TraceQueryError, match="not a 32-bit integer"):
        build_query(APP, NOW - 10, None, NOW, code=2**31)


def test_matches_every_filter_set() -> None:
    e = trace.new_trace(APP, trace.C2C_SEND, "alice", peer="bob", code=80001, time_ms=NOW)
    q = build_query(APP, NOW - 10, None, NOW, user="alice", peer="bob", code=80001)
    assert q.matches(e)
    assert not build_query(APP, NOW - 10, None, NOW, code=0).matches(e)
    assert not build_query(APP, NOW - 10, None, NOW, group_id="g").matches(e)
    assert build_query(APP, NOW - 10, None, NOW).matches(e)


def test_record_id_is_the_records_identity() -> None:
    e = trace.new_trace(APP, trace.LOGIN, "alice", request_id="r1", time_ms=NOW)
    again = TraceEvent.FromString(e.SerializeToString())
    assert record_id(e) == record_id(again)
    assert len(record_id(e)) == 24
    other = trace.new_trace(APP, trace.LOGIN, "alice", request_id="r2", time_ms=NOW)
    assert record_id(other) != record_id(e)


def test_records_past_the_kept_days_are_not_written() -> None:
    old = trace.new_trace(APP, trace.LOGIN, "a", time_ms=NOW - RETENTION_MS - 1)
    kept = trace.new_trace(APP, trace.LOGIN, "b", time_ms=NOW - RETENTION_MS)
    assert writable([old, kept], NOW) == [kept]


def test_cli_times() -> None:
    assert parse_time("90m", NOW) == NOW - 90 * 60_000
    assert parse_time("3d", NOW) == NOW - 3 * DAY_MS
    assert parse_time(str(NOW - 7), NOW) == NOW - 7
    assert parse_time("2026-05-28T20:26:40", NOW) == 1_780_000_000_000
    assert parse_time("2026-05-28T22:26:40+02:00", NOW) == 1_780_000_000_000
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday", NOW)
