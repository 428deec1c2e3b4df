"""Edition quotas (SPEC §1). None means unlimited."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    accounts: int | None
    friends_per_user: int
    groups_per_user: int
    members_per_group: int


_QUOTAS = {
    "Developer": Quota(accounts=100, friends_per_user=20, groups_per_user=50, members_per_group=20),
    "Standard": Quota(None, friends_per_user=3000, groups_per_user=500, members_per_group=200),
    "Premium": Quota(None, friends_per_user=3000, groups_per_user=1000, members_per_group=2000),
}


def quota_for(edition: str) -> Quota:
    return _QUOTAS.get(edition, _QUOTAS["Developer"])
