"""get_history's files and URLs: Tencent's file JSON, deterministic gzip with matching sizes
and MD5s, signatures that fail when altered or expired, and path ids checked."""

from __future__ import annotations

import gzip
import hashlib

import orjson
import pytest

from services.common import conversation
from services.common.pb.tidings.v1.envelope_pb2 import Message, MsgElement
from services.common.store.ports import HOUR_MS
from services.gateway import history_files as hf

HOUR = "2026120614"
HOUR_MS_START = hf.parse_hour(HOUR)
TEXT = MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')


def _msg(conv: str, seq: int, **more: object) -> Message:
    return Message(
        sdkappid=1400000001,
        conversation=conv,
        seq=seq,
        server_time_ms=HOUR_MS_START + seq * 1000,
        sender="alice",
        msg_random=7,
        elements=[TEXT],
        cloud_custom_data="cc",
        **more,  # type: ignore[arg-type]
    )


def test_hours_are_beijing_hours() -> None:
    # 14:00 in Beijing is 06:00 UTC.
    assert HOUR_MS_START % HOUR_MS == 0
    assert hf.hour_text(HOUR_MS_START) == HOUR
    assert hf.expire_time_text(HOUR_MS_START // 1000 + 61) == "2026-12-06 14:01:01"
    for bad in ("2026120624", "2026023014", "202612061", "abcdefghij"):
        with pytest.raises(ValueError):
            hf.parse_hour(bad)


def test_c2c_and_group_items() -> None:
    c2c = _msg(conversation.c2c("alice", "bob"), 1, to_user="bob", msg_key="7_1_x")
    assert hf.message_item(c2c, "C2C") == {
        "From_Account": "alice",
        "MsgTimestamp": (HOUR_MS_START + 1000) // 1000,
        "MsgSeq": 1,
        "MsgRandom": 7,
        "To_Account": "bob",
        "MsgKey": "7_1_x",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        "CloudCustomData": "cc",
    }
    group = hf.message_item(_msg(conversation.group("g:1"), 2), "Group")
    assert (group["GroupId"], "TopicId" in group, group["MsgSeq"]) == ("g:1", False, 2)
    topic = hf.message_item(_msg(conversation.topic("g1", "t1"), 3), "Group")
    assert (topic["GroupId"], topic["TopicId"]) == ("g1", "t1")


def test_file_is_deterministic_and_its_facts_match() -> None:
    msgs = [_msg(conversation.group("g1"), s) for s in (1, 2)]
    first = hf.build_file(msgs, "Group")
    again = hf.build_file(msgs, "Group")
    assert first is not None and again is not None
    assert first.gz == again.gz
    assert orjson.loads(gzip.decompress(first.gz)) == {
        "MsgList": [hf.message_item(m, "Group") for m in msgs]
    }
    facts = first.facts
    assert (facts.file_size, facts.file_md5) == (
        len(first.json),
        hashlib.md5(first.json).hexdigest(),
    )
    assert (facts.gzip_size, facts.gzip_md5) == (len(first.gz), hashlib.md5(first.gz).hexdigest())
    assert hf.build_file([], "C2C") is None


def test_recalled_deleted_and_later_messages_are_left_out() -> None:
    conv = conversation.group("g1")
    until = HOUR_MS_START + 2000
    assert hf.in_file(_msg(conv, 2), until)
    assert not hf.in_file(_msg(conv, 3), until)
    assert not hf.in_file(_msg(conv, 1, recalled=True), until)
    assert not hf.in_file(_msg(conv, 1, deleted=True), until)


def test_finished_hours_wait_for_the_archive() -> None:
    end = HOUR_MS_START + HOUR_MS
    assert not hf.finished(HOUR_MS_START, end + 999, grace_ms=1000)
    assert hf.finished(HOUR_MS_START, end + 1000, grace_ms=1000)


def test_signature_fails_when_tampered_or_expired() -> None:
    secret = b"s" * 32
    path = hf.file_path(1400000001, "C2C", HOUR_MS_START)
    assert path == f"/v4-files/history/1400000001/C2C/{HOUR}.gz"
    until, expires, now = HOUR_MS_START + 5, 2_000_000_000, 1_999_999_000
    sig = hf.signature(secret, path, until, expires)
    assert hf.valid_signature(secret, path, until, expires, sig, now)
    assert hf.valid_signature(secret, path, until, expires, sig, expires)
    assert not hf.valid_signature(secret, path, until, expires, sig, expires + 1)
    assert not hf.valid_signature(secret, path.replace("C2C", "Group"), until, expires, sig, now)
    assert not hf.valid_signature(secret, path, until + 1, expires, sig, now)
    assert not hf.valid_signature(secret, path, until, expires + 1, sig, now)
    assert not hf.valid_signature(b"other", path, until, expires, sig, now)
    flipped = sig[:-1] + ("1" if sig.endswith("0") else "0")
    assert not hf.valid_signature(secret, path, until, expires, flipped, now)
    assert hf.signed_query(secret, path, until, expires) == (
        f"until={until}&expires={expires}&sig={sig}"
    )


@pytest.mark.parametrize(
    ("app", "chat_type", "name"),
    [
        ("0", "C2C", f"{HOUR}.gz"),
        ("4294967296", "C2C", f"{HOUR}.gz"),
        ("-1", "C2C", f"{HOUR}.gz"),
        ("1400000001", "c2c", f"{HOUR}.gz"),
        ("1400000001", "C2C", f"{HOUR}.json"),
        ("1400000001", "C2C", "2026120699.gz"),
    ],
)
def test_path_ids_are_checked(app: str, chat_type: str, name: str) -> None:
    with pytest.raises(ValueError):
        hf.parse_file_path(app, chat_type, name)


def test_path_round_trip() -> None:
    ref = hf.parse_file_path("1400000001", "Group", f"{HOUR}.gz")
    assert ref == hf.FileRef(1400000001, "Group", HOUR_MS_START)
