"""Per-user conversation groups and conversation marks (Tencent's recentcontact
create_contact_group ... mark_contact): data kept apart from the conversation list itself.

A user has named conversation groups, each with a small numeric id. Each conversation the user
has put in a group or marked has one entry: its standard mark bits, its custom mark, the ids of
the groups it is in, and when any of these last changed. An entry with no mark and no group is
not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# A conversation as (Type, peer): Type 1 = C2C (peer is a UserID), 2 = group (peer is a GroupId).
ContactKey = tuple[int, str]


@dataclass(frozen=True, slots=True)
class ContactGroup:
    group_id: int
    name: str


@dataclass(frozen=True, slots=True)
class ContactEntry:
    kind: int
    peer: str
    # Bit n is Tencent's standard mark bit n (SetMark/ClearMark n), 0 <= n < 64.
    standard_mark: int = 0
    custom_mark: str = ""
    # Sorted, without repeats.
    group_ids: tuple[int, ...] = ()
    updated_ms: int = 0

    @property
    def key(self) -> ContactKey:
        return (self.kind, self.peer)

    @property
    def grouped(self) -> bool:
        return bool(self.group_ids)

    @property
    def marked(self) -> bool:
        return bool(self.standard_mark or self.custom_mark)


def encode_group_ids(group_ids: Sequence[int]) -> str:
    """Group ids as stored: "1,2" (one text column in both adapters)."""
    return ",".join(str(g) for g in group_ids)


def decode_group_ids(text: str) -> tuple[int, ...]:
    return tuple(int(g) for g in text.split(",")) if text else ()


class ContactGroupStore(Protocol):
    async def list_groups(self, sdkappid: int, user: str) -> list[ContactGroup]:
        """The user's conversation groups, by group id."""

    async def claim_group(self, sdkappid: int, user: str, group: ContactGroup) -> bool:
        """Create the group unless the user already has one with its id (then False)."""

    async def rename_group(self, sdkappid: int, user: str, group: ContactGroup) -> None:
        """Give an existing group id its new name."""

    async def delete_group(self, sdkappid: int, user: str, group_id: int) -> None:
        """Remove the group itself; entries naming it are rewritten by the caller."""

    async def list_entries(self, sdkappid: int, user: str) -> list[ContactEntry]:
        """Every entry of the user, ordered by (kind, peer)."""

    async def get_entries(
        self, sdkappid: int, user: str, keys: Sequence[ContactKey]
    ) -> dict[ContactKey, ContactEntry]:
        """The entries of the given conversations; those with none are left out."""

    async def put_entries(self, sdkappid: int, user: str, entries: Sequence[ContactEntry]) -> None:
        """Write each entry whole; an entry with no mark and no group is removed."""
