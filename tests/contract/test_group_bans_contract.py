"""GroupBanStore contract: every adapter keeps bans per app and group, with their end."""

from __future__ import annotations

from services.common.store.group_bans import GroupBan
from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302
NOW = 1_700_000_000


async def test_ban_read_back_and_expire(stores: Stores) -> None:
    s = stores.group_bans
    assert await s.list_bans(APP_A, "g1", NOW) == []
    assert await s.banned(APP_A, "g1", ["u1"], NOW) == {}
    await s.ban(
        APP_A,
        "g1",
        [GroupBan("u2", NOW + 60, "spam"), GroupBan("u1", NOW + 3600), GroupBan("u3", NOW)],
    )
    await s.ban(APP_A, "g2", [GroupBan("u1", NOW + 10)])
    await s.ban(APP_B, "g1", [GroupBan("u9", NOW + 10)])
    # In user ID order; u3's ban ends at NOW, so it is no longer in force.
    assert await s.list_bans(APP_A, "g1", NOW) == [
        GroupBan("u1", NOW + 3600, ""),
        GroupBan("u2", NOW + 60, "spam"),
    ]
    assert await s.banned(APP_A, "g1", ["u1", "u3", "u4", "u1"], NOW) == {
        "u1": GroupBan("u1", NOW + 3600, "")
    }
    assert await s.list_bans(APP_A, "g1", NOW + 60) == [GroupBan("u1", NOW + 3600, "")]
    assert await s.list_bans(APP_B, "g1", NOW) == [GroupBan("u9", NOW + 10, "")]
    assert await s.banned(APP_A, "g1", [], NOW) == {}


async def test_reban_replaces_and_unban_lifts(stores: Stores) -> None:
    s = stores.group_bans
    await s.ban(APP_A, "g1", [GroupBan("u1", NOW + 3600, "first")])
    # A new ban replaces the old one, even when it ends sooner.
    await s.ban(APP_A, "g1", [GroupBan("u1", NOW + 5, "second")])
    assert await s.list_bans(APP_A, "g1", NOW) == [GroupBan("u1", NOW + 5, "second")]
    await s.ban(APP_A, "g1", [GroupBan("u2", NOW + 5)])
    await s.unban(APP_A, "g1", ["u1", "nobody", "u1"])
    assert await s.list_bans(APP_A, "g1", NOW) == [GroupBan("u2", NOW + 5, "")]
    await s.unban(APP_A, "g1", [])


async def test_drop_group_forgets_its_bans(stores: Stores) -> None:
    s = stores.group_bans
    await s.ban(APP_A, "g1", [GroupBan("u1", NOW + 10), GroupBan("u2", NOW + 10)])
    await s.ban(APP_A, "g2", [GroupBan("u1", NOW + 10)])
    await s.drop_group(APP_A, "g1")
    assert await s.list_bans(APP_A, "g1", NOW) == []
    assert await s.banned(APP_A, "g2", ["u1"], NOW) == {"u1": GroupBan("u1", NOW + 10, "")}
