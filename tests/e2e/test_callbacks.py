"""Tencent-style callbacks against the running stack and a real app server (an HTTP server in
this process): BeforeSend over gRPC with every verdict and both failure policies, after-send
callbacks for messages sent over REST, the retry path, the DLQ and its replay (admin API and
CLI), and the configuration through the admin API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.common import topics
from services.common.pb.tidings.v1 import callback_pb2, callback_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    SOURCE_WS,
    InboundMessage,
    MsgElement,
)
from services.embedded.stack import Stack
from tests.callback_app_server import AppServer, Hit, answer
from tests.conftest import AppUnderTest, eventually, new_app
from tests.conftest import admin_api as admin

pytestmark = pytest.mark.stack

TOKEN = "s3cret-token"
C2C_BEFORE = "C2C.CallbackBeforeSendMsg"
GROUP_BEFORE = "Group.CallbackBeforeSendMsg"
C2C_AFTER = "C2C.CallbackAfterSendMsg"
GROUP_AFTER = "Group.CallbackAfterSendMsg"


@pytest.fixture
async def server() -> AsyncIterator[AppServer]:
    s = AppServer()
    s.start()
    yield s
    s.stop()


async def configure(app: AppUnderTest, url: str, **fields: Any) -> dict[str, Any]:
    r = await admin(app.stack, "PUT", f"/apps/{app.sdkappid}/callback", json={"url": url, **fields})
    assert r.status_code == 200, r.text
    # In effect for every message sent after this answer (services/common/config_versions.py).
    return r.json()  # type: ignore[no-any-return]


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


def inbound(app: AppUnderTest, **kw: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "schema_version": 1,
        "sdkappid": app.sdkappid,
        "conversation": "c2c:alice:bob",
        "chat_type": CHAT_TYPE_C2C,
        "sender": "alice",
        "to_user": "bob",
        "client_msg_id": "m1",
        "msg_random": 4242,
        "elements": [MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hello"}')],
        "cloud_custom_data": "ccd",
        "source": SOURCE_WS,
        "received_at_ms": int(time.time() * 1000),
        "client_ip": "203.0.113.7",
        "platform": "iPhone",
    }
    return InboundMessage(**{**fields, **kw})


async def before_send(
    stack: Stack, msg: InboundMessage
) -> tuple[callback_pb2.BeforeSendReply, float]:
    async with grpc.aio.insecure_channel(stack.grpc_addr("callback")) as channel:
        stub = callback_pb2_grpc.CallbackServiceStub(channel)
        started = time.monotonic()
        reply = await stub.BeforeSend(callback_pb2.BeforeSendRequest(message=msg), timeout=15)
        return reply, time.monotonic() - started


def check_signed_query(hit: Hit, app: AppUnderTest, command: str) -> None:
    q = hit.query
    assert q["tenant"] == "t1"  # the app's own query is kept
    assert (q["SdkAppid"], q["CallbackCommand"], q["contenttype"]) == (
        str(app.sdkappid),
        command,
        "json",
    )
    assert abs(int(q["RequestTime"]) - time.time()) < 10
    assert q["Sign"] == hashlib.sha256(f"{TOKEN}{q['RequestTime']}".encode()).hexdigest()


async def test_before_send_query_body_and_every_verdict(
    app: AppUnderTest, server: AppServer
) -> None:
    await app.import_accounts("alice", "bob")
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "alice", "Type": "Public", "Name": "g"},
    )
    group_id = created["GroupId"]
    await configure(app, server.url, token=TOKEN, commands=[C2C_BEFORE, GROUP_BEFORE])

    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert not reply.replaced_elements
    (hit,) = server.of(C2C_BEFORE)
    assert hit.path == "/im/callback"
    check_signed_query(hit, app, C2C_BEFORE)
    assert (hit.query["ClientIP"], hit.query["OptPlatform"]) == ("203.0.113.7", "iOS")
    body = hit.body
    assert {k: body[k] for k in ("CallbackCommand", "From_Account", "To_Account")} == {
        "CallbackCommand": C2C_BEFORE,
        "From_Account": "alice",
        "To_Account": "bob",
    }
    assert (body["MsgRandom"], body["MsgBody"], body["CloudCustomData"]) == (
        4242,
        text("hello"),
        "ccd",
    )
    for name in ("MsgSeq", "MsgTime", "MsgKey", "OnlineOnlyFlag", "EventTime"):
        assert name in body

    server.behaviour = answer(1, ErrorInfo="no links please")
    reply, _ = await before_send(app.stack, inbound(app))
    assert (reply.verdict, reply.error_code, reply.error_info) == (
        callback_pb2.VERDICT_REJECT,
        20006,
        "no links please",
    )
    group_msg = inbound(
        app,
        chat_type=CHAT_TYPE_GROUP,
        conversation=f"group:{group_id}",
        to_user="",
        group_id=group_id,
    )
    reply, _ = await before_send(app.stack, group_msg)
    assert (reply.verdict, reply.error_code) == (callback_pb2.VERDICT_REJECT, 10016)
    group_hit = server.of(GROUP_BEFORE)[-1]
    check_signed_query(group_hit, app, GROUP_BEFORE)
    assert {k: group_hit.body[k] for k in ("GroupId", "Type", "From_Account", "Random")} == {
        "GroupId": group_id,
        "Type": "Public",
        "From_Account": "alice",
        "Random": 4242,
    }

    server.behaviour = answer(2)
    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_DROP

    server.behaviour = answer(0, MsgBody=text("[redacted]"), CloudCustomData="checked")
    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert reply.replaced_elements and reply.replaced_cloud_custom_data
    assert [(e.msg_type, orjson.loads(e.content_json)) for e in reply.elements] == [
        ("TIMTextElem", {"Text": "[redacted]"})
    ]
    assert reply.cloud_custom_data == "checked"

    # A command that is not enabled is allowed without any request.
    await configure(app, server.url, token=TOKEN, commands=[GROUP_BEFORE])
    seen = len(server.hits)
    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert len(server.hits) == seen


async def test_before_send_timeout_fail_open_then_fail_closed(
    app: AppUnderTest, server: AppServer
) -> None:
    server.behaviour = lambda _: None
    await configure(app, server.url, token=TOKEN, commands="all", timeout_s=0.5)
    reply, took = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert 0.4 < took < 1.5, took

    await configure(
        app, server.url, token=TOKEN, commands="all", timeout_s=0.5, fail_policy="closed"
    )
    reply, took = await before_send(app.stack, inbound(app))
    assert (reply.verdict, reply.error_code) == (callback_pb2.VERDICT_REJECT, 4503)
    assert "fail-closed" in reply.error_info
    assert 0.4 < took < 1.5, took

    # An app server that answers HTTP 500 is a failure too.
    server.behaviour = lambda _: (500, {})
    reply, took = await before_send(app.stack, inbound(app))
    assert (reply.verdict, reply.error_code) == (callback_pb2.VERDICT_REJECT, 4503)
    assert took < 0.4

    # Tencent's two console checkboxes: C2C messages still delivered, group messages refused.
    doc = await configure(
        app, server.url, commands="all", c2c_msg_fail_policy="open", group_msg_fail_policy="closed"
    )
    assert (doc["fail_policy"], doc["c2c_msg_fail_policy"]) == ("open", "open")
    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    group_msg = inbound(
        app, chat_type=CHAT_TYPE_GROUP, conversation="group:fp", to_user="", group_id="fp"
    )
    reply, _ = await before_send(app.stack, group_msg)
    assert (reply.verdict, reply.error_code) == (callback_pb2.VERDICT_REJECT, 4503)


async def send_c2c(app: AppUnderTest, sender: str, to: str, words: str) -> dict[str, Any]:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": sender, "To_Account": to, "MsgRandom": 99, "MsgBody": text(words)},
    )
    assert reply["ErrorCode"] == 0, reply
    return reply


async def arrived(server: AppServer, command: str, app: int, count: int = 1) -> list[Hit]:
    async def check() -> list[Hit] | None:
        hits = server.of(command, app)
        return hits if len(hits) >= count else None

    hits: list[Hit] | None = await eventually(check, timeout=30)
    assert hits, f"{command} for {app} did not arrive"
    return hits


async def test_after_send_callbacks_for_messages_sent_over_rest(
    app: AppUnderTest, server: AppServer
) -> None:
    await app.import_accounts("alice", "bob")
    await configure(app, server.url, token=TOKEN, commands=[C2C_AFTER, GROUP_AFTER])
    sent = await send_c2c(app, "alice", "bob", "after hello")
    (hit,) = await arrived(server, C2C_AFTER, app.sdkappid)
    check_signed_query(hit, app, C2C_AFTER)
    assert (hit.query["ClientIP"], hit.query["OptPlatform"]) == ("127.0.0.1", "RESTAPI")
    body = hit.body
    assert (body["From_Account"], body["To_Account"], body["MsgBody"]) == (
        "alice",
        "bob",
        text("after hello"),
    )
    assert (body["MsgKey"], body["MsgSeq"], body["MsgTime"]) == (
        sent["MsgKey"],
        sent["MsgSeq"],
        sent["MsgTime"],
    )
    assert (body["SendMsgResult"], body["MsgRandom"]) == (0, 99)
    assert body["TidingsEventId"] == (f"{app.sdkappid}:c2c:alice:bob:{sent['MsgSeq']}:{C2C_AFTER}")

    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Work",
            "Name": "g",
            "MemberList": [{"Member_Account": "bob"}],
        },
    )
    assert created["ErrorCode"] == 0, created
    posted = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": created["GroupId"], "From_Account": "bob", "Random": 5, "MsgBody": text("hey")},
    )
    assert posted["ErrorCode"] == 0, posted
    (ghit,) = await arrived(server, GROUP_AFTER, app.sdkappid)
    assert {k: ghit.body[k] for k in ("GroupId", "Type", "From_Account", "MsgSeq", "Random")} == {
        "GroupId": created["GroupId"],
        "Type": "Work",
        "From_Account": "bob",
        "MsgSeq": posted["MsgSeq"],
        "Random": 5,
    }


def service_metric(stack: Stack, name: str, **labels: str) -> float:
    """The sum of the callback service's `name` series that carry `labels`."""
    text_ = httpx.get(f"http://127.0.0.1:{stack.ports['callback'].metrics}/metrics").text
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text_.splitlines()
        if line.startswith(name + "{") and all(w in line for w in wanted)
    )


async def test_records_of_an_app_with_nothing_configured_are_not_decoded(
    stack: Stack, server: AppServer
) -> None:
    """The callback service reads the app from each im.messages key and skips the records of
    apps with nothing configured before decoding them: undecodable bytes under such an app's
    key are skipped, the same bytes under an app with a callback are poison. (The router and
    audit dead-letter both: they read every record.)"""
    quiet, loud = await new_app(stack), await new_app(stack)
    await loud.import_accounts("alice", "bob")
    await quiet.import_accounts("alice", "bob")
    await configure(loud, server.url, token=TOKEN, commands=[C2C_AFTER])
    group, stage = "callback.main", "callback.messages"
    dead_before = service_metric(
        stack, "tidings_dlq_records_total", group=group, topic=topics.MESSAGES.name
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        for a in (quiet, loud):
            await producer.send_and_wait(
                topics.MESSAGES.name,
                key=f"{a.sdkappid}:c2c:alice:bob".encode(),
                value=b"\x7f\xff\xff",  # no protobuf: wire type 7 does not exist
            )
    finally:
        await producer.stop()
    # And a real message of each: the quiet one's is skipped too, the loud one's delivered.
    await send_c2c(quiet, "alice", "bob", "nobody listens")
    await send_c2c(loud, "alice", "bob", "someone listens")
    await arrived(server, C2C_AFTER, loud.sdkappid)

    def count(a: AppUnderTest, outcome: str) -> float:
        return service_metric(
            stack, "tidings_stage_messages_total", stage=stage, app=str(a.sdkappid), outcome=outcome
        )

    async def settled() -> bool:
        return count(loud, "poison") == 1 and count(quiet, "skipped") == 2

    assert await eventually(settled, timeout=30)
    assert (count(loud, "read"), count(loud, "skipped")) == (1, 0)
    assert (count(quiet, "read"), count(quiet, "poison")) == (0, 0)
    dead = service_metric(
        stack, "tidings_dlq_records_total", group=group, topic=topics.MESSAGES.name
    )
    assert dead - dead_before == 1
    assert server.of(C2C_AFTER, quiet.sdkappid) == []


async def test_after_send_retried_while_the_app_server_is_down(
    app: AppUnderTest, server: AppServer
) -> None:
    await app.import_accounts("alice", "bob")
    await configure(app, server.url, token=TOKEN, commands=[C2C_AFTER])
    server.stop()
    sent = await send_c2c(app, "alice", "bob", "while down")
    await asyncio.sleep(4)
    server.start()
    hits = await arrived(server, C2C_AFTER, app.sdkappid)
    assert hits[0].body["MsgKey"] == sent["MsgKey"]
    # Signed afresh for the retry, not with the time of the first try.
    assert abs(int(hits[0].query["RequestTime"]) - hits[0].at) < 2


async def dead_letter_ids(stack: Stack) -> set[str]:
    consumer = AIOKafkaConsumer(
        topics.CALLBACKS_DLQ.name,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=1500)
        return {
            orjson.loads(r.value or b"{}").get("event_id", "")
            for rs in batches.values()
            for r in rs
        }
    finally:
        await consumer.stop()


def metric(stack: Stack, outcome: str, app: int) -> float:
    text_ = httpx.get(f"http://127.0.0.1:{stack.ports['callback'].metrics}/metrics").text
    total = 0.0
    for line in text_.splitlines():
        if line.startswith("tidings_callback_requests_total{") and (
            f'app="{app}"' in line and f'outcome="{outcome}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def tiny_retry_budget(stack: Stack) -> Any:
    """The callback service with one retry-topic try, soon after the inline ones."""
    stack.extra_env.update(
        {"TIDINGS_CALLBACK_RETRY_ATTEMPTS": "1", "TIDINGS_CALLBACK_RETRY_BASE_S": "0.2"}
    )
    stack.restart("callback")
    yield
    for name in ("TIDINGS_CALLBACK_RETRY_ATTEMPTS", "TIDINGS_CALLBACK_RETRY_BASE_S"):
        stack.extra_env.pop(name, None)
    stack.restart("callback")


async def test_dead_letters_and_replay_per_app(
    stack: Stack, server: AppServer, tiny_retry_budget: Any
) -> None:
    first, second = await new_app(stack), await new_app(stack)
    for a in (first, second):
        await a.import_accounts("alice", "bob")
        await configure(a, server.url, token=TOKEN, commands=[C2C_AFTER])
    server.stop()
    sent = {
        a.sdkappid: await send_c2c(a, "alice", "bob", f"to dlq {a.sdkappid}")
        for a in (first, second)
    }
    wanted = {f"{a}:c2c:alice:bob:{s['MsgSeq']}:{C2C_AFTER}" for a, s in sent.items()}

    async def both_dead() -> bool:
        return wanted <= await dead_letter_ids(stack)

    # The restarted callback service first rejoins its consumer groups (5-18 s each on Tansu).
    assert await eventually(both_dead, timeout=90)
    assert metric(stack, "dlq", first.sdkappid) == 1
    server.start()

    r = await admin(stack, "POST", f"/apps/{first.sdkappid}/callbacks/replay")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] == 1 and r.json()["complete"]
    (hit,) = await arrived(server, C2C_AFTER, first.sdkappid)
    assert hit.body["MsgKey"] == sent[first.sdkappid]["MsgKey"]
    check_signed_query(hit, first, C2C_AFTER)
    # The other app's dead letter stays where it is until that app is replayed.
    await asyncio.sleep(2)
    assert server.of(C2C_AFTER, second.sdkappid) == []
    r = await admin(stack, "POST", f"/apps/{first.sdkappid}/callbacks/replay")
    assert r.json()["replayed"] == 0

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "replay-dlq",
        "--app",
        str(second.sdkappid),
        env={
            **os.environ,
            "TIDINGS_DATA_DIR": str(stack.data_dir),
            "TIDINGS_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["replayed"] == 1
    (hit,) = await arrived(server, C2C_AFTER, second.sdkappid)
    assert hit.body["MsgKey"] == sent[second.sdkappid]["MsgKey"]
    assert metric(stack, "delivered", second.sdkappid) == 1


async def test_admin_api_callback_configuration(app: AppUnderTest) -> None:
    path = f"/apps/{app.sdkappid}/callback"
    r = await admin(app.stack, "GET", path)
    assert r.status_code == 404
    assert "no callback configured" in r.json()["error"]["message"]
    r = await admin(
        app.stack, "PUT", path, json={"url": "https://example.com/cb", "commands": ["Nope"]}
    )
    assert r.status_code == 422
    assert "unknown CallbackCommand Nope" in r.json()["error"]["message"]
    r = await admin(app.stack, "PUT", path, json={"url": "gopher://example.com"})
    assert r.status_code == 422
    r = await admin(app.stack, "PUT", path, json={"url": "https://example.com/cb", "timeout_s": 60})
    assert r.status_code == 422
    r = await admin(
        app.stack,
        "PUT",
        path,
        json={
            "url": "https://example.com/cb",
            "token": "t",
            "commands": "all",
            "fail_policy": "closed",
        },
    )
    assert r.status_code == 200, r.text
    expected = {
        "url": "https://example.com/cb",
        "token": "t",
        "commands": "all",
        "timeout_s": 2.0,
        "fail_policy": "closed",
        "c2c_msg_fail_policy": None,
        "group_msg_fail_policy": None,
    }
    assert r.json() == expected
    assert (await admin(app.stack, "GET", path)).json() == expected
    r = await admin(app.stack, "POST", "/apps/1999999999/callbacks/replay")
    assert r.status_code == 404


async def test_app_server_down_for_30_s_during_traffic_loses_no_after_callback(
    app: AppUnderTest, server: AppServer
) -> None:
    """One message a second for 30 s while the app server is down, then it comes back: every
    after-callback arrives (at least once: TidingsEventId tells a repeat), none go to the DLQ."""
    await app.import_accounts("alice", "bob")
    await configure(app, server.url, token=TOKEN, commands=[C2C_AFTER])
    server.stop()
    down_at = time.monotonic()
    keys: set[str] = set()
    for i in range(30):
        keys.add((await send_c2c(app, "alice", "bob", f"during outage {i}"))["MsgKey"])
        await asyncio.sleep(max(0.0, down_at + i + 1 - time.monotonic()))
    server.start()
    back_at = time.monotonic()

    async def all_arrived() -> bool:
        return keys <= {h.body["MsgKey"] for h in server.of(C2C_AFTER, app.sdkappid)}

    assert await eventually(all_arrived, timeout=150, interval=0.5)
    hits = server.of(C2C_AFTER, app.sdkappid)
    print(f"all {len(keys)} after-callbacks in {time.monotonic() - back_at:.1f} s after restart")
    # A repeat carries the same event id, so an app server can drop it.
    by_key: dict[str, set[str]] = {}
    for h in hits:
        by_key.setdefault(h.body["MsgKey"], set()).add(h.body["TidingsEventId"])
    assert all(len(ids) == 1 for ids in by_key.values())
    assert not any(i.startswith(f"{app.sdkappid}:") for i in await dead_letter_ids(app.stack))
