"""The statistics' pure rules (what a record counts as; sessions; groups per day; the
day-over-day change; CSV) and the aggregator's idempotence: a batch replayed after a crash, or
to a fresh aggregator over the same store (a restarted audit service), counts once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.audit.stats import (
    Record,
    StatsAggregator,
    counts_as_message,
    sessions_after,
    state_change,
)
from services.common import events, topics, trace
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_RECALL,
    Event,
    Message,
)
from services.common.store.sqlite import SqliteStores
from services.common.store.stats import GroupLife, day_of, day_start_ms
from services.common.store.stats_report import (
    DayFigures,
    check_days,
    daily_report,
    day_range,
    group_figures,
    to_csv,
    with_changes,
)

APP = 1400000501
DAY = "2026-12-01"
T0 = day_start_ms(DAY) + 3_600_000


def msg(
    sender: str,
    *,
    group: str = "",
    t: int = T0,
    kind: int = MESSAGE_KIND_MESSAGE,
    silent: bool = False,
) -> Message:
    return Message(
        sdkappid=APP,
        chat_type=CHAT_TYPE_GROUP if group else CHAT_TYPE_C2C,
        group_id=group,
        sender=sender,
        to_user="" if group else "peer",
        server_time_ms=t,
        kind=kind,  # type: ignore[arg-type]
        silent=silent,
    )


def state(user: str, action: str, t: int = T0, kicked: int = 0) -> Event:
    payload: dict[str, object] = {"Info": {"Action": action, "To_Account": user}}
    if kicked:
        payload["KickedDevice"] = [{"Platform": "iOS"}] * kicked
    return events.new_event(APP, events.STATE_CHANGED, payload, now_ms=t)


def records(topic: str, values: list[bytes], first: int = 0) -> list[Record]:
    return [Record(f"{topic}:0", first + i, v) for i, v in enumerate(values)]


def test_only_new_messages_count() -> None:
    assert counts_as_message(msg("a"))
    assert not counts_as_message(msg("a", kind=MESSAGE_KIND_RECALL))
    assert not counts_as_message(msg("a", silent=True))


def test_sessions_follow_logins_kicks_and_logouts() -> None:
    login = state_change(
        state("u", events.STATE_LOGIN), {"Info": {"Action": "Login", "To_Account": "u"}}, "s", 1
    )
    assert login is not None and login.login
    kicking = state_change(
        state("u", events.STATE_LOGIN, kicked=1),
        {"Info": {"Action": "Login", "To_Account": "u"}, "KickedDevice": [{"Platform": "iOS"}]},
        "s",
        2,
    )
    assert kicking is not None and kicking.kicked == 1
    out = state_change(
        state("u", "Logout"), {"Info": {"Action": "Logout", "To_Account": "u"}}, "s", 3
    )
    assert out is not None and not out.login
    assert sessions_after(0, login) == 1
    assert sessions_after(1, kicking) == 1  # the login replaced the session it kicked
    assert sessions_after(2, out) == 1
    assert sessions_after(0, out) == 0  # never negative
    assert state_change(state("u", "Login"), {"Info": "x"}, "s", 4) is None


def test_group_figures_of_a_day() -> None:
    start = day_start_ms(DAY)
    lives = [
        GroupLife(APP, "old", start - 10),  # before the day, still there
        GroupLife(APP, "gone", start - 10, start + 100),  # destroyed during the day
        GroupLife(APP, "new1", start + 50),
        GroupLife(APP, "new2", start + 60, start + 70),
        GroupLife(APP, "later", start + 86_400_000 + 5),  # the next day
    ]
    # At the start: old, gone (2); +new1 at 50 -> 3; +new2 at 60 -> 4; -new2 at 70; -gone at 100.
    assert group_figures(lives, DAY) == {
        "new_groups": 2,
        "destroyed_groups": 2,
        "groups": 2,
        "peak_groups": 4,
    }


def test_day_over_day_change_and_csv() -> None:
    days = [
        DayFigures("2026-12-01", active_users=4, messages=10, callback_success_rate=50.0),
        DayFigures("2026-12-02", active_users=6, messages=0, callback_success_rate=None),
        DayFigures("2026-12-03", active_users=6, messages=5, callback_success_rate=100.0),
    ]
    reports = with_changes(days)
    assert [r.figures.day for r in reports] == ["2026-12-02", "2026-12-03"]
    assert reports[0].change["active_users"].delta == 2
    assert reports[0].change["active_users"].percent == 50.0
    assert reports[0].change["messages"].delta == -10
    assert reports[0].change["messages"].percent == -100.0
    assert reports[1].change["messages"].percent is None  # from 0: no percent
    assert reports[1].change["callback_success_rate"].delta is None
    lines = to_csv(reports).splitlines()
    assert lines[0].startswith("day,active_users,new_users,")
    assert lines[1].startswith("2026-12-02,6,")
    assert len(lines) == 3


def test_day_range_is_bounded() -> None:
    assert day_range("2026-12-03", 3) == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert day_of(day_start_ms("2026-12-03")) == "2026-12-03"
    for bad in (0, 91):
        with pytest.raises(ValueError, match=r"1\.\.90"):
            check_days(bad)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[SqliteStores]:
    s = SqliteStores(tmp_path / "stats.sqlite3")
    yield s
    await s.close()


async def test_replayed_batches_count_once(stores: SqliteStores) -> None:
    seen: dict[str, bool] = {}
    agg = StatsAggregator(stores.stats, seen)
    traffic = records(
        topics.MESSAGES.name,
        [
            msg("ann").SerializeToString(),
            msg("ann", group="g1").SerializeToString(),
            msg("bob", group="g1").SerializeToString(),
            msg("bob", kind=MESSAGE_KIND_RECALL).SerializeToString(),
            b"\xffnot a message",
        ],
    )
    logins = records(
        topics.EVENTS.name,
        [
            state("ann", events.STATE_LOGIN).SerializeToString(),
            state("cid", events.STATE_LOGIN, T0 + 1).SerializeToString(),
            state("cid", events.STATE_LOGOUT, T0 + 2).SerializeToString(),
            events.new_event(
                APP,
                events.ACCOUNTS_IMPORTED,
                {"Accounts": events.accounts(["dan", "eve"])},
                now_ms=T0,
            ).SerializeToString(),
            events.new_event(
                APP, events.GROUP_CREATED, {"GroupId": "g1"}, now_ms=T0
            ).SerializeToString(),
            events.new_event(
                APP, events.GROUP_CREATED, {"GroupId": "g2"}, now_ms=T0 + 5
            ).SerializeToString(),
            events.new_event(
                APP, events.GROUP_DESTROYED, {"GroupId": "g2"}, now_ms=T0 + 6
            ).SerializeToString(),
        ],
    )
    traces = records(
        topics.TRACE.name,
        [
            trace.new_trace(APP, trace.PUSH, "bob", time_ms=T0).SerializeToString(),
            trace.new_trace(APP, trace.PUSH, "bob", code=500, time_ms=T0).SerializeToString(),
            trace.new_trace(APP, trace.CALLBACK, "bob", time_ms=T0).SerializeToString(),
            trace.new_trace(APP, trace.CALLBACK, "bob", time_ms=T0).SerializeToString(),
            trace.new_trace(APP, trace.CALLBACK, "bob", code=1, time_ms=T0).SerializeToString(),
            trace.new_trace(APP, trace.LOGIN, "bob", time_ms=T0).SerializeToString(),
        ],
    )
    for _ in range(2):  # the second time: a replay, to the same aggregator
        await agg.on_messages(traffic)
        await agg.on_events(logins)
        await agg.on_traces(traces)
    # A restarted service: a new aggregator with nothing in memory, the tail replayed again.
    again = StatsAggregator(stores.stats, {})
    await again.on_messages(traffic[1:])
    await again.on_events(logins[1:])
    await again.on_traces(traces[2:])

    (day,) = await daily_report(stores.stats, APP, 1, last_day=DAY)
    f = day.figures
    assert (f.c2c_messages, f.group_messages, f.messages, f.senders) == (1, 2, 3, 2)
    assert (f.active_users, f.new_users, f.peak_online) == (3, 2, 2)
    assert (f.new_groups, f.destroyed_groups, f.groups, f.peak_groups, f.active_groups) == (
        2,
        1,
        1,
        2,
        1,
    )
    assert (f.pushes_sent, f.pushes_failed, f.callbacks_ok, f.callbacks_failed) == (1, 1, 2, 1)
    assert f.callback_success_rate == 66.67


async def test_online_carries_over_and_survives_a_restart(stores: SqliteStores) -> None:
    agg = StatsAggregator(stores.stats, {})
    await agg.on_events(
        records(
            topics.EVENTS.name,
            [
                state("ann", events.STATE_LOGIN).SerializeToString(),
                state("bob", events.STATE_LOGIN).SerializeToString(),
            ],
        )
    )
    next_day = T0 + 86_400_000
    # A new process: ann and bob are still online; cid logs in the next day.
    again = StatsAggregator(stores.stats, {})
    await again.on_events(
        records(
            topics.EVENTS.name,
            [
                state("bob", events.STATE_LOGOUT, next_day).SerializeToString(),
                state("cid", events.STATE_LOGIN, next_day + 1).SerializeToString(),
            ],
            first=2,
        )
    )
    first, second = await daily_report(stores.stats, APP, 2, last_day=day_of(next_day))
    assert first.figures.peak_online == 2
    assert second.figures.peak_online == 2  # ann and bob at the day's start, then ann and cid
    assert second.figures.active_users == 1  # logged in that day: cid


async def test_peak_follows_time_across_partitions_in_a_batch(stores: SqliteStores) -> None:
    """A batch holds one partition's records, then another's: the peak is of the times."""
    a = [
        state("u4", events.STATE_LOGIN, T0 + 4),
        state("u4", events.STATE_LOGOUT, T0 + 10),
        state("u0", events.STATE_LOGIN, T0 + 1),
    ]
    b = [state("u1", events.STATE_LOGIN, T0 + 2), state("u2", events.STATE_LOGIN, T0 + 3)]
    batch = [
        *(Record("im.events:0", i, e.SerializeToString()) for i, e in enumerate(a)),
        *(Record("im.events:1", i, e.SerializeToString()) for i, e in enumerate(b)),
    ]
    agg = StatsAggregator(stores.stats, {})
    await agg.on_events(batch)
    await agg.on_events(batch)  # a replay changes nothing
    (day,) = await daily_report(stores.stats, APP, 1, last_day=DAY)
    assert day.figures.peak_online == 4
    online = {r.user: r.sessions for r in await stores.stats.sessions(APP)}
    assert online == {"u0": 1, "u1": 1, "u2": 1, "u4": 0}
