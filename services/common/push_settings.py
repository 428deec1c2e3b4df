"""Checks of what a client writes as push settings and device tokens: the gateway refuses
bad input with them, before anything is stored. Pure functions, no I/O.

Times of day are "HH:MM" (24-hour, two digits each), kept as minutes after midnight. A
do-not-disturb window is two different minutes of the day (an empty window, start == end, is
refused: "no window" is spelled null); time zones are IANA names this host knows.
"""

from __future__ import annotations

import functools
import re
from zoneinfo import available_timezones

from services.common.store.push_devices import MAX_TOKEN_BYTES, VENDORS, PushSettings

MINUTES_A_DAY = 24 * 60
MAX_TIMEZONE_CHARS = 64
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_clock(text: str) -> int:
    """Minutes after midnight of "HH:MM" (24-hour, two digits each)."""
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return int(match[1]) * 60 + int(match[2])


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02}:{minutes % 60:02}"


def check_timezone(name: str) -> str:
    """An IANA zone name this host knows ("UTC", "Asia/Shanghai"), else ValueError."""
    if len(name) > MAX_TIMEZONE_CHARS or name not in _zone_names():
        raise ValueError(f"{name[:MAX_TIMEZONE_CHARS]!r} is not an IANA time zone name")
    return name


def check_window(start_min: int | None, end_min: int | None) -> None:
    """Both None (no window), or two different minutes of the day."""
    if (start_min is None) != (end_min is None):
        raise ValueError("a do-not-disturb window needs both a start and an end")
    if start_min is None or end_min is None:
        return
    for minute in (start_min, end_min):
        if not 0 <= minute < MINUTES_A_DAY:
            raise ValueError(f"{minute} is not a minute of the day")
    if start_min == end_min:
        raise ValueError("the do-not-disturb window is empty (start equals end); send null")


def check_settings(settings: PushSettings) -> PushSettings:
    check_window(settings.dnd_start_min, settings.dnd_end_min)
    check_timezone(settings.timezone)
    return settings


def check_device(vendor: str, token: str) -> None:
    if vendor not in VENDORS:
        raise ValueError(f"unknown push vendor {vendor!r}; one of {', '.join(VENDORS)}")
    if not token or len(token.encode()) > MAX_TOKEN_BYTES:
        raise ValueError(f"a push token is 1 to {MAX_TOKEN_BYTES} bytes")
