"""Easemob-style rules against the running stack and a real rule server (an HTTP server in this
process): pre-send rules that block, rewrite and time out (pass and block) on messages sent over
WebSocket, the caller's deadline across rules, post-send filters on the chat stream, the
offline stream, and the rules' admin API."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import grpc
import orjson
import pytest

from services.common.pb.tidings.v1 import callback_pb2, callback_pb2_grpc
from tests.callback_app_server import AppServer, Hit
from tests.conftest import AppUnderTest, eventually
from tests.e2e.test_callbacks import admin, before_send, inbound, server, text
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

__all__ = ["server"]


async def add_rule(app: AppUnderTest, kind: str, **rule: Any) -> dict[str, Any]:
    r = await admin(app.stack, "POST", f"/apps/{app.sdkappid}/rules/{kind}", json=rule)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def pre_rule(url: str, **kw: Any) -> dict[str, Any]:
    return {"name": "moderate", "url": url, "chat_types": ["single"], "msg_types": ["txt"], **kw}


def answer_valid(valid: bool, **extra: Any) -> Any:
    return lambda _: (200, {"valid": valid, "code": "HX:10001" if not valid else "", **extra})


def md5_ok(hit: Hit, secret: str) -> bool:
    b = hit.body
    expected = hashlib.md5(f"{b['callId']}{secret}{b['timestamp']}".encode()).hexdigest()
    return b["security"] == expected


async def test_pre_send_rule_blocks_then_rewrites(app: AppUnderTest, server: AppServer) -> None:
    await app.import_accounts("alice", "bob")
    server.behaviour = answer_valid(False)
    rule = await add_rule(app, "pre-send", **pre_rule(server.url, timeout_ms=2000))
    alice = Client(app.stack.ws_url, app.sdkappid, "alice", app.sig("alice"))
    bob = Client(app.stack.ws_url, app.sdkappid, "bob", app.sig("bob"))
    await alice.connect()
    await bob.connect()
    try:
        with pytest.raises(TidingsClientError) as err:
            await alice.send(to="bob", text="buy cheap pills", cloud_custom_data='{"k": 1}')
        assert err.value.code == 20006
        assert "moderate" in err.value.message and "HX:10001" in err.value.message
        (hit,) = server.hits
        body = hit.body
        assert md5_ok(hit, rule["secret"])
        assert {k: body[k] for k in ("eventType", "chat_type", "from", "to")} == {
            "eventType": "chat",
            "chat_type": "chat",
            "from": "alice",
            "to": "bob",
        }
        assert body["payload"] == {
            "bodies": [{"type": "txt", "msg": "buy cheap pills"}],
            "ext": {"k": 1},
        }
        assert body["callId"].startswith(f"{body['appkey']}_")
        assert abs(body["timestamp"] - time.time() * 1000) < 60_000

        server.behaviour = answer_valid(
            True, payload={"bodies": [{"type": "txt", "msg": "***"}], "ext": {"k": 2}}
        )
        ack = await alice.send(to="bob", text="buy cheap pills")
        got = await asyncio.wait_for(anext(bob.messages()), 30)
        assert (got.seq, got.text) == (ack.seq, "***")
        assert orjson.loads(got.cloud_custom_data) == {"k": 2}

        # A message type the rule does not name is not sent to it.
        hits = len(server.hits)
        await alice.send(
            to="bob", elements=[{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x"}}]
        )
        assert len(server.hits) == hits
    finally:
        await alice.close()
        await bob.close()


async def test_pre_send_rule_times_out_with_pass_and_with_block(
    app: AppUnderTest, server: AppServer
) -> None:
    server.behaviour = lambda _: None  # never answers in time
    await add_rule(app, "pre-send", **pre_rule(server.url, timeout_ms=300))
    reply, took = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert 0.25 < took < 1.5, took

    r = await admin(
        app.stack,
        "PUT",
        f"/apps/{app.sdkappid}/rules/pre-send/moderate",
        json=pre_rule(server.url, timeout_ms=300, on_failure="block"),
    )
    assert r.status_code == 200, r.text
    reply, took = await before_send(app.stack, inbound(app))
    assert (reply.verdict, reply.error_code) == (callback_pb2.VERDICT_REJECT, 4503)
    assert "moderate" in reply.error_info
    assert 0.25 < took < 1.5, took


async def test_rules_share_the_callers_deadline(app: AppUnderTest, server: AppServer) -> None:
    """Two rules of 1 s each and a caller that waits 1.2 s: the second gets what is left, and
    the answer comes before the caller gives up."""
    server.behaviour = lambda _: None
    await add_rule(app, "pre-send", **pre_rule(server.url, name="first", timeout_ms=1000))
    await add_rule(app, "pre-send", **pre_rule(server.url, name="second", timeout_ms=1000))
    async with grpc.aio.insecure_channel(app.stack.grpc_addr("callback")) as channel:
        stub = callback_pb2_grpc.CallbackServiceStub(channel)
        started = time.monotonic()
        reply = await stub.BeforeSend(
            callback_pb2.BeforeSendRequest(message=inbound(app)), timeout=1.2
        )
        took = time.monotonic() - started
    assert reply.verdict == callback_pb2.VERDICT_ALLOW
    assert took < 1.2, took


async def test_blocked_without_report_error_is_dropped_silently(
    app: AppUnderTest, server: AppServer
) -> None:
    server.behaviour = answer_valid(False)
    await add_rule(app, "pre-send", **pre_rule(server.url, report_error=False))
    reply, _ = await before_send(app.stack, inbound(app))
    assert reply.verdict == callback_pb2.VERDICT_DROP
    # A group message in a chat type the rule does not name passes untouched.
    group_msg = inbound(app, chat_type=2, to_user="", group_id="nope", conversation="group:nope")
    reply, _ = await before_send(app.stack, group_msg)
    assert reply.verdict == callback_pb2.VERDICT_ALLOW


def body_hits(server: AppServer, app: AppUnderTest, event: str) -> list[Hit]:
    return [
        h
        for h in server.hits
        if h.body.get("eventType") == event
        and h.body.get("TidingsEventId", "").startswith(f"{app.sdkappid}:")
    ]


async def send_c2c(app: AppUnderTest, sender: str, to: str, words: str, ccd: str = "") -> int:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": sender,
            "To_Account": to,
            "MsgRandom": 7,
            "MsgBody": text(words),
            "CloudCustomData": ccd,
        },
    )
    assert reply["ErrorCode"] == 0, reply
    return int(reply["MsgSeq"])


async def test_post_send_filters_combine_with_and(app: AppUnderTest, server: AppServer) -> None:
    await app.import_accounts("alice", "bob", "carol")
    rule = await add_rule(
        app,
        "post-send",
        name="orders",
        url=server.url,
        from_ids=["alice"],
        to_ids=["bob"],
        ext_keys=["order"],
    )
    await add_rule(app, "post-send", name="no_rest", url=server.url, include_rest=False)
    # Each misses one filter.
    await send_c2c(app, "carol", "bob", "wrong sender", '{"order": 1}')
    await send_c2c(app, "alice", "carol", "wrong peer", '{"order": 1}')
    await send_c2c(app, "alice", "bob", "no ext key", '{"other": 1}')
    await asyncio.sleep(2)
    seq = await send_c2c(app, "alice", "bob", "the one", '{"order": 42}')

    async def matched() -> list[Hit]:
        return body_hits(server, app, "chat")

    hits = await eventually(matched, timeout=30)
    await asyncio.sleep(2)  # time for any stray ones
    hits = body_hits(server, app, "chat")
    assert len(hits) == 1, [h.body["payload"] for h in hits]
    (hit,) = hits
    assert md5_ok(hit, rule["secret"])
    body = hit.body
    assert {k: body[k] for k in ("chat_type", "from", "to", "content_type")} == {
        "chat_type": "chat",
        "from": "alice",
        "to": "bob",
        "content_type": "chat:user:text",
    }
    assert body["payload"] == {"bodies": [{"type": "txt", "msg": "the one"}], "ext": {"order": 42}}
    assert body["TidingsEventId"] == f"{app.sdkappid}:c2c:alice:bob:{seq}:rule:orders"
    assert body["callId"] == f"{body['appkey']}_{body['msg_id']}"


async def test_offline_stream_one_event_per_offline_member(
    app: AppUnderTest, server: AppServer
) -> None:
    members = ["owner", "online", "away1", "away2"]
    await app.import_accounts(*members)
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "owner",
            "Type": "Work",
            "Name": "g",
            "MemberList": [{"Member_Account": m} for m in members[1:]],
        },
    )
    assert created["ErrorCode"] == 0, created
    group_id = created["GroupId"]
    await add_rule(app, "post-send", name="offline", url=server.url, stream="offline")
    online = Client(app.stack.ws_url, app.sdkappid, "online", app.sig("online"))
    await online.connect()
    try:
        posted = await app.rest(
            "group_open_http_svc",
            "send_group_msg",
            {"GroupId": group_id, "From_Account": "owner", "Random": 5, "MsgBody": text("hey")},
        )
        assert posted["ErrorCode"] == 0, posted

        async def both() -> list[Hit] | None:
            hits = body_hits(server, app, "chat_offline")
            return hits if len(hits) >= 2 else None

        hits = await eventually(both, timeout=30)
        assert hits, "the offline events did not arrive"
        await asyncio.sleep(2)
        hits = body_hits(server, app, "chat_offline")
        assert sorted(h.body["to"] for h in hits) == ["away1", "away2"]
        for h in hits:
            assert (h.body["chat_type"], h.body["group_id"], h.body["from"]) == (
                "groupchat",
                group_id,
                "owner",
            )
        # The chat stream has no rule here: nothing else arrived.
        assert not body_hits(server, app, "chat")
    finally:
        await online.close()


async def test_rules_admin_api(app: AppUnderTest) -> None:
    url = "http://127.0.0.1:9/hook"
    for i in range(4):
        await add_rule(app, "pre-send", **pre_rule(url, name=f"rule{i}"))
    r = await admin(
        app.stack, "POST", f"/apps/{app.sdkappid}/rules/pre-send", json=pre_rule(url, name="r5")
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "too_many_rules"
    assert "4 pre-send rules" in r.json()["error"]["message"]

    r = await admin(
        app.stack, "POST", f"/apps/{app.sdkappid}/rules/post-send", json={"name": "a", "url": url}
    )
    assert r.status_code == 201, r.text
    r = await admin(
        app.stack,
        "POST",
        f"/apps/{app.sdkappid}/rules/post-send",
        json={"name": "b", "url": url, "from_ids": [f"u{i}" for i in range(51)]},
    )
    assert r.status_code == 422, r.text
    r = await admin(
        app.stack, "POST", f"/apps/{app.sdkappid}/rules/post-send", json={"name": "a", "url": url}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "name_taken")

    listed = (await admin(app.stack, "GET", f"/apps/{app.sdkappid}/rules")).json()
    assert [r["name"] for r in listed["pre_send"]] == ["rule0", "rule1", "rule2", "rule3"]
    assert [r["name"] for r in listed["post_send"]] == ["a"]
    r = await admin(app.stack, "DELETE", f"/apps/{app.sdkappid}/rules/pre-send/rule0")
    assert r.status_code == 204
    r = await admin(app.stack, "GET", f"/apps/{app.sdkappid}/rules/pre-send/rule0")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    await add_rule(app, "pre-send", **pre_rule(url, name="rule4"))


async def test_post_send_retried_while_the_rule_server_is_down(
    app: AppUnderTest, server: AppServer
) -> None:
    """Rule deliveries share the after-callbacks' retry topic: one sent while the rule's server
    is down arrives once it is back, signed with the rule's secret."""
    await app.import_accounts("alice", "bob")
    rule = await add_rule(app, "post-send", name="sync", url=server.url)
    server.stop()
    seq = await send_c2c(app, "alice", "bob", "while down")
    await asyncio.sleep(4)
    server.start()

    async def arrived() -> list[Hit]:
        return body_hits(server, app, "chat")

    hits = await eventually(arrived, timeout=60)
    assert hits, "the post-send callback was not retried"
    assert hits[0].body["TidingsEventId"] == f"{app.sdkappid}:c2c:alice:bob:{seq}:rule:sync"
    assert md5_ok(hits[0], rule["secret"])
