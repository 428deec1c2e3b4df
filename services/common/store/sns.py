"""The relationship chain (Tencent's "sns"): friend lists, blocklists, pending friend requests
and each user's friend-list groups and sequences.

Every row belongs to one owner: A's friend entry for B is A's alone, so a two-way friendship is
two rows. The friend details travel as one JSON document shared by every adapter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# A custom friend field's value: Tencent documents strings, and its own import example sends 0.
CustomValue = str | int


@dataclass(frozen=True, slots=True)
class Friend:
    """`owner`'s entry for `peer` (Tencent's standard friend fields plus custom ones)."""

    owner: str
    peer: str
    remark: str = ""
    remark_time: int = 0
    groups: tuple[str, ...] = ()
    add_source: str = ""
    add_wording: str = ""
    add_time: int = 0
    custom: Mapping[str, CustomValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """`owner` has put `peer` on its blocklist at `added_at` (unix seconds)."""

    owner: str
    peer: str
    added_at: int


@dataclass(frozen=True, slots=True)
class Pendency:
    """A friend request from `requester` waiting for `owner`'s confirmation."""

    owner: str
    requester: str
    add_source: str = ""
    add_wording: str = ""
    remark: str = ""
    group: str = ""
    add_time: int = 0


@dataclass(frozen=True, slots=True)
class SnsMeta:
    """One user's friend-list groups (in creation order) and change sequences."""

    groups: tuple[str, ...] = ()
    # Bumped when standard friend data changes (friend_get's StandardSequence).
    standard_seq: int = 0
    # Bumped when custom friend data changes (friend_get's CustomSequence).
    custom_seq: int = 0
    # Bumped when the friend-list groups change (group_* CurrentSequence).
    group_seq: int = 0
    # Bumped when the blocklist changes (black_list_get's CurruentSequence).
    black_seq: int = 0


class SnsStore(Protocol):
    async def get_friends(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, Friend]: ...

    async def list_friends(self, sdkappid: int, owner: str) -> list[Friend]:
        """Every friend of owner, oldest first (add_time, then peer)."""

    async def count_friends(self, sdkappid: int, owner: str) -> int: ...

    async def friend_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        """Which of `owners` have `peer` on their friend list."""

    async def put_friends(self, sdkappid: int, friends: Sequence[Friend]) -> None:
        """Insert or replace each (owner, peer) entry."""

    async def delete_friends(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None: ...

    async def get_blocked(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, BlockEntry]: ...

    async def list_blocked(self, sdkappid: int, owner: str) -> list[BlockEntry]:
        """owner's blocklist, oldest first (added_at, then peer)."""

    async def count_blocked(self, sdkappid: int, owner: str) -> int: ...

    async def blocker_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        """Which of `owners` have `peer` on their blocklist."""

    async def put_blocked(self, sdkappid: int, entries: Sequence[BlockEntry]) -> None: ...

    async def delete_blocked(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None: ...

    async def put_pendencies(self, sdkappid: int, pendencies: Sequence[Pendency]) -> None:
        """Insert or replace each (owner, requester) request."""

    async def list_pendencies(self, sdkappid: int, owner: str) -> list[Pendency]:
        """Requests waiting for owner, oldest first."""

    async def delete_pendencies(
        self, sdkappid: int, owner: str, requesters: Sequence[str]
    ) -> None: ...

    async def get_meta(self, sdkappid: int, owner: str) -> SnsMeta:
        """owner's groups and sequences; a user never written gets SnsMeta()."""

    async def put_meta(self, sdkappid: int, owner: str, meta: SnsMeta) -> None: ...


def friend_to_doc(friend: Friend) -> str:
    """The details of a friend entry; owner, peer and add_time are columns of their own."""
    return json.dumps(
        {
            "remark": friend.remark,
            "remark_time": friend.remark_time,
            "groups": list(friend.groups),
            "add_source": friend.add_source,
            "add_wording": friend.add_wording,
            "custom": dict(friend.custom),
        },
        ensure_ascii=False,
    )


def doc_to_friend(owner: str, peer: str, add_time: int, doc: str) -> Friend:
    d: dict[str, Any] = json.loads(doc)
    return Friend(
        owner=owner,
        peer=peer,
        remark=d["remark"],
        remark_time=d["remark_time"],
        groups=tuple(d["groups"]),
        add_source=d["add_source"],
        add_wording=d["add_wording"],
        add_time=add_time,
        custom=d["custom"],
    )


def pendency_to_doc(pendency: Pendency) -> str:
    return json.dumps(
        {
            "add_source": pendency.add_source,
            "add_wording": pendency.add_wording,
            "remark": pendency.remark,
            "group": pendency.group,
        },
        ensure_ascii=False,
    )


def doc_to_pendency(owner: str, requester: str, add_time: int, doc: str) -> Pendency:
    d: dict[str, Any] = json.loads(doc)
    return Pendency(
        owner=owner,
        requester=requester,
        add_source=d["add_source"],
        add_wording=d["add_wording"],
        remark=d["remark"],
        group=d["group"],
        add_time=add_time,
    )


def meta_to_doc(meta: SnsMeta) -> str:
    return json.dumps(
        {
            "groups": list(meta.groups),
            "standard_seq": meta.standard_seq,
            "custom_seq": meta.custom_seq,
            "group_seq": meta.group_seq,
            "black_seq": meta.black_seq,
        },
        ensure_ascii=False,
    )


def doc_to_meta(doc: str) -> SnsMeta:
    d: dict[str, Any] = json.loads(doc)
    return SnsMeta(
        groups=tuple(d["groups"]),
        standard_seq=d["standard_seq"],
        custom_seq=d["custom_seq"],
        group_seq=d["group_seq"],
        black_seq=d["black_seq"],
    )
