"""The im.trace records the services build (gateway, callback, push): the fields of each event,
the codes of the outcomes, and the bounds on what a client's input can put in a record."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from services.callback.poster import CallbackFailure
from services.callback.tracing import callback_trace, callback_user
from services.common import trace
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message, PushJob, TraceEvent
from services.common.store.groups import Group
from services.gateway import tracing
from services.gateway.tracing import Closing, RestOutcome, Who
from services.push import delivery
from services.push.delivery import DeviceOutcome, JobOutcome
from services.push.tracing import push_code, push_trace

APP = 1400000001
ALICE = Who(APP, "alice", "Android", "203.0.113.7")


# --- gateway: sessions -----------------------------------------------------------------------


def test_the_clients_own_close_is_a_logout() -> None:
    record = tracing.session_end(ALICE, "c1", Closing(1000))
    assert record is not None
    assert (record.event, record.code, record.user, record.request_id) == (
        trace.LOGOUT,
        0,
        "alice",
        "c1",
    )
    assert (record.platform, record.client_ip) == ("Android", "203.0.113.7")


@pytest.mark.parametrize(
    ("closing", "code", "words"),
    [
        (Closing(1001), 1001, "closed by the client (1001)"),
        (Closing(None), 1006, "without a close frame (1006)"),
        (Closing(1011, 1011, "keepalive ping timeout"), 1011, "keepalive ping timeout"),
        (Closing(None, 4008, "outbox overflow"), 4008, "closed by the server (4008)"),
    ],
)
def test_any_other_end_is_a_disconnect_with_its_close_code(
    closing: Closing, code: int, words: str
) -> None:
    record = tracing.session_end(ALICE, "c1", closing)
    assert record is not None
    assert (record.event, record.code) == (trace.DISCONNECT, code)
    assert words in record.description


def test_a_kicked_socket_is_traced_as_the_kick_only() -> None:
    assert tracing.session_end(ALICE, "c1", Closing(4208, 4208, tracing.KICKED_REASON)) is None
    records = tracing.kicks(
        APP, "dev", [("c1", "Android"), ("c2", "Web")], 6208, "logged in on another device (iPad)"
    )
    assert [(r.event, r.user, r.request_id, r.platform, r.code) for r in records] == [
        (trace.KICK, "dev", "c1", "Android", 6208),
        (trace.KICK, "dev", "c2", "Web", 6208),
    ]
    assert records[0].description == "logged in on another device (iPad)"


def test_a_refused_login_is_filed_under_the_user_it_claims() -> None:
    frame = {
        "op": "login",
        "sdkappid": APP,
        "identifier": "bob",
        "usersig": "x",
        "platform": "iPad",
    }
    who = tracing.login_refused_who(frame, "198.51.100.1")
    assert who == Who(APP, "bob", "iPad", "198.51.100.1")
    record = tracing.login(who, int(ErrorCode.SIG_UNPARSABLE), "usersig unparsable", 3)
    assert (record.event, record.code, record.latency_ms) == (trace.LOGIN, 70003, 3)
    # A frame that does not parse names nobody: nothing to file.
    assert tracing.login_refused_who({"op": "login", "identifier": "bob"}, "") is None
    assert tracing.login_refused_who({**frame, "platform": "Nokia"}, "") is None


# --- gateway: sends and recalls --------------------------------------------------------------


def test_a_refused_ws_send_keeps_the_frames_target_within_bounds() -> None:
    frame = {"op": "send", "to": "b" * 10_000, "client_msg_id": 7, "text": "hi"}
    record = tracing.ws_send_refused(ALICE, frame, 20012, "x" * 5_000, 4)
    assert (record.event, record.code, record.request_id) == (trace.C2C_SEND, 20012, "7")
    assert len(record.peer) == trace.MAX_ID_CHARS
    assert len(record.description) == trace.MAX_TEXT_CHARS
    group = tracing.ws_send_refused(ALICE, {"group": "g1", "client_msg_id": True}, 10007, "", 1)
    assert (group.event, group.group_id, group.peer, group.request_id) == (
        trace.GROUP_SEND,
        "g1",
        "",
        "",
    )


def test_a_group_send_carries_the_group_type() -> None:
    record = tracing.send(
        ALICE,
        peer="",
        group_id="g1",
        code=0,
        description="MsgKey k",
        request_id="m1",
        latency_ms=12,
        group_type="Work",
    )
    assert (record.event, record.detail, record.latency_ms) == (trace.GROUP_SEND, "Work", 12)


def test_a_ws_recall_names_the_seq() -> None:
    record = tracing.ws_recall(ALICE, {"op": "recall", "peer": "bob", "seq": 5}, 20016, "late", 2)
    assert (record.event, record.peer, record.request_id, record.code) == (
        trace.RECALL,
        "bob",
        "5",
        20016,
    )


def test_rest_sendmsg_is_one_record_with_msg_random_and_msg_key() -> None:
    body = {"From_Account": "alice", "To_Account": "bob", "MsgRandom": 99}
    (ok,) = tracing.rest_c2c_send(
        APP, "administrator", "10.0.0.1", body, RestOutcome(0, "", {"MsgKey": "1_2_3"}, 8)
    )
    assert (ok.event, ok.user, ok.peer, ok.code, ok.request_id, ok.platform) == (
        trace.C2C_SEND,
        "alice",
        "bob",
        0,
        "99",
        "RESTAPI",
    )
    assert (ok.description, ok.client_ip, ok.latency_ms) == ("MsgKey 1_2_3", "10.0.0.1", 8)
    # No From_Account: the admin sends.
    (refused,) = tracing.rest_c2c_send(
        APP,
        "administrator",
        "",
        {"To_Account": "bob", "MsgRandom": 1},
        RestOutcome(80001, "the message contains sensitive words", {}, 5),
    )
    assert (refused.user, refused.code) == ("administrator", 80001)
    assert refused.description == "the message contains sensitive words"


def test_rest_batchsendmsg_is_one_record_per_recipient_with_its_code() -> None:
    body = {"From_Account": "alice", "To_Account": ["bob", "carol", "bob", 7], "MsgRandom": 1}
    reply = {"MsgKey": "k", "ErrorList": [{"To_Account": "carol", "ErrorCode": 70107}]}
    records = tracing.rest_c2c_send(APP, "administrator", "", body, RestOutcome(0, "", reply, 9))
    assert [(r.peer, r.code) for r in records] == [("bob", 0), ("carol", 70107), ("7", 0)]
    assert records[1].description == ErrorCode.ACCOUNT_NOT_IMPORTED.default_info
    many = {"To_Account": [f"u{i}" for i in range(2_000)], "MsgRandom": 1}
    assert len(tracing.rest_c2c_send(APP, "a", "", many, RestOutcome(90003, "", {}, 1))) == 500


def test_rest_group_send_and_recalls() -> None:
    (sent,) = tracing.rest_group_send(
        APP,
        "administrator",
        "",
        {"GroupId": "g1", "Random": 5},
        RestOutcome(0, "", {"MsgSeq": 3}, 1),
    )
    assert (sent.event, sent.group_id, sent.request_id, sent.description) == (
        trace.GROUP_SEND,
        "g1",
        "5",
        "MsgSeq 3",
    )
    (withdrawn,) = tracing.rest_c2c_recall(
        APP,
        "administrator",
        "",
        {"From_Account": "alice", "To_Account": "bob", "MsgKey": "1_2_3"},
        RestOutcome(0, "", {}, 1),
    )
    assert (withdrawn.event, withdrawn.user, withdrawn.peer, withdrawn.request_id) == (
        trace.RECALL,
        "alice",
        "bob",
        "1_2_3",
    )
    body = {"GroupId": "g1", "MsgSeqList": [{"MsgSeq": 1}, {"MsgSeq": 2}]}
    reply = {"RecallRetList": [{"MsgSeq": 1, "RetCode": 0}, {"MsgSeq": 2, "RetCode": 10030}]}
    records = tracing.rest_group_recall(
        APP, "administrator", "", body, RestOutcome(0, "", reply, 1)
    )
    assert [(r.request_id, r.code, r.group_id) for r in records] == [
        ("1", 0, "g1"),
        ("2", 10030, "g1"),
    ]
    (whole,) = tracing.rest_group_recall(
        APP, "administrator", "", {"GroupId": "g1"}, RestOutcome(10004, "bad", {}, 1)
    )
    assert (whole.code, whole.request_id) == (10004, "")


def test_failure_is_the_code_the_caller_answers() -> None:
    assert tracing.failure(
        TidingsError(ErrorCode.GROUP_SENDER_MUTED, "muted"), ErrorCode.MSG_INTERNAL
    ) == (
        10017,
        "muted",
    )
    assert tracing.failure(RuntimeError("boom"), ErrorCode.REST_TIMEOUT) == (
        60008,
        "internal error",
    )


class RecordingProducer:
    """Stands in for the BatchProducer: records what the tracer hands over."""

    def __init__(self) -> None:
        self.sent: list[TraceEvent] = []

    async def send(self, topic: str, items: list[tuple[bytes, bytes]]) -> list[object]:
        self.sent.extend(TraceEvent.FromString(value) for _, value in items)
        return []


async def test_traced_records_the_outcome_and_passes_the_error_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = RecordingProducer()
    tracer = trace.Tracer(producer)  # type: ignore[arg-type]
    monkeypatch.setattr(tracing, "_tracers", [tracer])

    async def works() -> str:
        return "ok"

    async def refused() -> str:
        raise TidingsError(ErrorCode.MSG_NOT_FOUND, "gone")

    def build(code: int, info: str, latency_ms: int) -> TraceEvent:
        return tracing.ws_recall(ALICE, {"peer": "bob", "seq": 1}, code, info, latency_ms)

    assert await tracing.traced(works(), build, ErrorCode.MSG_INTERNAL) == "ok"
    assert await tracing.traced(works(), build, ErrorCode.MSG_INTERNAL, success=False) == "ok"
    with pytest.raises(TidingsError):
        await tracing.traced(refused(), build, ErrorCode.MSG_INTERNAL)
    await tracer.drain()
    assert [(r.event, r.code, r.description) for r in producer.sent] == [
        (trace.RECALL, 0, ""),
        (trace.RECALL, int(ErrorCode.MSG_NOT_FOUND), "gone"),
    ]


def rest_context(cached: dict[tuple[int, str], object]) -> Any:
    directory = SimpleNamespace(groups=SimpleNamespace(get=cached.get))
    deps = SimpleNamespace(auth=SimpleNamespace(directory=directory))
    return SimpleNamespace(
        app=SimpleNamespace(sdkappid=APP), identifier="administrator", client_ip="", deps=deps
    )


async def test_rest_traced_traces_the_answer_and_the_cached_group_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = RecordingProducer()
    tracer = trace.Tracer(producer)  # type: ignore[arg-type]
    monkeypatch.setattr(tracing, "_tracers", [tracer])
    live = Group(group_id="g1", group_type="AVChatRoom", name="live", owner="o")
    ctx = rest_context({(APP, "g1"): live})

    async def answered(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        return {"MsgSeq": 9}

    async def refused(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        raise TidingsError(ErrorCode.GROUP_SENDER_MUTED, "muted")

    send = tracing.rest_traced(answered, tracing.rest_group_send, group_type=True)
    assert send.__name__ == "answered"
    assert await send(ctx, {"GroupId": "g1", "Random": 1}) == {"MsgSeq": 9}
    with pytest.raises(TidingsError):
        await tracing.rest_traced(refused, tracing.rest_group_send, group_type=True)(
            ctx, {"GroupId": "g2", "Random": 2}
        )
    await tracer.drain()
    assert [(r.group_id, r.code, r.detail, r.description) for r in producer.sent] == [
        ("g1", 0, "AVChatRoom", "MsgSeq 9"),
        ("g2", 10017, "", "muted"),
    ]


# --- callback --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "user"),
    [
        ({"From_Account": "alice", "To_Account": "bob"}, "alice"),
        ({"Operator_Account": "admin", "GroupId": "g1"}, "admin"),
        ({"Info": {"Action": "Login", "To_Account": "carol"}}, "carol"),
        ({"callId": "k_1", "from": "dan", "to": "erin"}, "dan"),
        ({"To_Account": "bob"}, "bob"),
        ({"From_Account": 7}, ""),
    ],
)
def test_the_user_a_callback_is_about(body: dict[str, Any], user: str) -> None:
    assert callback_user(body) == user


def test_a_callback_record() -> None:
    body = {
        "CallbackCommand": "C2C.CallbackAfterSendMsg",
        "From_Account": "alice",
        "To_Account": "bob",
        "TidingsEventId": f"{APP}:c2c:alice:bob:3:C2C.CallbackAfterSendMsg",
    }
    record = callback_trace(
        APP,
        "C2C.CallbackAfterSendMsg",
        body,
        code=trace.CALLBACK_UNREACHABLE,
        description="ConnectError: refused",
        latency_ms=4,
        client_ip="203.0.113.7",
        platform="iPhone",
    )
    assert (record.event, record.user, record.peer, record.code, record.detail) == (
        trace.CALLBACK,
        "alice",
        "bob",
        -2,
        "C2C.CallbackAfterSendMsg",
    )
    assert record.request_id == body["TidingsEventId"]
    easemob = callback_trace(
        APP,
        "Easemob.PreSend",
        {"callId": "key_1", "from": "dan", "to": "g9", "group_id": "g9"},
        code=500,
        description="",
        latency_ms=1,
    )
    assert (easemob.user, easemob.peer, easemob.group_id, easemob.request_id) == (
        "dan",
        "",
        "g9",
        "key_1",
    )


def test_callback_failure_codes() -> None:
    assert CallbackFailure("timeout", "slow").code == trace.CALLBACK_TIMEOUT
    assert CallbackFailure("failed", "refused").code == trace.CALLBACK_UNREACHABLE
    assert CallbackFailure("failed", "HTTP 503", 503).code == 503


# --- push ------------------------------------------------------------------------------------


def job(received_at_ms: int = 1_000) -> PushJob:
    return PushJob(
        sdkappid=APP,
        user="bob",
        message=Message(msg_key="1_2_3", group_id="g1", received_at_ms=received_at_ms),
    )


def test_every_device_outcome_has_a_code() -> None:
    assert set(delivery.OUTCOMES) - {delivery.RETRIED} == {
        delivery.SENT,
        delivery.FAILED,
        delivery.TOKEN_INVALID,
        delivery.NO_CREDENTIALS,
    }
    d = DeviceOutcome
    assert push_code([d("apns", "t", "failed"), d("xiaomi", "u", "sent")]) == 0
    assert push_code([d("apns", "t", "token_invalid"), d("xiaomi", "u", "failed")]) == 2
    assert push_code([d("apns", "t", "token_invalid")]) == trace.PUSH_TOKEN_INVALID
    assert push_code([d("apns", "t", "no_credentials")]) == trace.PUSH_NO_CREDENTIALS
    assert push_code([]) == trace.PUSH_SKIPPED


def test_a_push_record() -> None:
    outcome = JobOutcome(
        APP,
        "bob",
        devices=[
            DeviceOutcome("xiaomi", "tok1", "sent"),
            DeviceOutcome("apns", "tok2", "token_invalid", "BadDeviceToken"),
        ],
    )
    record = push_trace(job(), outcome, 1_250.0)
    assert (record.event, record.user, record.code, record.request_id) == (
        trace.PUSH,
        "bob",
        0,
        "1_2_3",
    )
    assert (record.detail, record.latency_ms, record.group_id) == ("apns,xiaomi", 250, "g1")
    assert record.description == "xiaomi:sent, apns:token_invalid(BadDeviceToken)"
    skipped = push_trace(job(received_at_ms=0), JobOutcome(APP, "bob", skipped="dnd"), 5.0)
    assert (skipped.code, skipped.description, skipped.latency_ms, skipped.detail) == (
        trace.PUSH_SKIPPED,
        "dnd",
        0,
        "",
    )
