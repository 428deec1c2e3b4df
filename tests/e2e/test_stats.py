"""Daily statistics end to end: traffic on a fresh app (logins, C2C and group messages, groups
created and destroyed, imported accounts) and trace records of a second fresh app (pushes and
callbacks), counted by the faust agents in the audit service, read back through the admin API
(JSON and CSV) and the CLI; then the audit service restarts and the figures stay what they
were, and go on counting. On a stack of its own: the restart would disturb other tests.

The figures are of today (UTC): a run across midnight UTC would split them over two days."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.audit.stats_stream import APP_ID
from services.common import topics, trace
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api, eventually, new_app, start_stack
from tests.e2e.test_group_messages import text
from tests.integration.test_cli_app_settings import tidings

pytestmark = pytest.mark.stack

USERS = ["u0", "u1", "u2", "u3", "u4"]
# Who logs in (all at once: the peak), who sends.
ONLINE = ["u0", "u1", "u2", "u4"]


@pytest.fixture(scope="module")
def stats_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("stats")))
    yield s
    s.stop()


async def today(stack: Stack, sdkappid: int, days: int = 1) -> dict[str, Any]:
    r = await admin_api(stack, "GET", f"/apps/{sdkappid}/stats", params={"days": days})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["timezone"] == "UTC" and len(doc["days"]) == days
    return doc["days"][-1]  # type: ignore[no-any-return]


def matches(day: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(day[k] == v for k, v in expected.items())


async def settled(stack: Stack, sdkappid: int, expected: dict[str, Any]) -> dict[str, Any]:
    """Today's figures once they equal `expected` (the agents catch up asynchronously)."""
    last: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal last
        last = await today(stack, sdkappid)
        return matches(last, expected)

    try:
        await eventually(check, timeout=120, interval=0.5)
    except AssertionError:
        # For the cause: what the audit service said last, and where the statistics' consumer
        # group stands on each source topic against the partitions' ends.
        log = (stack.log_dir / "audit.log").read_text(errors="replace").splitlines()
        positions = await stats_positions(stack)
        raise AssertionError(
            f"figures { ({k: last.get(k) for k in expected}) } never became {expected}; "
            f"the statistics' committed offsets / highwaters: {positions}; "
            "the audit service's last lines:\n" + "\n".join(log[-40:])
        ) from None
    return last


async def stats_positions(stack: Stack) -> dict[str, tuple[int | None, int | None]]:
    """Per source partition, the faust group's committed offset and the highwater."""
    sources = (topics.MESSAGES.name, topics.EVENTS.name, topics.TRACE.name)
    consumer = AIOKafkaConsumer(
        *sources,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    committed = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap, group_id=APP_ID, enable_auto_commit=False
    )
    await consumer.start()
    await committed.start()
    try:
        # A fetch sets the highwaters (Tansu's ListOffsets(latest) is wrong: INFRA.md).
        await consumer.getmany(timeout_ms=1000)
        return {
            f"{tp.topic}:{tp.partition}": (await committed.committed(tp), consumer.highwater(tp))
            for tp in sorted(consumer.assignment())
        }
    finally:
        await consumer.stop()
        await committed.stop()


async def produce_traces(stack: Stack, sdkappid: int, records: list[tuple[str, int]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event, code in records:
            t = trace.new_trace(sdkappid, event, "u0", code=code, detail="test")
            await producer.send_and_wait(
                topics.TRACE.name, t.SerializeToString(), key=trace.trace_key(sdkappid, "u0")
            )
    finally:
        await producer.stop()


async def group(app: AppUnderTest, members: list[str]) -> str:
    reply = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "u0",
            "Type": "Public",
            "Name": "stats",
            "MemberList": [{"Member_Account": m} for m in members],
        },
    )
    assert reply["ErrorCode"] == 0, reply
    return str(reply["GroupId"])


async def test_stats_equal_the_traffic_and_survive_a_restart(stats_stack: Stack) -> None:
    app = await new_app(stats_stack)
    traced = await new_app(stats_stack)  # pushes and callbacks only: nothing else traces them
    await app.import_accounts(*USERS)
    clients = {u: await app.connect(u) for u in ONLINE}
    try:
        # C2C: four messages from three senders, to users who are online (no pushes).
        for sender, to in (("u0", "u1"), ("u0", "u1"), ("u1", "u0"), ("u2", "u0")):
            await clients[sender].send(to=to, text=f"{sender} to {to}")
        g1 = await group(app, ["u1", "u2"])
        g2 = await group(app, [])
        reply = await app.rest("group_open_http_svc", "destroy_group", {"GroupId": g2})
        assert reply["ErrorCode"] == 0, reply
        # A distinct Random each: one sender's same Random is a retry, deduplicated.
        for n, sender in enumerate(("u0", "u1", "u1")):
            reply = await app.rest(
                "group_open_http_svc",
                "send_group_msg",
                {"GroupId": g1, "From_Account": sender, "Random": n + 1, "MsgBody": text("hi")},
            )
            assert reply["ErrorCode"] == 0, reply
        await produce_traces(
            stats_stack,
            traced.sdkappid,
            [
                *[("push", 0), ("push", 0), ("push", 1001)],
                *[("callback", 0), ("callback", 0), ("callback", 0), ("callback", 500)],
                ("login", 0),  # no figure of these
            ],
        )
        expected = {
            "active_users": 4,  # u0, u1, u2, u4 logged in; the senders are among them
            "new_users": 5,
            "peak_online": 4,
            "c2c_messages": 4,
            "group_messages": 3,
            "messages": 7,
            "senders": 3,
            "new_groups": 2,
            "destroyed_groups": 1,
            "groups": 1,
            "peak_groups": 2,
            "active_groups": 1,
        }
        await clients.pop("u4").close()
        figures = await settled(stats_stack, app.sdkappid, expected)
        assert figures["pushes_sent"] == 0 and figures["callback_success_rate"] is None
        traced_expected = {
            "pushes_sent": 2,
            "pushes_failed": 1,
            "callbacks_ok": 3,
            "callbacks_failed": 1,
            "callback_success_rate": 75.0,
            "messages": 0,
        }
        await settled(stats_stack, traced.sdkappid, traced_expected)

        # The change from yesterday (no traffic): a delta, and no percent of nothing.
        assert figures["change"]["messages"] == {"delta": 7, "percent": None}
        week = await admin_api(
            stats_stack, "GET", f"/apps/{app.sdkappid}/stats", params={"days": 7, "format": "csv"}
        )
        assert week.status_code == 200 and week.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(week.text)))
        assert len(rows) == 7 and rows[-1]["day"] == figures["day"]
        assert rows[-1]["messages"] == "7" and rows[-1]["messages_delta"] == "7"
        assert all(r["messages"] == "0" for r in rows[:-1])
        cli = await asyncio.to_thread(
            tidings,
            stats_stack.data_dir,
            "stats",
            "--app",
            str(app.sdkappid),
            "--days",
            "7",
            "--csv",
        )
        assert list(csv.DictReader(io.StringIO(cli))) == rows

        # A restart of the audit service: the figures stay, and counting goes on.
        await asyncio.to_thread(stats_stack.restart, "audit")
        assert matches(await today(stats_stack, app.sdkappid), expected)
        await clients["u2"].send(to="u0", text="after the restart")
        await produce_traces(stats_stack, traced.sdkappid, [("callback", 0)])
        await settled(stats_stack, app.sdkappid, {**expected, "c2c_messages": 5, "messages": 8})
        await settled(
            stats_stack,
            traced.sdkappid,
            {**traced_expected, "callbacks_ok": 4, "callback_success_rate": 80.0},
        )
    finally:
        for c in clients.values():
            await c.close()


async def test_bad_requests_are_refused(stats_stack: Stack) -> None:
    app = await new_app(stats_stack)
    for params in ({"days": 0}, {"days": 91}, {"days": "x"}, {"format": "xml"}):
        r = await admin_api(stats_stack, "GET", f"/apps/{app.sdkappid}/stats", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "invalid_argument"
    r = await admin_api(stats_stack, "GET", "/apps/999999999/stats")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await admin_api(stats_stack, "GET", f"/apps/{app.sdkappid}/stats", token="wrong")
    assert r.status_code == 401
    thirty = await admin_api(stats_stack, "GET", f"/apps/{app.sdkappid}/stats", params={"days": 30})
    assert len(thirty.json()["days"]) == 30
    refused = await asyncio.to_thread(
        tidings, stats_stack.data_dir, "stats", "--app", str(app.sdkappid), "--days", "91", ok=False
    )
    assert "1..90" in refused
    table = await asyncio.to_thread(
        tidings, stats_stack.data_dir, "stats", "--app", str(app.sdkappid), "--days", "3"
    )
    assert "peak_online" in table
