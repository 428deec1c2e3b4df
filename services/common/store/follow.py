"""Follow relations (Tencent's REST service "follow"): who follows whom, per app.

A relation is one-way: the owner follows the peer since a Unix time. The owner's fans are the
users who follow the owner; a mutual follow is a pair that follow each other, dated when the
second of the two follows was made (when the pair became mutual).

Lists are read in pages ordered by UserID, resumed after the last UserID of the previous page,
so a page does not shift when relations are added or removed before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class FollowList(IntEnum):
    """Tencent's FollowType of follow_get: which of a user's lists to read."""

    FANS = 1
    FOLLOWING = 2
    MUTUAL = 3


@dataclass(frozen=True, slots=True)
class FollowEntry:
    """One user of a list and the Unix time of the relation (Tencent's FollowTime)."""

    user: str
    since: int


@dataclass(frozen=True, slots=True)
class FollowCounts:
    following: int = 0
    fans: int = 0
    mutual: int = 0


class FollowStore(Protocol):
    async def follow(self, sdkappid: int, owner: str, peers: Sequence[str], at: int) -> None:
        """The owner follows each peer since `at`; a peer already followed keeps its time.
        A peer who follows the owner becomes a mutual follow of the owner, and the owner of
        the peer, since `at`."""

    async def unfollow(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        """The owner no longer follows the peers; mutual follows with them end."""

    async def following_among(self, sdkappid: int, owner: str, peers: Sequence[str]) -> set[str]:
        """The peers the owner follows."""

    async def fans_among(self, sdkappid: int, owner: str, users: Sequence[str]) -> set[str]:
        """The users who follow the owner."""

    async def counts(self, sdkappid: int, users: Sequence[str]) -> dict[str, FollowCounts]:
        """Each user's number of followed users, fans and mutual follows (zeros included)."""

    async def page(
        self, sdkappid: int, owner: str, which: FollowList, after: str, limit: int
    ) -> list[FollowEntry]:
        """At most `limit` entries of the owner's list with a UserID above `after` ("" for the
        first page), in UserID order."""

    async def delete_users(self, sdkappid: int, users: Sequence[str]) -> None:
        """Every relation of the users, both ways (their accounts were deleted)."""
