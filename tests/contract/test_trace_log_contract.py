"""TraceStore contract: the event log of an app, newest first, each record once however often
it is appended, filtered by event, user, peer, group and code within a time range, and paged
with an opaque cursor that resumes exactly, across day partitions and ties in one millisecond."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store import cassandra_trace_log
from services.common.store.ports import Stores
from services.common.store.sqlite import SqliteStores
from services.common.store.trace_log import (
    DAY_MS,
    TraceQuery,
    TraceStore,
    build_query,
    record_id,
)

APP_A = 1400000501
APP_B = 1400000502
HOUR_MS = 3_600_000


def now_ms() -> int:
    return int(time.time() * 1000)


def query(sdkappid: int, since_ms: int, **filters: object) -> TraceQuery:
    return build_query(sdkappid, since_ms, None, now_ms(), **filters)  # type: ignore[arg-type]


async def everything(store: TraceStore, q: TraceQuery) -> tuple[list[TraceEvent], int]:
    """Every page of a search, in order; and how many pages it took."""
    found: list[TraceEvent] = []
    pages = 0
    cursor = ""
    while True:
        page = await store.search(
            build_query(
                q.sdkappid,
                q.since_ms,
                q.until_ms,
                now_ms(),
                event=q.event,
                user=q.user,
                peer=q.peer,
                group_id=q.group_id,
                code=q.code,
                limit=q.limit,
                cursor=cursor,
            )
        )
        pages += 1
        found += page.events
        assert len(page.events) <= q.limit
        if not page.next_cursor:
            return found, pages
        cursor = page.next_cursor
        assert pages < 200, "paging does not end"


def times(events: Sequence[TraceEvent]) -> list[int]:
    return [e.time_ms for e in events]


def sample(base_ms: int) -> list[TraceEvent]:
    """One app's day: logins, sends (one refused), a recall, a kick, a callback, a push."""
    return [
        trace.new_trace(
            APP_A, trace.LOGIN, "alice", platform="Android", client_ip="10.0.0.1", time_ms=base_ms
        ),
        trace.new_trace(APP_A, trace.LOGIN, "bob", platform="iOS", time_ms=base_ms + 1),
        trace.new_trace(
            APP_A,
            trace.C2C_SEND,
            "alice",
            peer="bob",
            request_id="m-1",
            latency_ms=12,
            time_ms=base_ms + 2,
        ),
        trace.new_trace(
            APP_A,
            trace.C2C_SEND,
            "alice",
            peer="bob",
            code=80001,
            description="sensitive word",
            request_id="m-2",
            time_ms=base_ms + 3,
        ),
        trace.new_trace(
            APP_A, trace.GROUP_SEND, "bob", group_id="g1", detail="Public", time_ms=base_ms + 4
        ),
        trace.new_trace(APP_A, trace.RECALL, "alice", peer="bob", time_ms=base_ms + 5),
        trace.new_trace(
            APP_A, trace.KICK, "bob", code=0, description="kicked by admin", time_ms=base_ms + 6
        ),
        trace.new_trace(
            APP_A,
            trace.CALLBACK,
            "alice",
            code=500,
            detail="C2C.CallbackBeforeSendMsg",
            time_ms=base_ms + 7,
        ),
        trace.new_trace(APP_A, trace.PUSH, "bob", detail="fcm", time_ms=base_ms + 8),
        trace.new_trace(APP_B, trace.LOGIN, "alice", time_ms=base_ms + 9),
    ]


async def test_newest_first_every_field_kept_and_apps_apart(stores: Stores) -> None:
    s = stores.trace_log
    base = now_ms() - HOUR_MS
    events = sample(base)
    await s.append(events)
    page = await s.search(query(APP_A, base, limit=100))
    assert page.events == sorted(events[:9], key=lambda e: e.time_ms, reverse=True)
    assert page.next_cursor == ""
    other = await s.search(query(APP_B, base))
    assert [(e.sdkappid, e.event) for e in other.events] == [(APP_B, trace.LOGIN)]


async def test_a_record_appended_again_is_stored_once(stores: Stores) -> None:
    s = stores.trace_log
    base = now_ms() - HOUR_MS
    events = sample(base)
    await s.append(events)
    # A replay after a crash: the same records again, alone and within a batch.
    await s.append(events[2:4])
    await s.append([*events, TraceEvent.FromString(events[0].SerializeToString())])
    page = await s.search(query(APP_A, base, limit=100))
    assert len(page.events) == 9
    assert len({record_id(e) for e in page.events}) == 9


async def test_filters_and_range(stores: Stores) -> None:
    s = stores.trace_log
    base = now_ms() - HOUR_MS
    await s.append(sample(base))

    async def found(**filters: object) -> list[int]:
        page = await s.search(query(APP_A, base, limit=100, **filters))
        return [e.time_ms - base for e in page.events]

    assert await found(user="alice") == [7, 5, 3, 2, 0]
    assert await found(event=trace.C2C_SEND) == [3, 2]
    assert await found(code=80001) == [3]
    assert await found(code=0, user="bob") == [8, 6, 4, 1]
    assert await found(peer="bob") == [5, 3, 2]
    assert await found(group_id="g1") == [4]
    assert await found(event=trace.LOGIN, user="carol") == []
    # Both ends of a range are included.
    ranged = await s.search(build_query(APP_A, base + 2, base + 5, now_ms(), limit=100))
    assert [e.time_ms - base for e in ranged.events] == [5, 4, 3, 2]


async def test_pages_resume_exactly_within_one_millisecond(stores: Stores) -> None:
    s = stores.trace_log
    at = now_ms() - HOUR_MS
    tied = [
        trace.new_trace(APP_A, trace.C2C_SEND, "alice", peer=f"u{i}", time_ms=at) for i in range(5)
    ]
    await s.append([*tied, trace.new_trace(APP_A, trace.LOGIN, "alice", time_ms=at - 1)])
    listed, pages = await everything(s, query(APP_A, at - 1, limit=2))
    assert pages == 3
    assert times(listed) == [at] * 5 + [at - 1]
    ids = [record_id(e) for e in listed[:5]]
    assert ids == sorted(ids, reverse=True)
    assert sorted(e.peer for e in listed[:5]) == [f"u{i}" for i in range(5)]


async def test_pages_cross_days(stores: Stores) -> None:
    s = stores.trace_log
    now = now_ms()
    made = [
        trace.new_trace(APP_A, trace.LOGIN, f"u{i}", time_ms=now - i * DAY_MS // 2 - 1000)
        for i in range(12)
    ]
    await s.append(made)
    listed, _ = await everything(s, query(APP_A, now - 7 * DAY_MS, limit=5))
    assert times(listed) == sorted(times(made), reverse=True)
    # A range that starts and ends inside days.
    ranged = await s.search(build_query(APP_A, now - 3 * DAY_MS, now - DAY_MS, now_ms(), limit=100))
    assert [e.user for e in ranged.events] == ["u2", "u3", "u4", "u5"]


async def test_a_selective_search_pages_through_a_capped_scan(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a page reads at most a few rows (the Cassandra adapter's scan cap), a search that
    matches few of them still finds every match, over more (possibly empty) pages."""
    monkeypatch.setattr(cassandra_trace_log, "SCAN_CAP", 5)
    s = stores.trace_log
    base = now_ms() - HOUR_MS
    made = [
        trace.new_trace(APP_A, trace.C2C_SEND, "carol" if i % 10 == 3 else "dave", time_ms=base + i)
        for i in range(30)
    ]
    await s.append(made)
    listed, _ = await everything(s, query(APP_A, base, user="carol", limit=2))
    assert times(listed) == [base + 23, base + 13, base + 3]


async def test_records_past_the_kept_days_are_not_stored(stores: Stores) -> None:
    s = stores.trace_log
    now = now_ms()
    await s.append(
        [
            trace.new_trace(APP_B, trace.LOGIN, "old", time_ms=now - 8 * DAY_MS),
            trace.new_trace(APP_B, trace.LOGIN, "new", time_ms=now - DAY_MS),
        ]
    )
    assert await s.expire(now - 7 * DAY_MS) >= 0
    # Wider than a search may ask, to see what is stored.
    page = await s.search(TraceQuery(APP_B, now - 9 * DAY_MS, now, limit=10))
    assert [e.user for e in page.events] == ["new"]


async def test_sqlite_expire_deletes_old_rows(tmp_path: Path) -> None:
    """SQLite keeps rows until the audit service's schedule deletes them (Cassandra's TTL
    needs no schedule)."""
    stores = SqliteStores(tmp_path / "t.sqlite3")
    try:
        now = now_ms()
        s = stores.trace_log
        await s.append(
            [
                trace.new_trace(APP_A, trace.LOGIN, f"u{i}", time_ms=now - (i + 1) * HOUR_MS)
                for i in range(4)
            ]
        )
        assert await s.expire(now - 2 * HOUR_MS - 1) == 2
        page = await s.search(TraceQuery(APP_A, now - 9 * DAY_MS, now, limit=10))
        assert [e.user for e in page.events] == ["u0", "u1"]
        assert await s.expire(now - 2 * HOUR_MS - 1) == 0
    finally:
        await stores.close()
