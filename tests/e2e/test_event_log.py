"""The troubleshooting event log against the running stack: TraceEvents produced onto im.trace
(as the services produce them) reach the audit service's store, and the admin API and
`tidings events` find them by user, code, event, receiver, group and time range, a page at a
time; a record produced twice is listed once; bad queries are refused with clear errors and an
undecodable record goes to im.trace.dlq."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.common import topics, trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api, eventually

pytestmark = pytest.mark.stack

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


async def produce(stack: Stack, records: Sequence[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topics.TRACE.name, key=key, value=value)
    finally:
        await producer.stop()


async def produce_events(stack: Stack, events: Sequence[TraceEvent]) -> None:
    await produce(
        stack, [(trace.trace_key(e.sdkappid, e.user), e.SerializeToString()) for e in events]
    )


async def search(app: AppUnderTest, **params: Any) -> dict[str, Any]:
    r = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/events", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def offsets(page: dict[str, Any], base: int) -> list[int]:
    return [e["time"] - base for e in page["events"]]


def app_events(app: AppUnderTest, base: int) -> list[TraceEvent]:
    a = app.sdkappid
    return [
        trace.new_trace(
            a, trace.LOGIN, "alice", platform="Android", client_ip="10.1.2.3", time_ms=base
        ),
        trace.new_trace(
            a,
            trace.C2C_SEND,
            "alice",
            peer="bob",
            request_id="msg-1",
            latency_ms=9,
            time_ms=base + 10,
        ),
        trace.new_trace(
            a,
            trace.C2C_SEND,
            "alice",
            peer="bob",
            code=80001,
            description="the message contains a sensitive word",
            request_id="msg-2",
            platform="Android",
            client_ip="10.1.2.3",
            latency_ms=4,
            time_ms=base + 20,
        ),
        trace.new_trace(
            a, trace.GROUP_SEND, "bob", group_id="@TGS#1", detail="Public", time_ms=base + 30
        ),
        trace.new_trace(
            a, trace.KICK, "bob", code=0, description="kicked by the admin", time_ms=base + 40
        ),
        trace.new_trace(
            a,
            trace.CALLBACK,
            "alice",
            code=502,
            description="app server answered 502",
            detail="C2C.CallbackBeforeSendMsg",
            latency_ms=120,
            time_ms=base + 50,
        ),
        trace.new_trace(a, trace.LOGOUT, "alice", time_ms=base + 60),
    ]


async def test_events_are_found_by_each_filter_and_paged(app: AppUnderTest) -> None:
    base = now_ms() - 600_000
    events = app_events(app, base)
    # The refused send is produced twice (a replay): it is listed once. A marker after it on
    # the same key (so the same partition) tells when the replay was consumed; it is older
    # than the range searched below.
    marker = trace.new_trace(app.sdkappid, trace.LOGIN, "marker", time_ms=base - 1000)
    await produce_events(app.stack, [*events, events[2]])
    await produce(app.stack, [(trace.trace_key(app.sdkappid, "alice"), marker.SerializeToString())])

    async def marker_stored() -> bool:
        return len((await search(app, since=base - 1000, user="marker"))["events"]) == 1

    await eventually(marker_stored, timeout=30)
    everything = await search(app, since=base, limit=100)
    assert offsets(everything, base) == [60, 50, 40, 30, 20, 10, 0]
    assert everything["next_cursor"] == ""
    refused = everything["events"][4]
    assert refused == {
        "time": base + 20,
        "event": "c2c_send",
        "user": "alice",
        "peer": "bob",
        "group_id": "",
        "code": 80001,
        "description": "the message contains a sensitive word",
        "request_id": "msg-2",
        "platform": "Android",
        "client_ip": "10.1.2.3",
        "latency_ms": 4,
        "detail": "",
    }

    assert offsets(await search(app, since=base, user="alice"), base) == [60, 50, 20, 10, 0]
    assert offsets(await search(app, since=base, code=80001), base) == [20]
    assert offsets(await search(app, since=base, user="bob", code=0), base) == [40, 30]
    assert offsets(await search(app, since=base, event="c2c_send"), base) == [20, 10]
    assert offsets(await search(app, since=base, peer="bob"), base) == [20, 10]
    assert offsets(await search(app, since=base, group="@TGS#1"), base) == [30]
    assert offsets(await search(app, since=base + 10, until=base + 40), base) == [40, 30, 20, 10]
    assert (await search(app, since=base, user="nobody"))["events"] == []

    pages: list[list[int]] = []
    cursor = ""
    while True:
        page = await search(app, since=base, limit=3, cursor=cursor)
        pages.append(offsets(page, base))
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == [[60, 50, 40], [30, 20, 10], [0]]


async def test_bad_queries_are_refused(app: AppUnderTest) -> None:
    path = f"/apps/{app.sdkappid}/events"
    now = now_ms()

    async def refused(params: dict[str, Any], status: int = 422) -> str:
        r = await admin_api(app.stack, "GET", path, params=params)
        assert r.status_code == status, r.text
        body = r.json()
        assert set(body) == {"error"}, body
        return f"{body['error']['code']}: {body['error']['message']}"

    assert "more than 7 days ago" in await refused({"since": now - 8 * DAY_MS})
    assert "is before since" in await refused({"since": now - 1000, "until": now - 2000})
    assert "event 'teleport' is not one of login" in await refused(
        {"since": now - 1000, "event": "teleport"}
    )
    assert "cursor is not one" in await refused({"since": now - 1000, "cursor": "nonsense"})
    missing = await refused({})
    assert missing.startswith("invalid_argument") and "since" in missing
    assert "limit" in await refused({"since": now - 1000, "limit": 101})
    assert "since" in await refused({"since": "yesterday"})
    # Out of any store's range: refused before a store is asked.
    assert "is before since" in await refused({"since": 10**30})
    assert "not a 32-bit integer" in await refused({"since": now - 1000, "code": 2**40})
    r = await admin_api(app.stack, "GET", "/apps/1999999999/events", params={"since": now - 1000})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"
    r = await admin_api(app.stack, "GET", path, token="wrong", params={"since": now - 1000})
    assert r.status_code == 401


def dead_letters(stack: Stack) -> float:
    text = httpx.get(f"http://127.0.0.1:{stack.ports['audit'].metrics}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tidings_dlq_records_total{")
        and 'group="audit.trace_log"' in line
        and f'topic="{topics.TRACE.name}"' in line
    )


async def test_an_undecodable_record_is_dead_lettered(app: AppUnderTest) -> None:
    before = dead_letters(app.stack)
    good = trace.new_trace(app.sdkappid, trace.LOGIN, "after-poison")
    key = trace.trace_key(app.sdkappid, "after-poison")
    # wire type 7 does not exist
    await produce(app.stack, [(key, b"\x7f\xff\xff"), (key, good.SerializeToString())])

    async def stored() -> bool:
        page = await search(app, since=good.time_ms, user="after-poison")
        return len(page["events"]) == 1

    await eventually(stored, timeout=30)

    async def dead_lettered() -> bool:
        return dead_letters(app.stack) == before + 1

    await eventually(dead_lettered, timeout=10)


def tidings(stack: Stack, *args: str, ok: bool = True) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env={**os.environ, "TIDINGS_DATA_DIR": str(stack.data_dir), "COLUMNS": "240"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc.stdout if ok else proc.stderr


async def test_cli_events(app: AppUnderTest) -> None:
    base = now_ms() - 600_000
    await produce_events(app.stack, app_events(app, base))

    async def all_stored() -> bool:
        return len((await search(app, since=base))["events"]) == 7

    await eventually(all_stored, timeout=30)
    app_id = str(app.sdkappid)
    out = tidings(app.stack, "events", "--app", app_id, "--user", "alice", "--code", "80001")
    assert "1 event," in out
    assert "the message contains a sensitive word" in out
    assert "msg-2" in out and "10.1.2.3" in out and "80001" in out
    paged = tidings(app.stack, "events", "--app", app_id, "--since", "20m", "--limit", "2")
    assert "2 events" in paged and "more: --cursor " in paged
    cursor = paged.rsplit("more: --cursor ", 1)[1].split()[0]
    rest = tidings(app.stack, "events", "--app", app_id, "--since", "20m", "--cursor", cursor)
    assert "5 events" in rest and "more:" not in rest
    assert "event 'teleport' is not one of" in tidings(
        app.stack, "events", "--app", app_id, "--event", "teleport", ok=False
    )
    assert "more than 7 days ago" in tidings(
        app.stack, "events", "--app", app_id, "--since", "8d", ok=False
    )
