"""The services produce im.trace records (services/common/trace.py) for an app's key events,
each once, with Tencent's troubleshooting fields: a WebSocket login (and a refused one), a
logout, C2C and group sends over WebSocket and REST (one refused for a sensitive word), a
recall, a kick under the app's login mode, a callback to an app server that is down, and a
push.

The records are read from the stack's broker with a plain consumer (no group: every partition
of im.trace from the beginning, filtered by the test's app), until those expected are there:
the embedded broker's end offsets cannot be trusted (INFRA.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import DecodeError

from services.common import topics, trace
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.embedded.launchers import free_port
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api, eventually, new_app
from tests.e2e.test_push_delivery import push_app
from tests.push_server import LocalServer
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

C2C_BEFORE = "C2C.CallbackBeforeSendMsg"


class TraceReader:
    """im.trace of one app, read on from where the last read stopped."""

    def __init__(self, stack: Stack, sdkappid: int) -> None:
        self._sdkappid = sdkappid
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka_bootstrap, group_id=None, enable_auto_commit=False
        )
        self.records: list[TraceEvent] = []

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.topics()  # fetches the metadata partitions_for_topic reads
        partitions = self._consumer.partitions_for_topic(topics.TRACE.name) or set()
        assigned = [TopicPartition(topics.TRACE.name, p) for p in sorted(partitions)]
        assert assigned, "im.trace has no partitions"
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def read(self) -> list[TraceEvent]:
        batches = await self._consumer.getmany(timeout_ms=300, max_records=10_000)
        for records in batches.values():
            for r in records:
                try:
                    event = TraceEvent.FromString(r.value or b"")
                except DecodeError:
                    continue  # another test's poison record (the event log's DLQ test)
                if event.sdkappid == self._sdkappid:
                    self.records.append(event)
        return self.records

    def of(self, event: str, user: str, **fields: object) -> list[TraceEvent]:
        return [
            r
            for r in self.records
            if r.event == event
            and r.user == user
            and all(getattr(r, k) == v for k, v in fields.items())
        ]

    async def one(self, event: str, user: str, **fields: object) -> TraceEvent:
        """The one record of `event` by `user` with these fields, once it has come."""

        async def found() -> list[TraceEvent]:
            await self.read()
            return self.of(event, user, **fields)

        got = await eventually(found, timeout=30)
        # Anything produced with it is in by now (a record is produced once): read once more.
        await self.read()
        got = self.of(event, user, **fields)
        assert len(got) == 1, got
        return got[0]


@asynccontextmanager
async def trace_reader(app: AppUnderTest) -> AsyncIterator[TraceReader]:
    reader = TraceReader(app.stack, app.sdkappid)
    try:
        await reader.start()
        yield reader
    finally:
        await reader.stop()


@pytest.fixture
async def traces(app: AppUnderTest) -> AsyncIterator[TraceReader]:
    async with trace_reader(app) as reader:
        yield reader


async def test_logins_sends_recall_and_logout(app: AppUnderTest, traces: TraceReader) -> None:
    await app.import_accounts("alice", "bob")
    reply = await app.rest("openim_dirty_words", "add", {"DirtyWordsList": ["forbiddenword"]})
    assert reply["ErrorCode"] == 0, reply
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Public",
            "Name": "Traced",
            "MemberList": [{"Member_Account": "bob"}],
        },
    )
    assert created["ErrorCode"] == 0, created
    group_id = created["GroupId"]

    bad = Client(app.stack.ws_url, app.sdkappid, "bob", "not-a-usersig", reconnect=False)
    with pytest.raises(TidingsClientError) as refused_login:
        await bad.connect()
    await bad.close()

    alice = await app.connect("alice", platform="iPhone")
    try:
        ack = await alice.send(to="bob", text="hello", client_msg_id="trace-ok")
        with pytest.raises(TidingsClientError) as dirty:
            await alice.send(to="bob", text="a forbiddenword here", client_msg_id="trace-dirty")
        assert dirty.value.code == ErrorCode.DIRTY_WORDS
        recalled = await alice.request({"op": "recall", "peer": "bob", "seq": ack.seq})
        assert recalled["code"] == 0, recalled
        await alice.send(group=group_id, text="hello all", client_msg_id="trace-group")
    finally:
        await alice.close()
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "alice",
            "To_Account": "bob",
            "MsgRandom": 4242,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "over REST"}}],
        },
    )
    assert sent["ErrorCode"] == 0, sent
    to_group = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {
            "GroupId": group_id,
            "From_Account": "bob",
            "Random": 77,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "REST to the group"}}],
        },
    )
    assert to_group["ErrorCode"] == 0, to_group

    login = await traces.one(trace.LOGIN, "alice")
    assert (login.code, login.platform, login.client_ip) == (0, "iPhone", "127.0.0.1")
    assert login.time_ms <= int(time.time() * 1000)
    refused = await traces.one(trace.LOGIN, "bob")
    assert refused.code == refused_login.value.code != 0

    ok = await traces.one(trace.C2C_SEND, "alice", request_id="trace-ok")
    assert (ok.code, ok.peer, ok.platform, ok.client_ip) == (0, "bob", "iPhone", "127.0.0.1")
    assert ack.msg_key in ok.description
    blocked = await traces.one(trace.C2C_SEND, "alice", request_id="trace-dirty")
    assert (blocked.code, blocked.peer) == (ErrorCode.DIRTY_WORDS, "bob")
    assert blocked.description
    rest = await traces.one(trace.C2C_SEND, "alice", request_id="4242")
    assert (rest.code, rest.peer, rest.platform) == (0, "bob", "RESTAPI")
    assert sent["MsgKey"] in rest.description

    ws_group = await traces.one(trace.GROUP_SEND, "alice", request_id="trace-group")
    assert (ws_group.code, ws_group.group_id, ws_group.detail) == (0, group_id, "Public")
    rest_group = await traces.one(trace.GROUP_SEND, "bob", request_id="77")
    assert (rest_group.code, rest_group.group_id, rest_group.platform) == (0, group_id, "RESTAPI")
    assert (rest_group.detail, rest_group.description) == ("Public", f"MsgSeq {to_group['MsgSeq']}")

    recall = await traces.one(trace.RECALL, "alice")
    assert (recall.code, recall.peer, recall.request_id) == (0, "bob", str(ack.seq))
    logout = await traces.one(trace.LOGOUT, "alice")
    assert (logout.code, logout.platform) == (0, "iPhone")
    assert not traces.of(trace.DISCONNECT, "alice")


async def test_a_kick_under_the_login_mode_is_one_kick(stack: Stack) -> None:
    app = await new_app(stack, login={"mode": 1})
    await app.import_accounts("dev")
    async with trace_reader(app) as traces:
        first = await app.connect("dev", platform="Android")
        second = await app.connect("dev", platform="Web")

        async def kicked() -> bool:
            return first.kicked is not None

        await eventually(kicked, timeout=10)
        await first.close()
        await second.close()

        kick = await traces.one(trace.KICK, "dev")
        assert (kick.code, kick.platform) == (ErrorCode.KICKED_OFFLINE, "Android")
        assert "Web" in kick.description
        # The Web session's logout comes after the kicked socket's end (one key, one partition).
        await traces.one(trace.LOGOUT, "dev", platform="Web")
        assert len(traces.of(trace.LOGIN, "dev")) == 2
        assert not traces.of(trace.DISCONNECT, "dev")
        assert not traces.of(trace.LOGOUT, "dev", platform="Android")


async def test_a_callback_to_a_closed_port_is_one_failed_callback(
    app: AppUnderTest, traces: TraceReader
) -> None:
    await app.import_accounts("alice", "bob")
    closed = f"http://127.0.0.1:{free_port()}/im"
    r = await admin_api(
        app.stack,
        "PUT",
        f"/apps/{app.sdkappid}/callback",
        json={"url": closed, "commands": [C2C_BEFORE], "timeout_s": 2},
    )
    assert r.status_code == 200, r.text
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "alice",
            "To_Account": "bob",
            "MsgRandom": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "anyone there?"}}],
        },
    )
    # The app server is down and the policy fails open: the message goes.
    assert sent["ErrorCode"] == 0, sent

    callback = await traces.one(trace.CALLBACK, "alice")
    assert (callback.code, callback.detail, callback.peer) == (
        trace.CALLBACK_UNREACHABLE,
        C2C_BEFORE,
        "bob",
    )
    assert callback.description
    assert 0 <= callback.latency_ms < 2_000
    await traces.one(trace.C2C_SEND, "alice", request_id="7", code=0)


async def test_an_offline_push_is_one_push(stack: Stack, push_vendor: LocalServer) -> None:
    app = await push_app(stack)
    await app.import_accounts("ann", "ivan")
    token = f"trace-ivan-{app.sdkappid}"
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "ivan", "xiaomi", token, 1)
    async with trace_reader(app) as traces:
        ann = await app.connect("ann")
        try:
            ack = await ann.send(to="ivan", text="are you there?")
        finally:
            await ann.close()

        push = await traces.one(trace.PUSH, "ivan")
        assert (push.code, push.detail, push.request_id) == (0, "xiaomi", ack.msg_key)
        assert push.description == "xiaomi:sent"
        assert push.latency_ms >= 0
