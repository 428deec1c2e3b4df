"""Live-group (AVChatRoom) admins and member marks (group_open_avchatroom_http_svc).

Admins are kept per (app, group, user) apart from the member rows: Tencent's live-group admin
need not be in the group, and stays one across leaving and joining again until removed.

Marks are kept per (app, group, user, mark) with the time (Unix ms) they were set. Tencent
clears a member's marks when the member leaves or goes offline; the store keeps no clock and
no hooks for that, so a reader compares `set_ms` with the member's join time and connections
(gateway/rest_v4/avchatroom.live_marks) and takes a mark set before them as cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MemberMark:
    user_id: str
    mark: int
    # Unix milliseconds when the mark was set.
    set_ms: int


class AVChatRoomStore(Protocol):
    async def add_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        """Make the users admins; those who are already are left as they are."""

    async def remove_admins(self, sdkappid: int, group_id: str, users: Sequence[str]) -> None:
        """Users who are not admins are ignored."""

    async def admins(self, sdkappid: int, group_id: str) -> list[str]:
        """The group's admins in user ID order."""

    async def put_marks(self, sdkappid: int, group_id: str, marks: Sequence[MemberMark]) -> None:
        """Set each (user, mark); one set already gets the new `set_ms`."""

    async def remove_marks(
        self, sdkappid: int, group_id: str, marks: Sequence[tuple[str, int]]
    ) -> None:
        """Remove each (user, mark); pairs not set are ignored."""

    async def marks(self, sdkappid: int, group_id: str) -> list[MemberMark]:
        """Every mark set in the group, ordered by user ID then mark."""

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        """Forget the group's admins and marks (it was destroyed)."""
