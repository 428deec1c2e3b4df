"""Checks of what a client writes as push settings and device tokens: the gateway refuses
bad input with them, before anything is stored. Pure functions, no I/O.

Times of day are "HH:MM" (24-hour, two digits each), kept as minutes after midnight. A
do-not-disturb window is two different minutes of the day (an empty window, start == end, is
refused: "no window" is spelled null); time zones are IANA names this host knows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
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


@dataclass(frozen=True, slots=True)
class SettingsFields:
    """How one front end names the settings' fields: the WebSocket op in lower case, the REST
    commands as Tencent names fields."""

    enabled: str
    dnd: str
    start: str
    end: str
    timezone: str

    @property
    def top(self) -> tuple[str, str, str]:
        return (self.enabled, self.dnd, self.timezone)


WS_FIELDS = SettingsFields("enabled", "dnd", "start", "end", "timezone")
REST_FIELDS = SettingsFields("Enabled", "DND", "Start", "End", "TimeZone")


def settings_doc(settings: PushSettings, names: SettingsFields) -> dict[str, Any]:
    start, end = settings.dnd_start_min, settings.dnd_end_min
    return {
        names.enabled: settings.enabled,
        names.dnd: (
            None
            if start is None or end is None
            else {names.start: format_clock(start), names.end: format_clock(end)}
        ),
        names.timezone: settings.timezone,
    }


def changed_settings(
    current: PushSettings, given: Mapping[str, Any], names: SettingsFields
) -> PushSettings:
    """The settings after the fields `given` names, checked; ValueError naming the field."""
    changed = current
    if names.enabled in given:
        enabled = given[names.enabled]
        if not isinstance(enabled, bool):
            raise ValueError(f"'{names.enabled}' must be true or false")
        changed = replace(changed, enabled=enabled)
    if names.dnd in given:
        dnd = given[names.dnd]
        if dnd is None:
            changed = replace(changed, dnd_start_min=None, dnd_end_min=None)
        else:
            start = dnd.get(names.start) if isinstance(dnd, Mapping) else None
            end = dnd.get(names.end) if isinstance(dnd, Mapping) else None
            if not isinstance(start, str) or not isinstance(end, str):
                raise ValueError(
                    f'\'{names.dnd}\' must be {{"{names.start}": "HH:MM", '
                    f'"{names.end}": "HH:MM"}} or null'
                )
            try:
                changed = replace(
                    changed, dnd_start_min=parse_clock(start), dnd_end_min=parse_clock(end)
                )
            except ValueError as exc:
                raise ValueError(f"'{names.dnd}': {exc}") from exc
    if names.timezone in given:
        timezone = given[names.timezone]
        if not isinstance(timezone, str):
            raise ValueError(
                f"'{names.timezone}' must be an IANA time zone name such as \"Asia/Shanghai\""
            )
        changed = replace(changed, timezone=timezone)
    return check_settings(changed)
