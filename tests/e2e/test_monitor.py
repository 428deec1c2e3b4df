"""Real-time monitoring against the running stack: trace records produced to im.trace for a
fresh app come out of GET /admin/apps/{id}/monitor exactly (rates, codes, latency, today's
messages, per window); a batch applied twice counts once; online_now follows the app's
connections."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from services.audit.monitor import Monitor
from services.common import topics, trace
from services.common.bus import BatchProducer
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.redis_state import connect
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api, eventually, new_app

pytestmark = pytest.mark.stack

MIN, HOUR, DAY = 60, 3600, 86400
# How far back each window surely reaches (its buckets are aligned, so it reaches a bit more).
REACH = {"1h": 59 * MIN, "6h": 5 * HOUR + 55 * MIN, "24h": 23 * HOUR, "3d": 71 * HOUR}
# Latency per metric, alike within one, so that p50 = p99 = avg = max.
LATENCY = {"login": 20, "c2c_send": 3, "group_send": 8, "callback": 120, "push": 50}


async def monitor(stack: Stack, sdkappid: int, window: str) -> dict[str, Any]:
    r = await admin_api(stack, "GET", f"/apps/{sdkappid}/monitor", params={"window": window})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def traces(sdkappid: int, now_s: int) -> list[tuple[TraceEvent, tuple[str, ...]]]:
    """Trace records at several ages, each with the metrics it must count in."""
    out: list[tuple[TraceEvent, tuple[str, ...]]] = []

    def add(age_s: int, event: str, metrics: tuple[str, ...], code: int = 0, **kw: str) -> None:
        e = trace.new_trace(
            sdkappid,
            event,
            "alice",
            code=code,
            latency_ms=LATENCY.get(event, 0),
            time_ms=(now_s - age_s) * 1000,
            **kw,
        )
        out.append((e, metrics))

    for _ in range(2):
        add(0, trace.LOGIN, ("login",), platform="Android")
    add(0, trace.LOGIN, ("login",), code=70001, platform="Web")
    add(0, trace.LOGOUT, ())
    add(0, trace.KICK, ())
    for _ in range(2):
        add(0, trace.C2C_SEND, ("c2c_send",), peer="bob")
    add(0, trace.C2C_SEND, ("c2c_send", "rest"), peer="bob", platform="RESTAPI")
    add(0, trace.C2C_SEND, ("c2c_send",), code=80001, peer="bob")
    add(0, trace.GROUP_SEND, ("group_send", "live_group"), group_id="live", detail="AVChatRoom")
    add(
        0,
        trace.GROUP_SEND,
        ("group_send", "live_group", "rest"),
        group_id="live",
        detail="AVChatRoom",
        platform="RESTAPI",
    )
    add(0, trace.GROUP_SEND, ("group_send",), group_id="pub", detail="Public")
    add(0, trace.GROUP_SEND, ("group_send",), code=10007, group_id="pub", detail="Public")
    add(0, trace.RECALL, (), peer="bob")
    add(0, trace.CALLBACK, ("callback",), detail="C2C.CallbackAfterSendMsg")
    add(0, trace.CALLBACK, ("callback",), code=502, detail="C2C.CallbackAfterSendMsg")
    add(0, trace.PUSH, ("push",), detail="fcm")
    add(30 * MIN, trace.C2C_SEND, ("c2c_send",), peer="carol")
    add(5 * HOUR, trace.GROUP_SEND, ("group_send",), group_id="work", detail="Work")
    add(2 * DAY, trace.LOGIN, ("login",), platform="iOS")
    return out


def expected_rates(
    records: list[tuple[TraceEvent, tuple[str, ...]]], now_s: int, window: str
) -> dict[str, dict[str, Any]]:
    codes: dict[str, Counter[int]] = {
        m: Counter()
        for m in ("login", "c2c_send", "group_send", "live_group", "callback", "push", "rest")
    }
    for e, metrics in records:
        if e.time_ms // 1000 > now_s - REACH[window]:
            for m in metrics:
                codes[m][e.code] += 1
    out: dict[str, dict[str, Any]] = {}
    for m, counted in codes.items():
        total = sum(counted.values())
        ms = LATENCY[{"live_group": "group_send", "rest": "c2c_send"}.get(m, m)]
        out[m] = {
            "total": total,
            "success": counted[0],
            "success_rate": round(counted[0] / total, 4) if total else None,
            "latency_ms": {"p50": ms, "p99": ms, "avg": float(ms), "max": ms}
            if total
            else {"p50": None, "p99": None, "avg": None, "max": None},
            "codes": {str(c): n for c, n in sorted(counted.items())},
        }
    # REST sends here are one C2C (3 ms) and one group send (8 ms).
    if out["rest"]["total"] == 2:
        out["rest"]["latency_ms"] = {"p50": 3, "p99": 8, "avg": 5.5, "max": 8}
    return out


async def test_monitor_answers_exactly_what_was_traced(app: AppUnderTest) -> None:
    stack = app.stack
    now_s = int(time.time())
    records = traces(app.sdkappid, now_s)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        tracer = trace.Tracer(BatchProducer(producer))
        for e, _ in records:
            tracer.trace(e)
        await tracer.drain()
        await producer.flush()
    finally:
        await producer.stop()

    async def counted() -> bool:
        got = await monitor(stack, app.sdkappid, "3d")
        return bool(got["rates"] == expected_rates(records, now_s, "3d"))

    await eventually(counted)
    for window in ("1h", "6h", "24h", "3d"):
        got = await monitor(stack, app.sdkappid, window)
        assert got["rates"] == expected_rates(records, now_s, window), window
        assert got["window"] == window
        assert got["online_now"] == 0 and got["online_exact"] is True
        step = {"1h": MIN, "6h": 5 * MIN, "24h": HOUR, "3d": HOUR}[window]
        assert got["step_s"] == step
        # The series adds up to the rates.
        for metric, rate in got["rates"].items():
            assert sum(p["metrics"][metric]["total"] for p in got["series"]) == rate["total"]
    now_read = int(time.time())
    today = now_read - now_read % DAY
    sent_today = [e for e, _ in records if e.time_ms // 1000 >= today and e.code == 0]
    assert got["today"] == {
        "c2c": sum(e.event == trace.C2C_SEND for e in sent_today),
        "group": sum(e.event == trace.GROUP_SEND and e.detail != "AVChatRoom" for e in sent_today),
        "live_group": sum(e.detail == "AVChatRoom" for e in sent_today),
    }
    one_hour = await monitor(stack, app.sdkappid, "1h")
    assert one_hour["rates"]["c2c_send"]["codes"] == {"0": 4, "80001": 1}
    assert one_hour["rates"]["callback"]["success_rate"] == 0.5
    assert len(one_hour["series"]) == 60
    assert one_hour["series"][-1]["start_ms"] <= now_read * 1000


def record(partition: int, offset: int, event: TraceEvent) -> ConsumerRecord[bytes, bytes]:
    value = event.SerializeToString()
    return ConsumerRecord(
        topics.TRACE.name, partition, offset, event.time_ms, 0, None, value, None, 0, len(value), ()
    )


async def test_a_replayed_batch_counts_once(stack: Stack) -> None:
    a = await new_app(stack)
    sends = [
        trace.new_trace(a.sdkappid, trace.C2C_SEND, "alice", peer="bob", code=i % 2)
        for i in range(15)
    ]
    client = connect(stack.redis_url)
    try:
        writer = Monitor(client)
        first = [record(0, 100 + i, e) for i, e in enumerate(sends[:10])]
        assert await writer.handle(first) == []
        # The audit service died before committing: the batch comes again, with what followed.
        assert (
            await writer.handle(
                first[5:] + [record(0, 110 + i, e) for i, e in enumerate(sends[10:])]
            )
            == []
        )
        assert await writer.handle(first) == []
    finally:
        await client.aclose()
    got = await monitor(stack, a.sdkappid, "1h")
    assert got["rates"]["c2c_send"]["codes"] == {"0": 8, "1": 7}
    assert got["today"]["c2c"] == 8


async def test_online_now_counts_the_apps_connected_users(app: AppUnderTest) -> None:
    other = await new_app(app.stack)
    await app.put_accounts("alice", "bob")
    await other.put_accounts("carol")
    alice = await app.connect("alice")
    alice_web = await app.connect("alice", platform="Web")
    bob = await app.connect("bob")
    stranger = await other.connect("carol")
    try:
        # A login is answered once its presence is written: no waiting.
        got = await monitor(app.stack, app.sdkappid, "1h")
        assert (got["online_now"], got["online_exact"]) == (2, True)
        assert (await monitor(app.stack, other.sdkappid, "1h"))["online_now"] == 1
        await bob.close()

        async def bob_gone() -> bool:
            got = await monitor(app.stack, app.sdkappid, "1h")
            return bool(got["online_now"] == 1)

        await eventually(bob_gone)
    finally:
        for c in (alice, alice_web, bob, stranger):
            await c.close()


async def test_bad_requests(app: AppUnderTest) -> None:
    r = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/monitor", params={"window": "7d"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    assert "window" in r.json()["error"]["message"]
    r = await admin_api(app.stack, "GET", "/apps/999999999/monitor")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/monitor", token="wrong")
    assert r.status_code == 401


async def test_the_services_traffic_reaches_the_monitor(app: AppUnderTest) -> None:
    await app.put_accounts("alice", "bob")
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "alice", "Type": "AVChatRoom", "Name": "live"},
    )
    assert created["ErrorCode"] == 0, created
    alice = await app.connect("alice")
    bob = await app.connect("bob")
    try:
        await alice.join_group(created["GroupId"])
        await alice.send(to="bob", text="hi")
        await alice.send(group=created["GroupId"], text="live")
        sent = await app.rest(
            "openim",
            "sendmsg",
            {
                "From_Account": "alice",
                "To_Account": "bob",
                "MsgRandom": 7,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "by REST"}}],
            },
        )
        assert sent["ErrorCode"] == 0, sent

        expected = {
            "login": (2, 2),
            "c2c_send": (2, 2),
            "group_send": (1, 1),
            "live_group": (1, 1),
            "callback": (0, 0),
            "push": (0, 0),
            "rest": (1, 1),
        }

        async def counted() -> dict[str, Any] | None:
            # One user's records stay in order; two users' may come in either order.
            got = await monitor(app.stack, app.sdkappid, "1h")
            totals = {m: (r["total"], r["success"]) for m, r in got["rates"].items()}
            return got if totals == expected else None

        got = await eventually(counted)
    finally:
        await alice.close()
        await bob.close()
    assert got["today"] == {"c2c": 2, "group": 0, "live_group": 1}
    assert got["online_now"] == 2
