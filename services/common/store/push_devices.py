"""Offline push targets: each user's device tokens, push settings and muted conversations.

A (vendor, token) pair names one installed app on one phone, so it belongs to at most one user
of an app at a time: registering it for another user moves it (the phone now runs logged in as
someone else). A user keeps at most MAX_DEVICES devices; registering one more drops the oldest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# The names the adapters in services/push/vendors/ answer to.
VENDORS = ("apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "meizu")
MAX_TOKEN_BYTES = 512
MAX_DEVICES = 10
# mute(..., until_ms=MUTED_FOREVER): muted until unmuted.
MUTED_FOREVER = 0


@dataclass(frozen=True, slots=True)
class Device:
    vendor: str
    token: str
    registered_ms: int


@dataclass(frozen=True, slots=True)
class PushSettings:
    """`enabled` False: no offline push at all. A do-not-disturb window runs from
    dnd_start_min to dnd_end_min (minutes after midnight in `timezone`, an IANA name); both are
    None when there is no window."""

    enabled: bool = True
    dnd_start_min: int | None = None
    dnd_end_min: int | None = None
    timezone: str = "UTC"


class PushDeviceStore(Protocol):
    async def register(
        self, sdkappid: int, user: str, vendor: str, token: str, now_ms: int
    ) -> None:
        """Give the token to `user` (taking it from whoever had it), registered at now_ms; the
        user's oldest devices beyond MAX_DEVICES are dropped."""

    async def unregister(self, sdkappid: int, user: str, vendor: str, token: str) -> None:
        """Drop the token if `user` holds it; a token held by someone else stays theirs."""

    async def devices(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[Device]]:
        """Each user's devices, oldest registration first; users with none are left out."""

    async def remove_token(self, sdkappid: int, vendor: str, token: str) -> None:
        """Drop the token whoever holds it (the vendor said it is no longer valid)."""

    async def get_settings(self, sdkappid: int, users: Sequence[str]) -> dict[str, PushSettings]:
        """Every user asked for: the stored settings, or the defaults."""

    async def put_settings(self, sdkappid: int, user: str, settings: PushSettings) -> None: ...

    async def mute(self, sdkappid: int, user: str, conversation: str, until_ms: int) -> None:
        """Mute pushes of `conversation` for `user` until until_ms (MUTED_FOREVER: no end)."""

    async def unmute(self, sdkappid: int, user: str, conversation: str) -> None: ...

    async def muted(
        self, sdkappid: int, users: Sequence[str], conversation: str, now_ms: int
    ) -> set[str]:
        """Those of `users` who have `conversation` muted at now_ms."""


def mute_active(until_ms: int, now_ms: int) -> bool:
    return until_ms == MUTED_FOREVER or until_ms > now_ms


def overflow(others: Sequence[Device]) -> list[Device]:
    """The user's other devices to drop so that a newly registered one fits: the oldest beyond
    MAX_DEVICES - 1 (ties broken by vendor and token, so every adapter drops the same)."""
    ordered = sorted(others, key=lambda d: (d.registered_ms, d.vendor, d.token))
    return ordered[: max(0, len(ordered) - (MAX_DEVICES - 1))]
