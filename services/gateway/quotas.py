"""Edition quotas (SPEC §1). None means unlimited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common import messaging_settings


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


# SPEC §1: Premium allows 6,000 members a group with the group-member add-on, an app setting
# (App.settings["group_member_addon"] = true) since Tidings sells nothing.
GROUP_MEMBER_ADDON = "group_member_addon"
ADDON_MEMBERS_PER_GROUP = 6000


def quota_for(edition: str) -> Quota:
    return _QUOTAS.get(edition, _QUOTAS["Developer"])


def has_member_addon(settings: Mapping[str, object]) -> bool:
    return bool(messaging_settings.value(settings, GROUP_MEMBER_ADDON))


def members_per_group(edition: str, addon: bool) -> int:
    if edition == "Premium" and addon:
        return ADDON_MEMBERS_PER_GROUP
    return quota_for(edition).members_per_group
