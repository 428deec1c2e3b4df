"""`tidings tail` and `tidings send` without a stack: conversations as the operator writes them,
the message filter, the printed line, and the REST bodies of a send."""

from __future__ import annotations

import json

import pytest

from services.cli.send import send_body
from services.cli.tail import MessageFilter, conversation_id, describe, text_summary
from services.common import conversation
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    Message,
    MsgElement,
)


def text(value: str) -> MsgElement:
    return MsgElement(msg_type="TIMTextElem", content_json=json.dumps({"Text": value}).encode())


def c2c(a: str, b: str, body: str = "hi", sdkappid: int = 7) -> Message:
    return Message(
        sdkappid=sdkappid,
        conversation=conversation.c2c(a, b),
        chat_type=CHAT_TYPE_C2C,
        seq=3,
        server_time_ms=1_700_000_000_123,
        sender=a,
        to_user=b,
        elements=[text(body)],
    )


def test_conversations_as_written() -> None:
    assert conversation_id("c2c:bob:alice") == conversation.c2c("alice", "bob")
    assert conversation_id("group:g1") == conversation.group("g1")
    assert conversation_id("c2c:a%3Ab:c") == conversation.c2c("a:b", "c")
    assert conversation_id("topic:@TGS#_g:t1") == conversation.topic("@TGS#_g", "t1")
    for wrong in ("c2c:alice", "group:", "dm:a:b", "group:a:b"):
        with pytest.raises(ValueError, match="is not a conversation"):
            conversation_id(wrong)


def test_filter_by_app_conversation_and_user() -> None:
    m = c2c("alice", "bob")
    group = Message(
        sdkappid=7,
        conversation=conversation.group("g"),
        chat_type=CHAT_TYPE_GROUP,
        sender="carol",
        group_id="g",
    )
    assert MessageFilter(7).matches(m) and MessageFilter(7).matches(group)
    assert not MessageFilter(8).matches(m)
    assert MessageFilter(7, conversation.c2c("bob", "alice")).matches(m)
    assert not MessageFilter(7, conversation.c2c("alice", "carol")).matches(m)
    assert MessageFilter(7, user="bob").matches(m)
    assert not MessageFilter(7, user="bob").matches(group)
    assert MessageFilter(7, user="carol").matches(group)
    assert MessageFilter(7, conversation.c2c("a", "b")).key_prefix == b"7:c2c:a:b"


def test_the_printed_line() -> None:
    assert describe(c2c("alice", "bob", "hello\nthere")) == (
        "22:13:20.123  c2c:alice:bob  seq 3  alice -> bob  hello there"
    )
    m = c2c("alice", "bob", "x" * 200)
    m.elements.append(MsgElement(msg_type="TIMImageElem", content_json=b"{}"))
    assert len(text_summary(m)) == 80 and text_summary(m).endswith("…")
    m = c2c("alice", "bob")
    m.kind = MESSAGE_KIND_RECALL
    del m.elements[:]
    assert describe(m).endswith("alice -> bob  [recall]")


def test_send_bodies() -> None:
    as_user = send_body("hi", "alice", "bob", None)
    assert {k: as_user[k] for k in ("From_Account", "To_Account", "SyncOtherMachine")} == {
        "From_Account": "alice",
        "To_Account": "bob",
        "SyncOtherMachine": 1,
    }
    assert as_user["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]
    as_admin = send_body("hi", None, None, "g1")
    assert "From_Account" not in as_admin and as_admin["GroupId"] == "g1"
    assert isinstance(as_admin["Random"], int) and "MsgRandom" not in as_admin
