"""Offline push end to end: messages sent on the stack reach the vendors' APIs (a local stand-in,
tests/push_server.py) for the members who are offline, once per device and message, and for
nobody who is online, muted, in do-not-disturb or has push turned off; a token the vendor no
longer knows is removed; OfflinePushInfo shapes what the phone shows; PushService sends one
job directly over gRPC."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families

from services.common import conversation, push_config
from services.common.pb.tidings.v1 import push_pb2, push_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_C2C, Message, MsgElement, PushJob
from services.common.store.push_devices import PushSettings
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, http_client, new_app
from tests.push_server import (
    UNKNOWN_TOKEN_PREFIX,
    LocalServer,
    Request,
    apns_token,
    xiaomi_token,
)

pytestmark = pytest.mark.stack

BUNDLE = "com.example.tidings"


def apns_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def push_app(stack: Stack) -> AppUnderTest:
    """An app with APNs (token auth, sandbox) and Xiaomi credentials, set before any service
    has read the app."""
    app = await new_app(stack)
    async with app.stores() as s:
        record = await s.apps.get_app(app.sdkappid)
        assert record is not None
        push_config.set_credentials(
            record,
            "apns",
            {
                "auth": "token",
                "team_id": "TEAM123456",
                "key_id": "KEY1234567",
                "private_key_pem": apns_key_pem(),
                "bundle_id": BUNDLE,
            },
            sandbox=True,
        )
        push_config.set_credentials(
            record,
            "xiaomi",
            {"app_secret": "xiaomi-secret", "package_name": BUNDLE},
            sandbox=False,
        )
        await s.apps.save_app(record)
    return app


def token_of(request: Request) -> str:
    return apns_token(request) if request.path.startswith("/apns/") else xiaomi_token(request)


def to_tokens(server: LocalServer, tokens: set[str]) -> list[Request]:
    return [r for r in server.requests if token_of(r) in tokens]


async def push_metrics(stack: Stack, app: int) -> dict[str, Counter[str]]:
    """The push service's and the router's push counters of one app."""
    out: dict[str, Counter[str]] = {"sent": Counter(), "skipped": Counter(), "jobs": Counter()}
    async with http_client(timeout=10) as http:
        for service in ("push", "router"):
            for port in stack.ports[service].metrics_ports:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                for family in text_string_to_metric_families(text):
                    for s in family.samples:
                        if s.labels.get("app") != str(app):
                            continue
                        if s.name == "tidings_push_total":
                            out["sent"][f"{s.labels['vendor']}:{s.labels['outcome']}"] += int(
                                s.value
                            )
                        elif s.name == "tidings_push_skipped_total":
                            out["skipped"][s.labels["reason"]] += int(s.value)
                        elif s.name == "tidings_push_jobs_total":
                            out["jobs"]["jobs"] += int(s.value)
    return out


def minute_of_day_utc(offset_min: int) -> int:
    now = time.gmtime()
    return (now.tm_hour * 60 + now.tm_min + offset_min) % (24 * 60)


async def test_offline_group_members_get_one_push_per_device_and_message(
    stack: Stack, push_vendor: LocalServer
) -> None:
    app = await push_app(stack)
    members = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"]
    await app.import_accounts(*members)
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Work",
            "Name": "Hikers",
            "MemberList": [{"Member_Account": m} for m in members[1:]],
        },
    )
    assert created["ErrorCode"] == 0, created
    group = created["GroupId"]
    tag = str(app.sdkappid)
    tokens = {
        "bob": ("apns", f"bob-{tag}"),
        "carol": ("xiaomi", f"carol-{tag}"),
        "dave": ("apns", f"dave-{tag}"),
        "dave2": ("xiaomi", f"dave2-{tag}"),
        "erin": ("apns", f"erin-{tag}"),
        "frank": ("apns", f"frank-{tag}"),
        "gina": ("xiaomi", f"gina-{tag}"),
    }
    now_ms = int(time.time() * 1000)
    async with app.stores() as s:
        for owner, (vendor, token) in tokens.items():
            await s.push_devices.register(app.sdkappid, owner.rstrip("2"), vendor, token, now_ms)
        await s.push_devices.mute(app.sdkappid, "erin", conversation.group(group), 0)
        await s.push_devices.put_settings(
            app.sdkappid,
            "frank",
            PushSettings(dnd_start_min=minute_of_day_utc(-60), dnd_end_min=minute_of_day_utc(60)),
        )
        await s.push_devices.put_settings(app.sdkappid, "gina", PushSettings(enabled=False))
    await app.put_accounts("alice", nick_prefix="Nick ")

    alice, bob = await app.connect("alice"), await app.connect("bob")
    try:
        acks = [await alice.send(group=group, text=f"hello {i}") for i in range(2)]
    finally:
        await alice.close()

    # Offline: carol, dave, erin, frank, gina, hank; two messages each. Bob is online.
    expected_jobs = 6 * 2
    expected_skips = {"muted": 2, "dnd": 2, "disabled": 2, "no_device": 2}
    expected_sent = {"apns:sent": 2, "xiaomi:sent": 4}

    async def all_handled() -> dict[str, Counter[str]] | None:
        got = await push_metrics(stack, app.sdkappid)
        done = got["jobs"]["jobs"] == expected_jobs and sum(got["skipped"].values()) + sum(
            got["sent"].values()
        ) >= len(expected_skips) * 2 + sum(expected_sent.values())
        return got if done else None

    try:
        got = await eventually(all_handled, timeout=60)
    finally:
        await bob.close()
    assert got["jobs"]["jobs"] == expected_jobs
    assert dict(got["skipped"]) == expected_skips
    assert dict(got["sent"]) == expected_sent

    requests = to_tokens(push_vendor, {t for _, t in tokens.values()})
    per_token = Counter(token_of(r) for r in requests)
    assert per_token == {f"carol-{tag}": 2, f"dave-{tag}": 2, f"dave2-{tag}": 2}
    apns_requests = [r for r in requests if r.path.startswith("/apns/")]
    assert sorted(r.headers["apns-collapse-id"] for r in apns_requests) == sorted(
        a.msg_key for a in acks
    )
    assert {r.headers["apns-topic"] for r in apns_requests} == {BUNDLE}
    alerts = sorted(r.json()["aps"]["alert"]["body"] for r in apns_requests)
    assert alerts == ["Nick alice: hello 0", "Nick alice: hello 1"]
    assert {r.json()["aps"]["alert"]["title"] for r in apns_requests} == {"Hikers"}
    # The badge counts the pushes that went to dave (two in one batch both show the last).
    assert sorted(r.json()["aps"]["badge"] for r in apns_requests) in ([1, 2], [2, 2])


async def test_a_token_the_vendor_no_longer_knows_is_removed(
    stack: Stack, push_vendor: LocalServer
) -> None:
    app = await push_app(stack)
    await app.import_accounts("ann", "ivan")
    stale = f"{UNKNOWN_TOKEN_PREFIX}ivan-{app.sdkappid}"
    kept = f"ivan-{app.sdkappid}"
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "ivan", "apns", stale, 1)
        await s.push_devices.register(app.sdkappid, "ivan", "xiaomi", kept, 2)
    ann = await app.connect("ann")
    try:
        await ann.send(to="ivan", text="are you there?")
    finally:
        await ann.close()

    async def removed() -> bool:
        async with app.stores() as s:
            devices = await s.push_devices.devices(app.sdkappid, ["ivan"])
        return [d.token for d in devices.get("ivan", [])] == [kept]

    await eventually(removed, timeout=60)
    assert Counter(token_of(r) for r in to_tokens(push_vendor, {stale, kept})) == {
        stale: 1,
        kept: 1,
    }
    got = await push_metrics(stack, app.sdkappid)
    assert got["sent"] == {"apns:token_invalid": 1, "xiaomi:sent": 1}


async def test_offline_push_info_shapes_the_notification_and_push_flag_stops_it(
    stack: Stack, push_vendor: LocalServer
) -> None:
    app = await push_app(stack)
    await app.import_accounts("otto", "pia")
    token = f"pia-{app.sdkappid}"
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "pia", "apns", token, 1)
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "otto",
            "To_Account": "pia",
            "MsgRandom": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "secret text"}}],
            "OfflinePushInfo": {
                "PushFlag": 0,
                "Title": "Order shipped",
                "Desc": "Your parcel is on its way",
                "Ext": '{"order": 42}',
                "ApnsInfo": {"Sound": "parcel.caf", "BadgeMode": 1, "SubTitle": "Shop"},
            },
        },
    )
    assert sent["ErrorCode"] == 0, sent
    silent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "otto",
            "To_Account": "pia",
            "MsgRandom": 8,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "no push"}}],
            "OfflinePushInfo": {"PushFlag": 1},
        },
    )
    assert silent["ErrorCode"] == 0, silent

    async def handled() -> dict[str, Counter[str]] | None:
        got = await push_metrics(stack, app.sdkappid)
        return got if got["sent"]["apns:sent"] + got["skipped"]["push_flag_off"] == 2 else None

    got = await eventually(handled, timeout=60)
    assert got["skipped"] == {"push_flag_off": 1}
    (request,) = to_tokens(push_vendor, {token})
    body: dict[str, Any] = request.json()
    assert body["aps"]["alert"] == {
        "title": "Order shipped",
        "subtitle": "Shop",
        "body": "Your parcel is on its way",
    }
    assert body["aps"]["sound"] == "parcel.caf"
    # BadgeMode 1: the badge is left as it is.
    assert "badge" not in body["aps"]
    assert body["ext"] == '{"order": 42}'
    assert request.headers["apns-collapse-id"] == sent["MsgKey"]


def direct_message(app: AppUnderTest, sender: str, to: str) -> Message:
    return Message(
        sdkappid=app.sdkappid,
        conversation=conversation.c2c(sender, to),
        chat_type=CHAT_TYPE_C2C,
        sender=sender,
        to_user=to,
        msg_key=f"direct-{app.sdkappid}-{sender}-{to}",
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text": "direct"}')],
    )


async def push_direct(app: AppUnderTest, vendor: LocalServer) -> push_pb2.SendPushReply:
    """One push to a new device of user "quinn", straight through PushService: the reply,
    once the vendor stand-in has the request."""
    token = f"quinn-{app.sdkappid}"
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "quinn", "xiaomi", token, 1)
    job = PushJob(sdkappid=app.sdkappid, user="quinn", message=direct_message(app, "rita", "quinn"))
    async with grpc.aio.insecure_channel(app.stack.grpc_addr("push")) as channel:
        reply: push_pb2.SendPushReply = await push_pb2_grpc.PushServiceStub(channel).Send(
            push_pb2.SendPushRequest(job=job), timeout=30
        )
    assert [(d.vendor, d.outcome, d.token_suffix) for d in reply.devices] == [
        ("xiaomi", "sent", token[-8:])
    ]
    (request,) = to_tokens(vendor, {token})
    assert "direct" in request.body.decode()
    return reply


async def test_push_service_sends_one_job_over_grpc(stack: Stack, push_vendor: LocalServer) -> None:
    app = await push_app(stack)
    assert (await push_direct(app, push_vendor)).skipped == ""
    message = direct_message(app, "rita", "nobody")
    async with grpc.aio.insecure_channel(stack.grpc_addr("push")) as channel:
        stub = push_pb2_grpc.PushServiceStub(channel)
        nobody = await stub.Send(
            push_pb2.SendPushRequest(
                job=PushJob(sdkappid=app.sdkappid, user="nobody", message=message)
            ),
            timeout=30,
        )
        assert nobody.skipped == "no_device" and not nobody.devices
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Send(push_pb2.SendPushRequest(job=PushJob(user="quinn")), timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
