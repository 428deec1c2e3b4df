"""User profile fields (Tencent's portrait_set / portrait_get) and global no-speaking
(openconfigsvr setnospeaking / getnospeaking).

Tag_Profile_IM_Nick and Tag_Profile_IM_Image are not kept here: they are the directory's
Account.nick and Account.face_url, so account_import and portrait_set write the same value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# A profile value as Tencent types it: uint32 fields are integers, the rest strings.
ProfileValue = int | str

# A no-speaking deadline that never passes (Tencent's 4294967295 seconds).
FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class NoSpeaking:
    """Unix seconds until which the user may not send; 0 when not muted."""

    c2c_until: int = 0
    group_until: int = 0

    def c2c_muted(self, now: int) -> bool:
        return self.c2c_until > now

    def group_muted(self, now: int) -> bool:
        return self.group_until > now


class ProfileStore(Protocol):
    async def set_values(
        self, sdkappid: int, user_id: str, values: Mapping[str, ProfileValue]
    ) -> None:
        """Upsert the given tags of one user; tags not named are left as they are."""

    async def get_values(
        self, sdkappid: int, user_ids: Sequence[str]
    ) -> dict[str, dict[str, ProfileValue]]:
        """Every stored tag of each user that has any."""

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None: ...

    async def custom_tags(self, sdkappid: int) -> set[str]:
        """The distinct custom tags (Tag_Profile_Custom_*) ever set in the app."""

    async def add_custom_tags(self, sdkappid: int, tags: Sequence[str]) -> None: ...


class NoSpeakingStore(Protocol):
    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        """Set the deadlines given; None leaves that one as it is."""

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        """The user's deadlines, NoSpeaking() when none was ever set."""

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None: ...


class CachedNoSpeakingStore:
    """A NoSpeakingStore that keeps what it read for ttl_s: every client send checks its
    sender, and a burst of sends then costs one read.

    The cached value is the deadlines, not a verdict, so a mute still ends on time. Writes
    through this instance drop the entry at once; a write made by another gateway node is seen
    here within ttl_s.
    """

    def __init__(self, inner: NoSpeakingStore, ttl_s: float = 1.0) -> None:
        self._inner = inner
        self._ttl = ttl_s
        self._entries: dict[tuple[int, str], tuple[float, NoSpeaking]] = {}
        # Bumped by every write: a read that overlapped a write does not cache what it read.
        self._writes = 0

    def _forget(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        self._writes += 1
        for user_id in user_ids:
            self._entries.pop((sdkappid, user_id), None)

    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        await self._inner.set(sdkappid, user_id, c2c_until=c2c_until, group_until=group_until)
        self._forget(sdkappid, [user_id])

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        key = (sdkappid, user_id)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        if len(self._entries) > _MAX_CACHED:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        writes = self._writes
        state = await self._inner.get(sdkappid, user_id)
        if writes == self._writes:
            self._entries[key] = (now + self._ttl, state)
        return state

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        await self._inner.delete_users(sdkappid, user_ids)
        self._forget(sdkappid, user_ids)


# Past this many entries the expired ones are swept, so the cache follows the active senders.
_MAX_CACHED = 100_000
