"""History retention per edition (SPEC §1)."""

from __future__ import annotations

_DAYS = {"Developer": 7, "Standard": 7, "Premium": 30}


def retention_seconds(edition: str, purchased_days: int | None = None) -> int:
    days = purchased_days if purchased_days else _DAYS.get(edition, 7)
    return min(days, 360) * 86400
