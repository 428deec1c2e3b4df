"""StatsStore contract: member rows are sets, values are absolute and summed over sources,
sessions and group lives round-trip, and a group's destroy marks the life it ends."""

from __future__ import annotations

from services.common.store.ports import Stores
from services.common.store.stats import (
    ACTIVE_USERS,
    C2C_MESSAGES,
    PEAK,
    PEAK_ONLINE,
    SENDERS,
    GroupLife,
    MemberRow,
    SessionRow,
    ValueRow,
)

APP_A = 1400000601
APP_B = 1400000602
D1 = "2026-12-01"
D2 = "2026-12-02"


async def test_members_are_counted_once_per_day(stores: Stores) -> None:
    s = stores.stats
    rows = [
        MemberRow(APP_A, D1, ACTIVE_USERS, "ann"),
        MemberRow(APP_A, D1, ACTIVE_USERS, "bob"),
        MemberRow(APP_A, D1, SENDERS, "ann"),
        MemberRow(APP_A, D2, ACTIVE_USERS, "ann"),
        MemberRow(APP_B, D1, ACTIVE_USERS, "zed"),
    ]
    await s.add_members(rows)
    await s.add_members(rows[:2])  # again: nothing changes
    assert await s.member_counts(APP_A, [D1, D2]) == {
        (D1, ACTIVE_USERS): 2,
        (D1, SENDERS): 1,
        (D2, ACTIVE_USERS): 1,
    }
    assert await s.member_counts(APP_A, []) == {}


async def test_values_are_replaced_and_summed_over_sources(stores: Stores) -> None:
    s = stores.stats
    assert await s.value(APP_A, D1, C2C_MESSAGES, "im.messages:0") is None
    await s.put_values(
        [
            ValueRow(APP_A, D1, C2C_MESSAGES, "im.messages:0", 3, 10),
            ValueRow(APP_A, D1, C2C_MESSAGES, "im.messages:1", 4, 7),
            ValueRow(APP_A, D1, PEAK_ONLINE, PEAK, 9),
            ValueRow(APP_B, D1, C2C_MESSAGES, "im.messages:0", 100, 1),
        ]
    )
    await s.put_values([ValueRow(APP_A, D1, C2C_MESSAGES, "im.messages:0", 5, 12)])
    assert await s.value(APP_A, D1, C2C_MESSAGES, "im.messages:0") == ValueRow(
        APP_A, D1, C2C_MESSAGES, "im.messages:0", 5, 12
    )
    assert await s.value_sums(APP_A, [D1, D2]) == {(D1, C2C_MESSAGES): 9, (D1, PEAK_ONLINE): 9}


async def test_sessions_round_trip(stores: Stores) -> None:
    s = stores.stats
    await s.put_sessions(
        [
            SessionRow(APP_A, "ann", 2, "im.events:1", 5),
            SessionRow(APP_A, "bob", 0, "im.events:0", 9),
        ]
    )
    await s.put_sessions([SessionRow(APP_A, "ann", 1, "im.events:1", 6)])
    got = sorted(await s.sessions(APP_A), key=lambda r: r.user)
    assert got == [
        SessionRow(APP_A, "ann", 1, "im.events:1", 6),
        SessionRow(APP_A, "bob", 0, "im.events:0", 9),
    ]
    assert await s.sessions(APP_B) == []


async def test_group_lives_created_again_and_destroyed(stores: Stores) -> None:
    s = stores.stats
    await s.group_created(GroupLife(APP_A, "g1", 1000))
    await s.group_destroyed(APP_A, "g1", 2000)
    await s.group_created(GroupLife(APP_A, "g1", 3000))  # the same id, a new group
    await s.group_created(GroupLife(APP_A, "g1", 1000))  # a replay keeps the destroy mark
    await s.group_destroyed(APP_A, "g1", 2000)  # a replayed destroy ends the first life only
    await s.group_destroyed(APP_A, "nope", 2000)  # never created: nothing
    await s.group_created(GroupLife(APP_B, "g9", 1000))
    lives = sorted(await s.group_lives(APP_A), key=lambda g: g.created_ms)
    assert lives == [GroupLife(APP_A, "g1", 1000, 2000), GroupLife(APP_A, "g1", 3000, 0)]
