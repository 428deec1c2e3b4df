"""When a push may be sent: whether a moment falls in the user's do-not-disturb window. Pure,
no I/O; what a client may write is checked by services/common/push_settings.py.

A window is [start, end) in the user's local wall-clock time, read through zoneinfo so that DST
shifts move it with the clock. A window whose start is after its end crosses midnight
(22:00-07:00).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.common.store.push_devices import PushSettings


def in_dnd(settings: PushSettings, now_utc: datetime) -> bool:
    """Is now_utc (timezone-aware) inside the user's do-not-disturb window?"""
    start, end = settings.dnd_start_min, settings.dnd_end_min
    if start is None or end is None or start == end:
        return False
    local = now_utc.astimezone(ZoneInfo(settings.timezone))
    minute = local.hour * 60 + local.minute
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end
