"""The callback delivery log and the DLQ listing's pure parts: a traced try as a log item (host,
status or error, attempt, event id), the search's checks, the filters and paging on top of the
event log's query (against the SQLite event log), and the ids and times of dead letters."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.callback.tracing import callback_trace, url_host
from services.common import trace
from services.common.callback_log import (
    MAX_PAGES_READ,
    check_search,
    delivery_of,
    search_deliveries,
)
from services.common.callback_records import Delivery
from services.common.callback_replay import (
    DeadCallback,
    event_time_ms,
    fresh,
    letter_doc,
    letter_id,
    parse_letter_id,
)
from services.common.store.sqlite import SqliteStores
from services.common.store.trace_log import DAY_MS, MAX_PAGE, TraceQueryError, TraceStore

APP = 1400000701
AFTER = "C2C.CallbackAfterSendMsg"
BEFORE = "C2C.CallbackBeforeSendMsg"


def tried(command: str, code: int, n: int, *, at: int, error: str = "") -> trace.TraceEvent:
    e = callback_trace(
        APP,
        command,
        {"From_Account": "alice", "TidingsEventId": f"{APP}:e{n}"},
        code=code,
        description=error,
        latency_ms=12,
        target_host="hooks.example.com:8443",
        attempt=n,
    )
    e.time_ms = at
    return e


def test_a_traced_try_is_a_log_item() -> None:
    ok = delivery_of(tried(AFTER, 0, 1, at=5))
    assert (ok.outcome, ok.http_status, ok.error, ok.attempt) == ("ok", 0, "", 1)
    assert (ok.command, ok.target_host, ok.event_id) == (
        AFTER,
        "hooks.example.com:8443",
        f"{APP}:e1",
    )
    answered = delivery_of(tried(AFTER, 502, 4, at=5, error="the app server answered HTTP 502"))
    assert (answered.outcome, answered.http_status, answered.attempt) == ("failed", 502, 4)
    silent = delivery_of(tried(AFTER, trace.CALLBACK_TIMEOUT, 2, at=5))
    assert (silent.http_status, silent.error) == (0, "timeout")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://user:pw@hooks.example.com:8443/cb?x=1", "hooks.example.com:8443"),
        ("http://127.0.0.1/im", "127.0.0.1"),
        ("http://[::1]:99/", "[::1]:99"),
        ("not a url", ""),
    ],
)
def test_the_host_posted_to_keeps_no_credentials(url: str, host: str) -> None:
    assert url_host(url) == host


def test_a_search_is_checked_before_any_store_is_read() -> None:
    now = int(time.time() * 1000)
    assert check_search(APP, None, None, now).since_ms == now - DAY_MS
    for kwargs in ({"outcome": "maybe"}, {"command": "x" * 65}, {"limit": MAX_PAGE + 1}):
        with pytest.raises(TraceQueryError):
            check_search(APP, None, None, now, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TraceQueryError, match="days"):
        check_search(APP, now - 8 * DAY_MS, None, now)


@pytest.fixture
async def log_store(tmp_path: Path) -> AsyncIterator[TraceStore]:
    stores = SqliteStores(tmp_path / "t.sqlite3")
    yield stores.trace_log
    await stores.close()


async def test_filters_and_pages_on_top_of_the_event_log(log_store: TraceStore) -> None:
    now = int(time.time() * 1000)
    # Newest last: a before-callback, then a delivery that failed twice and then went through,
    # and a login that is no callback.
    await log_store.append(
        [
            tried(BEFORE, 0, 1, at=now - 5000),
            tried(AFTER, 500, 1, at=now - 4000, error="HTTP 500"),
            tried(AFTER, trace.CALLBACK_UNREACHABLE, 2, at=now - 3000, error="refused"),
            tried(AFTER, 0, 3, at=now - 2000),
            trace.new_trace(APP, trace.LOGIN, "alice", time_ms=now - 1000),
        ]
    )

    async def page(**kwargs: object) -> tuple[list[tuple[str, int]], str]:
        search = check_search(APP, None, None, now, **kwargs)  # type: ignore[arg-type]
        got = await search_deliveries(log_store, search)
        return [(d.command, d.attempt) for d in got.deliveries], got.next_cursor

    assert (await page())[0] == [(AFTER, 3), (AFTER, 2), (AFTER, 1), (BEFORE, 1)]
    assert (await page(outcome="failed"))[0] == [(AFTER, 2), (AFTER, 1)]
    assert (await page(outcome="ok", command=AFTER))[0] == [(AFTER, 3)]
    first, cursor = await page(command=AFTER, limit=2)
    assert first == [(AFTER, 3), (AFTER, 2)] and cursor
    assert (await page(command=AFTER, limit=2, cursor=cursor)) == ([(AFTER, 1)], "")


async def test_a_sparse_filter_stops_after_its_pages_and_resumes(log_store: TraceStore) -> None:
    now = int(time.time() * 1000)
    misses = MAX_PAGES_READ * MAX_PAGE
    await log_store.append(
        [tried(BEFORE, 0, 1, at=now - 10 * misses - 10)]
        + [tried(AFTER, 0, 1, at=now - 10 * i) for i in range(misses)]
    )
    search = check_search(APP, None, None, now, command=BEFORE)
    short = await search_deliveries(log_store, search)
    assert short.deliveries == [] and short.next_cursor
    resumed = check_search(APP, None, None, now, command=BEFORE, cursor=short.next_cursor)
    (found,) = (await search_deliveries(log_store, resumed)).deliveries
    assert found.command == BEFORE


def test_dead_letter_ids_and_listing() -> None:
    assert parse_letter_id(letter_id(3, 12345)) == (3, 12345)
    for bad in ("", "3", "a:1", "1:-2", "1:2:3", "9999999:1"):
        with pytest.raises(ValueError, match="dead letter id"):
            parse_letter_id(bad)
    assert event_time_ms({"EventTime": 1_780_000_000_123}) == 1_780_000_000_123
    assert event_time_ms({"MsgTime": 1_780_000_000}) == 1_780_000_000_000
    assert event_time_ms({"EventTime": True}) == 0
    d = Delivery(
        APP, "e1", AFTER, {"MsgTime": 7}, attempts=8, error="HTTP 500", failed_at_ms=99, rule="r1"
    )
    assert letter_doc(DeadCallback("0:4", d)) == {
        "id": "0:4",
        "command": AFTER,
        "event_id": "e1",
        "rule": "r1",
        "event_time": 7000,
        "failed_at": 99,
        "attempts": 8,
        "last_error": "HTTP 500",
    }
    # A replay starts a fresh budget, and still goes to the rule it was for.
    again = fresh(d)
    assert (again.attempts, again.error, again.failed_at_ms, again.rule) == (0, "", 0, "r1")
