"""History retention as audit applies it: the archive's TTL for new writes and the oldest
message a history read returns. The days are the app's messaging setting
`history_retention_days`, defaulting per edition (services/common/messaging_settings.py)."""

from __future__ import annotations

from services.common import messaging_settings
from services.common.store.ports import App

# An app the cache does not know (deleted meanwhile): the smallest edition's retention.
_UNKNOWN = App(sdkappid=0, name="", edition="Developer", keys=[])


def retention_seconds(app: App | None) -> int:
    return messaging_settings.retention_days(app or _UNKNOWN) * 86_400


def oldest_kept_ms(app: App | None, now_ms: int) -> int:
    """The server time (ms) of the oldest message history still returns: a retention that was
    shortened hides what the longer TTL still keeps."""
    return messaging_settings.oldest_kept_ms(app or _UNKNOWN, now_ms)
