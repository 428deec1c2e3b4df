"""Pure parts of the rebuilt message path: offsets committed up to the lowest record in
flight, conversations held only by themselves, adaptive polling, the dead-letter burst guard,
and the merge of the recent tail with the archive."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from services.common import recent
from services.common.bus import AdaptiveWait, DlqGuard, OffsetTracker
from services.common.pb.tidings.v1.envelope_pb2 import (
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    InboundMessage,
    Message,
    MsgElement,
)
from services.router.ingest import ConversationQueues, Pending, assign_request
from services.router.moderation import accept

TP = TopicPartition("im.inbound", 0)


def test_commit_point_is_the_lowest_offset_not_done() -> None:
    t = OffsetTracker()
    for offset in (10, 11, 12, 13):
        t.take(TP, offset)
    t.done(TP, 12)
    assert t.commit_points() == {}
    t.done(TP, 10)
    assert t.commit_points() == {TP: 11}
    t.done(TP, 11)
    assert t.commit_points() == {TP: 13}
    t.done(TP, 13)
    assert t.commit_points() == {TP: 14}
    assert t.in_flight() == 0
    t.forget([TP])
    t.done(TP, 14)  # a revoked partition's late completion is ignored
    assert t.commit_points() == {}


def test_idle_polling_backs_off_and_records_bring_it_back() -> None:
    w = AdaptiveWait(busy_ms=5, idle_ms=250, idle_after=3)
    waits = [w.observe(False) for _ in range(10)]
    assert waits[:2] == [5, 5]
    assert waits[2:6] == [10, 20, 40, 80]
    assert waits[-1] == 250
    assert w.observe(True) == 5


def test_dead_letter_burst_guard() -> None:
    g = DlqGuard(limit=3, window_s=60)
    assert not g.record(2, now=0)
    assert not g.record(1, now=10)
    assert g.record(1, now=20)
    g = DlqGuard(limit=3, window_s=60)
    assert not g.record(3, now=0)
    assert not g.record(3, now=61)  # the first three left the window


def _pending(conv: str, offset: int) -> Pending:
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        "im.inbound", 0, offset, 0, 0, b"", b"", None, 0, 0, []
    )
    return Pending(record, InboundMessage(sdkappid=1, conversation=conv))


def test_a_conversation_waits_only_for_itself() -> None:
    q = ConversationQueues()
    held = _pending("c2c:a:b", 1)
    behind = _pending("c2c:a:b", 2)
    other = _pending("c2c:c:d", 3)
    assert q.add(held) == []  # waiting for its callback
    behind.decision = accept(behind.message)
    assert q.add(behind) == []  # decided, but behind the held one
    other.decision = accept(other.message)
    assert q.add(other) == [other]
    held.decision = accept(held.message)
    assert q.decided(held) == [held, behind]
    assert len(q) == 0


def _msg(seq: int, **fields: object) -> Message:
    return Message(sdkappid=1, conversation="c2c:a:b", seq=seq, **fields)  # type: ignore[arg-type]


def test_merge_prefers_the_copy_with_more_applied() -> None:
    tail = [_msg(3, recalled=True), _msg(4), _msg(5)]
    archived = [_msg(1), _msg(2), _msg(3), _msg(4, modified_at_ms=9)]
    merged = recent.merge(tail, archived)
    assert [m.seq for m in merged] == [1, 2, 3, 4, 5]
    assert merged[2].recalled
    assert merged[3].modified_at_ms == 9
    assert recent.newer(_msg(1, deleted=True), _msg(1, recalled=True)).deleted


def test_tail_covers_from_its_lowest_seq() -> None:
    read = recent.TailRead([_msg(8), _msg(9)], lowest=5)
    assert read.covers(4) and read.covers(7)
    assert not read.covers(3)
    assert not recent.TailRead([], None).covers(0)


def test_the_assign_script_and_python_build_the_same_message() -> None:
    """What ingest produces is the base plus seq, time and MsgKey: a whole Message."""
    inbound = InboundMessage(
        sdkappid=1,
        conversation="c2c:a:b",
        sender="a",
        to_user="b",
        msg_random=77,
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
    )
    request = assign_request(inbound, now_ms=1_700_000_000_123)
    whole = Message.FromString(recent.with_seq(request.base, 42, 1_700_000_000_123, 77))
    assert (whole.seq, whole.server_time_ms, whole.msg_key) == (
        42,
        1_700_000_000_123,
        "77_42_1700000000",
    )
    assert whole.sender == "a" and whole.elements[0].content_json == b'{"Text":"hi"}'


def test_actions_apply_to_a_stored_copy() -> None:
    stored = _msg(3, elements=[MsgElement(msg_type="TIMTextElem", content_json=b"{}")])
    assert recent.apply_action(stored, _msg(3, kind=MESSAGE_KIND_RECALL)).recalled
    edited = recent.apply_action(
        stored, _msg(3, kind=MESSAGE_KIND_MODIFY, server_time_ms=5, cloud_custom_data="x")
    )
    assert (list(edited.elements), edited.cloud_custom_data, edited.modified_at_ms) == ([], "x", 5)
