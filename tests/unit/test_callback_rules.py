"""Callback bodies, the before-send reply mapping, delivery records, backoff and the breaker."""

from __future__ import annotations

import orjson
import pytest

from services.callback.after import after_body, after_command, event_id, retry_group
from services.callback.before import (
    ALLOW,
    AppReply,
    InvalidReply,
    before_body,
    before_command,
    decide,
    on_failure,
    parse_reply,
)
from services.callback.retry import (
    FAST_TRIES,
    MAX_RETRY_DELAY_S,
    Breaker,
    retry_delay_s,
    retry_topic,
)
from services.common import topics
from services.common.callback_records import Delivery
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.callback_pb2 import VERDICT_ALLOW, VERDICT_DROP, VERDICT_REJECT
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    InboundMessage,
    Message,
    MsgElement,
)

TEXT = MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')
MAX_BODY = 12 * 1024


def c2c_inbound(**kw: object) -> InboundMessage:
    return InboundMessage(
        sdkappid=1400000001,
        conversation="c2c:alice:bob",
        chat_type=CHAT_TYPE_C2C,
        sender="alice",
        to_user="bob",
        msg_random=77,
        elements=[TEXT],
        cloud_custom_data="ccd",
        received_at_ms=1_700_000_000_500,
        **kw,  # type: ignore[arg-type]
    )


def test_before_body_c2c_has_tencents_fields() -> None:
    msg = c2c_inbound()
    assert before_command(msg) == "C2C.CallbackBeforeSendMsg"
    body = before_body(msg, "C2C.CallbackBeforeSendMsg", "", 1_700_000_001_000)
    assert body == {
        "CallbackCommand": "C2C.CallbackBeforeSendMsg",
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgSeq": 0,
        "MsgRandom": 77,
        "MsgTime": 1_700_000_000,
        "MsgKey": "",
        "OnlineOnlyFlag": 0,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        "CloudCustomData": "ccd",
        "EventTime": 1_700_000_001_000,
    }


def test_before_body_group_has_tencents_fields() -> None:
    msg = InboundMessage(
        sdkappid=1,
        conversation="group:g1",
        chat_type=CHAT_TYPE_GROUP,
        sender="alice",
        group_id="g1",
        msg_random=5,
        elements=[TEXT],
    )
    assert before_command(msg) == "Group.CallbackBeforeSendMsg"
    body = before_body(msg, "Group.CallbackBeforeSendMsg", "Public", 9)
    assert body == {
        "CallbackCommand": "Group.CallbackBeforeSendMsg",
        "GroupId": "g1",
        "Type": "Public",
        "From_Account": "alice",
        "Operator_Account": "alice",
        "Random": 5,
        "OnlineOnlyFlag": 0,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        "CloudCustomData": "",
        "EventTime": 9,
    }


def test_only_new_live_messages_trigger_callbacks() -> None:
    assert before_command(c2c_inbound(kind=MESSAGE_KIND_RECALL)) is None
    assert before_command(c2c_inbound(silent=True)) is None
    # A recall has its own after-callback (tests/unit/test_event_callbacks.py).
    recall = Message(chat_type=CHAT_TYPE_C2C, kind=MESSAGE_KIND_RECALL)
    assert after_command(recall) == "C2C.CallbackAfterMsgWithDraw"
    assert after_command(Message(chat_type=CHAT_TYPE_C2C, silent=True)) is None
    assert after_command(Message(chat_type=CHAT_TYPE_C2C, forbid_after_callback=True)) is None
    assert after_command(Message(chat_type=CHAT_TYPE_GROUP)) == "Group.CallbackAfterSendMsg"


def reply(**doc: object) -> AppReply:
    return parse_reply(orjson.dumps({"ActionStatus": "OK", "ErrorInfo": "", **doc}))


def test_error_code_0_allows_and_may_rewrite() -> None:
    assert decide(reply(ErrorCode=0), CHAT_TYPE_C2C, MAX_BODY) == ALLOW
    rewritten = decide(
        reply(
            ErrorCode=0,
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}],
            CloudCustomData="new",
        ),
        CHAT_TYPE_GROUP,
        MAX_BODY,
    )
    assert rewritten.verdict == VERDICT_ALLOW
    assert rewritten.replaced_elements and rewritten.replaced_cloud_custom_data
    assert [(e.msg_type, orjson.loads(e.content_json)) for e in rewritten.elements] == [
        ("TIMTextElem", {"Text": "***"})
    ]
    assert rewritten.cloud_custom_data == "new"
    # Empty fields keep the message's own.
    kept = decide(reply(ErrorCode=0, MsgBody=[], CloudCustomData=""), CHAT_TYPE_C2C, MAX_BODY)
    assert not kept.replaced_elements and not kept.replaced_cloud_custom_data


def test_error_code_1_rejects_with_the_chat_types_code() -> None:
    c2c = decide(reply(ErrorCode=1, ErrorInfo="no ads"), CHAT_TYPE_C2C, MAX_BODY)
    assert (c2c.verdict, c2c.error_code, c2c.error_info) == (VERDICT_REJECT, 20006, "no ads")
    group = decide(reply(ErrorCode=1), CHAT_TYPE_GROUP, MAX_BODY)
    assert (group.verdict, group.error_code) == (VERDICT_REJECT, 10016)
    assert group.error_info == ErrorCode.GROUP_CALLBACK_REJECTED.default_info


def test_error_code_2_drops() -> None:
    assert decide(reply(ErrorCode=2), CHAT_TYPE_C2C, MAX_BODY).verdict == VERDICT_DROP


def test_pass_through_codes_reach_the_sender() -> None:
    out = decide(reply(ErrorCode=120123, ErrorInfo="kyc first"), CHAT_TYPE_C2C, MAX_BODY)
    assert (out.verdict, out.error_code, out.error_info) == (VERDICT_REJECT, 120123, "kyc first")
    with pytest.raises(InvalidReply, match="ErrorCode 120123"):
        decide(reply(ErrorCode=120123), CHAT_TYPE_GROUP, MAX_BODY)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1]",
        b'{"ActionStatus": "OK"}',
        b'{"ErrorCode": "0"}',
        b'{"ErrorCode": true}',
        b'{"ErrorCode": 0, "CloudCustomData": 5}',
    ],
)
def test_unusable_answers_are_invalid(content: bytes) -> None:
    with pytest.raises(InvalidReply):
        parse_reply(content)


def test_invalid_rewrites_and_codes_are_invalid() -> None:
    with pytest.raises(InvalidReply, match="MsgBody"):
        decide(reply(ErrorCode=0, MsgBody=[{"MsgType": "Nope"}]), CHAT_TYPE_C2C, MAX_BODY)
    huge = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * MAX_BODY}}]
    with pytest.raises(InvalidReply, match="MsgBody"):
        decide(reply(ErrorCode=0, MsgBody=huge), CHAT_TYPE_C2C, MAX_BODY)
    with pytest.raises(InvalidReply, match="ErrorCode 3"):
        decide(reply(ErrorCode=3), CHAT_TYPE_C2C, MAX_BODY)


def test_failure_policy() -> None:
    assert on_failure("open", "timeout") == ALLOW
    closed = on_failure("closed", "no answer within 2 s")
    assert (closed.verdict, closed.error_code) == (VERDICT_REJECT, 4503)
    assert "fail-closed" in closed.error_info and "no answer within 2 s" in closed.error_info


def stored(**kw: object) -> Message:
    fields: dict[str, object] = {
        "sdkappid": 1400000001,
        "conversation": "c2c:alice:bob",
        "chat_type": CHAT_TYPE_C2C,
        "seq": 12,
        "server_time_ms": 1_700_000_000_250,
        "sender": "alice",
        "to_user": "bob",
        "msg_random": 77,
        "msg_key": "77_12_1700000000",
        "elements": [TEXT],
        "cloud_custom_data": "ccd",
    }
    return Message(**{**fields, **kw})  # type: ignore[arg-type]


def test_after_body_c2c() -> None:
    m = stored()
    body = after_body(m, "C2C.CallbackAfterSendMsg", "")
    assert body == {
        "CallbackCommand": "C2C.CallbackAfterSendMsg",
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgRandom": 77,
        "MsgKey": "77_12_1700000000",
        "SendMsgResult": 0,
        "ErrorInfo": "send msg succeed",
        "MsgSeq": 12,
        "MsgTime": 1_700_000_000,
        "OnlineOnlyFlag": 0,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        "CloudCustomData": "ccd",
        "EventTime": 1_700_000_000_250,
        "TidingsEventId": "1400000001:c2c:alice:bob:12:C2C.CallbackAfterSendMsg",
    }


def test_after_body_group() -> None:
    m = stored(chat_type=CHAT_TYPE_GROUP, group_id="g1", to_user="", conversation="group:g1")
    body = after_body(m, "Group.CallbackAfterSendMsg", "Work")
    assert {k: body[k] for k in ("GroupId", "Type", "From_Account", "Random", "MsgSeq")} == {
        "GroupId": "g1",
        "Type": "Work",
        "From_Account": "alice",
        "Random": 77,
        "MsgSeq": 12,
    }
    assert body["TidingsEventId"] == event_id(m, "Group.CallbackAfterSendMsg")
    assert event_id(m, "Group.CallbackAfterSendMsg").startswith("1400000001:")


def test_delivery_record_round_trip() -> None:
    d = Delivery(1, "1:c:1:X", "X", {"a": [1, "b"]}, "1.2.3.4", "Web", 2, 99, "boom", 5)
    assert Delivery.decode(d.encode()) == d
    assert d.key == b"1:c:1:X"
    for bad in (b"", b"nope", b"[]", b'{"schema_version": 2}', b'{"schema_version": 1}'):
        with pytest.raises(ValueError):
            Delivery.decode(bad)
    doc = orjson.loads(d.encode())
    doc["body"] = "text"
    with pytest.raises(ValueError, match="object"):
        Delivery.decode(orjson.dumps(doc))


def test_retry_delay_doubles_with_jitter_and_a_cap() -> None:
    assert retry_delay_s(1, 2.0, 0.0) == 1.0
    assert retry_delay_s(1, 2.0, 0.999) == pytest.approx(2.0, abs=0.01)
    assert retry_delay_s(3, 2.0, 0.0) == 4.0
    assert retry_delay_s(30, 2.0, 0.999) <= MAX_RETRY_DELAY_S


def test_the_first_tries_wait_on_one_topic_and_the_long_waits_on_another() -> None:
    fast = [retry_topic(n) for n in range(1, FAST_TRIES + 1)]
    assert fast == [topics.CALLBACKS_RETRY] * FAST_TRIES
    assert retry_topic(FAST_TRIES + 1) == retry_topic(8) == topics.CALLBACKS_RETRY_SLOW
    # A fast-topic record waits at most 4 base waits; a slow one may wait the cap.
    assert retry_delay_s(FAST_TRIES, 2.0, 0.999) <= 8.0
    assert [retry_group(t) for t in (topics.CALLBACKS_RETRY, topics.CALLBACKS_RETRY_SLOW)] == [
        "callback.retry",
        "callback.retry.slow",
    ]


def test_breaker_opens_after_failures_in_a_row_and_closes_on_success() -> None:
    b = Breaker(threshold=3, cooldown_s=10.0)
    for _ in range(2):
        b.record(1, ok=False, now=0.0)
    assert b.allows(1, 0.0)
    b.record(1, ok=False, now=0.0)
    assert not b.allows(1, 5.0)
    assert b.allows(2, 5.0)
    # After the cooldown one try goes through; a failure opens it again at once.
    assert b.allows(1, 10.0)
    b.record(1, ok=False, now=10.0)
    assert not b.allows(1, 11.0)
    b.record(1, ok=True, now=11.0)
    assert b.allows(1, 11.0)
