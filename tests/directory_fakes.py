"""A fake of the store reads the gateway's directory makes, counting them (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from services.common.store.groups import Group, Member
from services.common.store.profiles import NoSpeaking


class FakeStores:
    """The reads the directory makes, with a count of each."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()
        self.accounts: set[str] = set()
        self.friends: set[tuple[str, str]] = set()
        self.blocked: set[tuple[str, str]] = set()
        self.group_rows: dict[str, Group] = {}
        self.member_rows: dict[tuple[str, str], Member] = {}
        self.mutes: dict[str, NoSpeaking] = {}
        self.directory = self
        self.sns = self
        self.groups = self
        self.no_speaking = self

    async def get_accounts(self, sdkappid: int, users: Sequence[str]) -> dict[str, Any]:
        self.reads["accounts"] += 1
        return {u: object() for u in users if u in self.accounts}

    async def get_friends(self, sdkappid: int, owner: str, peers: Sequence[str]) -> dict[str, Any]:
        self.reads["friends"] += 1
        return {p: object() for p in peers if (owner, p) in self.friends}

    async def get_blocked(self, sdkappid: int, owner: str, peers: Sequence[str]) -> dict[str, Any]:
        self.reads["blocked"] += 1
        return {p: object() for p in peers if (owner, p) in self.blocked}

    async def get_group(self, sdkappid: int, group_id: str) -> Group | None:
        self.reads["group"] += 1
        return self.group_rows.get(group_id)

    async def get_members(
        self, sdkappid: int, group_id: str, users: Sequence[str]
    ) -> dict[str, Member]:
        self.reads["members"] += 1
        return {
            u: self.member_rows[(group_id, u)] for u in users if (group_id, u) in self.member_rows
        }

    async def get(self, sdkappid: int, user: str) -> NoSpeaking:
        self.reads["no_speaking"] += 1
        return self.mutes.get(user, NoSpeaking())
