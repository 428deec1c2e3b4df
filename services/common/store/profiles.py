"""User profile fields (Tencent's portrait_set / portrait_get) and global no-speaking
(openconfigsvr setnospeaking / getnospeaking).

Tag_Profile_IM_Nick and Tag_Profile_IM_Image are not kept here: they are the directory's
Account.nick and Account.face_url, so account_import and portrait_set write the same value.
"""

from __future__ import annotations

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
