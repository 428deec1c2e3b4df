"""Push settings rules: clock parsing, checks, and do-not-disturb windows across midnight and
DST shifts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.push_settings import (
    check_device,
    check_settings,
    check_timezone,
    check_window,
    format_clock,
    parse_clock,
)
from services.common.store.push_devices import MAX_TOKEN_BYTES, PushSettings
from services.push.settings import in_dnd


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def dnd(start: str, end: str, tz: str = "UTC") -> PushSettings:
    return PushSettings(dnd_start_min=parse_clock(start), dnd_end_min=parse_clock(end), timezone=tz)


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("07:05", 425), ("23:59", 1439)])
def test_parse_and_format_clock(text: str, minutes: int) -> None:
    assert parse_clock(text) == minutes
    assert format_clock(minutes) == text


@pytest.mark.parametrize("text", ["24:00", "7:00", "07:60", "0700", "", "07:00 ", "٠٧:٠٠"])
def test_parse_clock_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


def test_no_window_is_never_dnd() -> None:
    assert not in_dnd(PushSettings(), at("2026-01-01T23:00:00"))


def test_window_within_a_day_start_inclusive_end_exclusive() -> None:
    s = dnd("12:00", "13:30")
    assert not in_dnd(s, at("2026-01-01T11:59:59"))
    assert in_dnd(s, at("2026-01-01T12:00:00"))
    assert in_dnd(s, at("2026-01-01T13:29:59"))
    assert not in_dnd(s, at("2026-01-01T13:30:00"))


def test_window_across_midnight() -> None:
    s = dnd("22:00", "07:00")
    assert not in_dnd(s, at("2026-01-01T21:59:00"))
    assert in_dnd(s, at("2026-01-01T22:00:00"))
    assert in_dnd(s, at("2026-01-01T23:59:59"))
    assert in_dnd(s, at("2026-01-02T00:00:00"))
    assert in_dnd(s, at("2026-01-02T06:59:00"))
    assert not in_dnd(s, at("2026-01-02T07:00:00"))
    assert not in_dnd(s, at("2026-01-02T12:00:00"))


def test_window_is_in_the_users_time_zone() -> None:
    s = dnd("22:00", "07:00", "Asia/Shanghai")  # UTC+8, no DST
    assert in_dnd(s, at("2026-06-01T14:00:00"))  # 22:00 local
    assert not in_dnd(s, at("2026-06-01T23:00:00"))  # 07:00 local
    assert in_dnd(s, at("2026-06-01T22:00:00"))  # 06:00 local
    assert not in_dnd(s, at("2026-06-01T06:00:00"))  # 14:00 local, though 06:00 in UTC


def test_window_follows_dst() -> None:
    s = dnd("22:00", "07:00", "Europe/Berlin")
    # Winter, UTC+1: 21:30 UTC is 22:30 local.
    assert in_dnd(s, at("2026-01-15T21:30:00"))
    # Summer, UTC+2: 20:30 UTC is 22:30 local, 05:30 UTC is 07:30 local.
    assert in_dnd(s, at("2026-07-15T20:30:00"))
    assert not in_dnd(s, at("2026-07-15T05:30:00"))
    assert in_dnd(s, at("2026-01-15T05:30:00"))  # 06:30 local in winter


def test_dst_gap_and_fold() -> None:
    # New York springs forward 2026-03-08 at 02:00 local (07:00 UTC) to 03:00.
    s = dnd("02:00", "03:00", "America/New_York")
    assert not in_dnd(s, at("2026-03-08T06:59:00"))  # 01:59 EST
    assert not in_dnd(s, at("2026-03-08T07:00:00"))  # 03:00 EDT: the window never came
    # It falls back 2026-11-01 at 02:00 EDT (06:00 UTC) to 01:00 EST: 01:30 happens twice.
    s = dnd("01:00", "02:00", "America/New_York")
    assert in_dnd(s, at("2026-11-01T05:30:00"))  # 01:30 EDT
    assert in_dnd(s, at("2026-11-01T06:30:00"))  # 01:30 EST
    assert not in_dnd(s, at("2026-11-01T07:00:00"))  # 02:00 EST


def test_check_window() -> None:
    check_window(None, None)
    check_window(0, 1439)
    for start, end in [(600, None), (None, 600), (600, 600), (-1, 10), (10, 1440)]:
        with pytest.raises(ValueError):
            check_window(start, end)


def test_check_timezone() -> None:
    assert check_timezone("UTC") == "UTC"
    assert check_timezone("America/Sao_Paulo") == "America/Sao_Paulo"
    for bad in ["Mars/Olympus", "", "../etc/passwd", "utc ", "x" * 200]:
        with pytest.raises(ValueError):
            check_timezone(bad)


def test_check_settings() -> None:
    good = dnd("23:00", "06:00", "Asia/Tokyo")
    assert check_settings(good) is good
    with pytest.raises(ValueError):
        check_settings(PushSettings(timezone="Nowhere/Land"))


def test_check_device() -> None:
    check_device("apns", "a" * MAX_TOKEN_BYTES)
    for vendor, token in [("apple", "t"), ("fcm", ""), ("fcm", "a" * (MAX_TOKEN_BYTES + 1))]:
        with pytest.raises(ValueError):
            check_device(vendor, token)
    with pytest.raises(ValueError):
        check_device("fcm", "é" * (MAX_TOKEN_BYTES // 2 + 1))  # bytes, not characters
