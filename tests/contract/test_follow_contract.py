"""FollowStore contract: every adapter keeps follows, fans and mutual follows per app."""

from __future__ import annotations

from services.common.store.follow import FollowCounts, FollowEntry, FollowList
from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302


async def _all(stores: Stores, owner: str, which: FollowList) -> list[FollowEntry]:
    return await stores.follows.page(APP_A, owner, which, "", 100)


async def test_follow_keeps_the_first_time_and_stays_per_app(stores: Stores) -> None:
    s = stores.follows
    await s.follow(APP_A, "a", ["b", "c", "b"], 100)
    await s.follow(APP_A, "a", ["b", "d"], 200)
    await s.follow(APP_B, "a", ["z"], 300)
    assert await _all(stores, "a", FollowList.FOLLOWING) == [
        FollowEntry("b", 100),
        FollowEntry("c", 100),
        FollowEntry("d", 200),
    ]
    assert await _all(stores, "b", FollowList.FANS) == [FollowEntry("a", 100)]
    assert await s.following_among(APP_A, "a", ["b", "d", "z", "a"]) == {"b", "d"}
    assert await s.following_among(APP_B, "a", ["b", "z"]) == {"z"}
    assert await s.fans_among(APP_A, "b", ["a", "c"]) == {"a"}
    assert await s.following_among(APP_A, "a", []) == set()
    assert await s.fans_among(APP_A, "b", []) == set()


async def test_mutual_follows_date_from_the_second_follow(stores: Stores) -> None:
    s = stores.follows
    await s.follow(APP_A, "a", ["b", "c"], 100)
    await s.follow(APP_A, "b", ["a"], 150)
    await s.follow(APP_A, "c", ["x"], 160)
    assert await _all(stores, "a", FollowList.MUTUAL) == [FollowEntry("b", 150)]
    assert await _all(stores, "b", FollowList.MUTUAL) == [FollowEntry("a", 150)]
    assert await _all(stores, "c", FollowList.MUTUAL) == []
    assert await s.counts(APP_A, ["a", "b", "c", "nobody"]) == {
        "a": FollowCounts(following=2, fans=1, mutual=1),
        "b": FollowCounts(following=1, fans=1, mutual=1),
        "c": FollowCounts(following=1, fans=1, mutual=0),
        "nobody": FollowCounts(),
    }
    # Unfollowing ends the mutual follow both ways; following again renews it.
    await s.unfollow(APP_A, "b", ["a", "never"])
    assert await _all(stores, "a", FollowList.MUTUAL) == []
    assert await _all(stores, "b", FollowList.MUTUAL) == []
    assert await _all(stores, "a", FollowList.FANS) == []
    assert await s.counts(APP_A, ["a"]) == {"a": FollowCounts(following=2, fans=0, mutual=0)}
    await s.follow(APP_A, "b", ["a"], 400)
    assert await _all(stores, "a", FollowList.MUTUAL) == [FollowEntry("b", 400)]
    assert await _all(stores, "b", FollowList.FOLLOWING) == [FollowEntry("a", 400)]


async def test_pages_resume_after_the_last_user(stores: Stores) -> None:
    s = stores.follows
    fans = [f"fan{i:02}" for i in range(7)]
    for i, fan in enumerate(reversed(fans)):
        await s.follow(APP_A, fan, ["star"], 10 + i)
    await s.follow(APP_A, "star", fans[2:5], 50)
    seen: list[str] = []
    after = ""
    while True:
        page = await s.page(APP_A, "star", FollowList.FANS, after, 3)
        seen += [e.user for e in page]
        if len(page) < 3:
            break
        after = page[-1].user
    assert seen == fans
    mutual = await s.page(APP_A, "star", FollowList.MUTUAL, "fan02", 10)
    assert [e.user for e in mutual] == ["fan03", "fan04"]
    assert await s.page(APP_A, "star", FollowList.FOLLOWING, "fan04", 10) == []


async def test_delete_users_drops_every_relation(stores: Stores) -> None:
    s = stores.follows
    await s.follow(APP_A, "gone", ["a", "b"], 100)
    await s.follow(APP_A, "a", ["gone", "b"], 110)
    await s.follow(APP_A, "c", ["gone"], 120)
    await s.follow(APP_B, "a", ["gone"], 130)
    await s.delete_users(APP_A, ["gone"])
    assert await s.counts(APP_A, ["gone", "a", "b", "c"]) == {
        "gone": FollowCounts(),
        "a": FollowCounts(following=1, fans=0, mutual=0),
        "b": FollowCounts(following=0, fans=1, mutual=0),
        "c": FollowCounts(),
    }
    assert await _all(stores, "a", FollowList.MUTUAL) == []
    assert await s.fans_among(APP_B, "gone", ["a"]) == {"a"}
    await s.delete_users(APP_A, [])
