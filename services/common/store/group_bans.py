"""Group bans (ban_group_member): who may not be in a group, and until when.

A ban is kept per (app, group, user) with its end in Unix seconds and the admin's description.
Reads take `now` and see only the bans in force then: an ended ban is as good as none. Its row
stays until the user is banned again or unbanned, or the group is destroyed, so no clock runs
in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class GroupBan:
    user_id: str
    # Unix seconds: the ban is in force while now < until.
    until: int
    description: str = ""


class GroupBanStore(Protocol):
    async def ban(self, sdkappid: int, group_id: str, bans: Sequence[GroupBan]) -> None:
        """Ban each user until its end; a user banned already gets the new end and
        description, even if it comes sooner."""

    async def unban(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        """Lift the users' bans; users who are not banned are ignored."""

    async def banned(
        self, sdkappid: int, group_id: str, users: Sequence[str], now: int
    ) -> dict[str, GroupBan]:
        """Among `users`, those banned at `now`, by user ID."""

    async def list_bans(self, sdkappid: int, group_id: str, now: int) -> list[GroupBan]:
        """The group's bans in force at `now`, in user ID order."""

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        """Forget every ban of the group (it was destroyed)."""
