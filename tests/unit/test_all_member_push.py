"""all_member_push: condition matching and checking, the job codec, pacing, and the runner."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from services.common import topics
from services.common.allpush import (
    AllMemberPushJob,
    Condition,
    decode_job,
    encode_job,
    job_event,
    matches,
    task_id,
)
from services.common.bus import Record
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import SOURCE_REST, Event, InboundMessage
from services.common.store.ports import DirectoryStore
from services.common.store.pushattrs import PushAttrStore
from services.gateway.push_rules import parse_condition
from services.push.all_member import AllMemberPush, push_inbound, select_targets
from services.push.pacing import Pacer, chunk_size

APP = 1400000001
NUMBERS = {"sex": 0, "city": 1}


EVERYONE = Condition()


def _job(condition: Condition = EVERYONE, sender: str = "admin") -> AllMemberPushJob:
    return AllMemberPushJob(
        task_id=task_id(APP, 7),
        sdkappid=APP,
        sender=sender,
        msg_random=7,
        body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        condition=condition,
        created_at_ms=1_700_000_000_000,
    )


# Condition matching: AND needs every item, OR at least one, both lists must hold.


@pytest.mark.parametrize(
    ("condition", "tags", "expected"),
    [
        (Condition(), [], True),
        (Condition(tags_and=("a", "b")), ["a", "b", "c"], True),
        (Condition(tags_and=("a", "b")), ["a"], False),
        (Condition(tags_or=("a", "b")), ["b"], True),
        (Condition(tags_or=("a", "b")), ["c"], False),
        (Condition(tags_or=("a", "b")), [], False),
        (Condition(tags_and=("a",), tags_or=("b", "c")), ["a", "c"], True),
        (Condition(tags_and=("a",), tags_or=("b", "c")), ["a"], False),
        (Condition(tags_and=("a",), tags_or=("b", "c")), ["b", "c"], False),
    ],
)
def test_tag_conditions(condition: Condition, tags: list[str], expected: bool) -> None:
    assert matches(condition, {}, tags) is expected


@pytest.mark.parametrize(
    ("condition", "attrs", "expected"),
    [
        (Condition(attrs_and={0: "m", 1: "sz"}), {0: "m", 1: "sz", 2: "cn"}, True),
        (Condition(attrs_and={0: "m", 1: "sz"}), {0: "m", 1: "bj"}, False),
        (Condition(attrs_and={0: "m", 1: "sz"}), {0: "m"}, False),
        (Condition(attrs_or={0: "m", 1: "sz"}), {0: "f", 1: "sz"}, True),
        (Condition(attrs_or={0: "m", 1: "sz"}), {0: "f", 1: "bj"}, False),
        (Condition(attrs_or={0: "m"}), {}, False),
        (Condition(attrs_and={0: "m"}, attrs_or={1: "sz", 2: "cn"}), {0: "m", 2: "cn"}, True),
        (Condition(attrs_and={0: "m"}, attrs_or={1: "sz", 2: "cn"}), {0: "f", 2: "cn"}, False),
        # An empty value does not match an account that has no value.
        (Condition(attrs_and={0: ""}), {}, False),
    ],
)
def test_attribute_conditions(condition: Condition, attrs: dict[int, str], expected: bool) -> None:
    assert matches(condition, attrs, []) is expected


# Condition checking, with Tencent's codes.


def test_parse_condition_resolves_attribute_names_to_numbers() -> None:
    got = parse_condition({"AttrsAnd": {"sex": "m"}, "AttrsOr": {"city": "sz"}}, NUMBERS)
    assert got == Condition(attrs_and={0: "m"}, attrs_or={1: "sz"})
    got = parse_condition({"TagsAnd": ["a", "a"], "TagsOr": ["b"]}, NUMBERS)
    assert got == Condition(tags_and=("a",), tags_or=("b",))


@pytest.mark.parametrize(
    "raw",
    [None, {}, {"TagsAnd": None, "AttrsOr": None}, {"TagsAnd": [], "AttrsAnd": {}}],
)
def test_absent_or_empty_condition_targets_everyone(raw: object) -> None:
    assert parse_condition(raw, NUMBERS) == Condition()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ([], ErrorCode.OPENIM_JSON),
        ({"TagsNot": ["a"]}, ErrorCode.OPENIM_JSON),
        ({"TagsAnd": "a"}, ErrorCode.OPENIM_JSON),
        ({"TagsAnd": [1]}, ErrorCode.OPENIM_JSON),
        ({"AttrsAnd": ["sex"]}, ErrorCode.OPENIM_JSON),
        ({"TagsOr": [str(i) for i in range(11)]}, ErrorCode.PUSH_TAG_COUNT),
        ({"TagsAnd": [""]}, ErrorCode.PUSH_TAG_EMPTY),
        ({"TagsAnd": ["x" * 51]}, ErrorCode.PUSH_TAG_TOO_LONG),
        ({"TagsAnd": ["a"], "TagsOr": ["a", "b"]}, ErrorCode.PUSH_TAGS_OVERLAP),
        ({"TagsAnd": ["a"], "AttrsOr": {"sex": "m"}}, ErrorCode.PUSH_ATTRS_WITH_TAGS),
        ({"AttrsAnd": {"age": "3"}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrsAnd": {"sex": 1}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrsOr": {"sex": "x" * 51}}, ErrorCode.PUSH_ATTR_INVALID),
    ],
)
def test_malformed_conditions(raw: object, code: ErrorCode) -> None:
    with pytest.raises(TidingsError) as err:
        parse_condition(raw, NUMBERS)
    assert err.value.code == code


# The job on im.events.


def test_job_round_trips_through_its_event() -> None:
    job = _job(Condition(tags_or=("a", "b"), attrs_and={3: "x"}))
    event = Event.FromString(job_event(job).SerializeToString())
    assert (event.sdkappid, event.kind, event.event_id) == (APP, "all_member_push", job.task_id)
    assert decode_job(event.payload_json) == job
    assert decode_job(encode_job(job)) == job


@pytest.mark.parametrize(
    "raw",
    [b"{}", b"[]", b"not json", orjson.dumps({**orjson.loads(encode_job(_job())), "body": []})],
)
def test_malformed_jobs_are_refused(raw: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_job(raw)


def test_the_same_msg_random_is_the_same_task() -> None:
    assert task_id(APP, 7) == task_id(APP, 7) == "53724e01_00000007"
    assert task_id(APP, 8) != task_id(APP, 7) != task_id(APP + 1, 7)


# Pacing arithmetic.


def test_pacer_spaces_bookings_at_the_rate() -> None:
    pacer = Pacer(rate=200)
    assert pacer.reserve(20, now=100.0) == 0.0
    assert pacer.reserve(20, now=100.0) == pytest.approx(0.1)
    assert pacer.reserve(20, now=100.05) == pytest.approx(0.15)
    # 60 sends booked from t=100: the next may start at 100.3.
    assert pacer.next_at == pytest.approx(100.3)


def test_pacer_gives_no_credit_for_idle_time() -> None:
    pacer = Pacer(rate=10)
    assert pacer.reserve(1, now=0.0) == 0.0
    assert pacer.reserve(1, now=50.0) == 0.0
    assert pacer.reserve(1, now=50.0) == pytest.approx(0.1)


def test_pacer_keeps_any_window_within_rate_plus_one_booking() -> None:
    rate, chunk = 200, chunk_size(200)
    pacer = Pacer(rate=rate)
    starts = []
    now = 0.0
    for _ in range(100):
        now += pacer.reserve(chunk, now)
        starts.append(now)
    # Sends started within any one second never exceed rate + one booking.
    for t in starts:
        in_window = sum(chunk for s in starts if t <= s < t + 1.0)
        assert in_window <= rate + chunk
    assert starts[-1] == pytest.approx((100 - 1) * chunk / rate)


def test_chunk_size_is_a_tenth_of_a_second() -> None:
    assert [chunk_size(r) for r in (1, 9, 10, 200, 5000)] == [1, 1, 1, 20, 500]


# Targets and their messages.


def test_targets_skip_the_sender_and_unselected_accounts() -> None:
    job = _job(Condition(tags_or=("vip",)), sender="boss")
    page = ["a", "b", "boss", "c"]
    tags = {"a": ["vip"], "boss": ["vip"], "c": ["free"]}
    assert select_targets(job, page, {}, tags) == ["a"]
    assert select_targets(_job(sender="boss"), page, {}, {}) == ["a", "b", "c"]


def test_push_message_has_no_origin_and_a_per_user_dedupe_id() -> None:
    job = _job(sender="boss")
    m = push_inbound(job, [], "zed", 123)
    assert (m.sdkappid, m.sender, m.to_user, m.conversation) == (APP, "boss", "zed", "c2c:boss:zed")
    assert m.client_msg_id == f"all_member_push:{job.task_id}:zed"
    assert m.source == SOURCE_REST and m.msg_random == 7
    assert not m.HasField("origin")
    assert push_inbound(job, [], "amy", 123).client_msg_id != m.client_msg_id


# The runner, with in-memory stores and producer.


@dataclass
class FakeStores:
    accounts: list[str]
    tags: dict[str, list[str]] = field(default_factory=dict)
    pages: int = 0

    async def list_accounts(self, sdkappid: int, after_user: str, limit: int) -> list[str]:
        self.pages += 1
        return [u for u in sorted(self.accounts) if u > after_user][:limit]

    async def get_tags(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[str]]:
        return {u: self.tags[u] for u in users if u in self.tags}

    async def get_attrs(self, sdkappid: int, users: Sequence[str]) -> Mapping[str, Any]:
        return {}


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _record(event: Event, offset: int = 0) -> Record:
    return ConsumerRecord(
        topics.EVENTS.name, 0, offset, 0, 0, b"k", event.SerializeToString(), None, 0, 0, []
    )


def _runner(stores: FakeStores, producer: FakeProducer, rate: int) -> AllMemberPush:
    return AllMemberPush(
        cast(DirectoryStore, stores),
        cast(PushAttrStore, stores),
        cast(AIOKafkaProducer, producer),
        rate,
        page_size=3,
    )


async def test_runner_pages_filters_and_publishes_paced() -> None:
    users = [f"u{i:02d}" for i in range(10)]
    stores = FakeStores(users, tags={"u01": ["vip"], "u04": ["vip"], "u09": ["vip", "x"]})
    producer = FakeProducer()
    runner = _runner(stores, producer, rate=20)
    everyone = _job(sender="u00")
    tagged = _job(Condition(tags_or=("vip",)))
    other = Event(schema_version=1, sdkappid=APP, kind="something_else")
    started = asyncio.get_running_loop().time()
    await runner.handle(
        [_record(job_event(everyone)), _record(other, 1), _record(job_event(tagged), 2)]
    )
    elapsed = asyncio.get_running_loop().time() - started

    inbound = [InboundMessage.FromString(v) for _, _, v in producer.sent]
    assert {t for t, _, _ in producer.sent} == {"im.inbound"}
    to_everyone = sorted(m.to_user for m in inbound if m.sender == "u00")
    assert to_everyone == users[1:]
    assert sorted(m.to_user for m in inbound if m.sender == "admin") == ["u01", "u04", "u09"]
    assert all(
        k == f"{APP}:{m.conversation}".encode()
        for (_, k, _), m in zip(producer.sent, inbound, strict=True)
    )
    # 12 messages at 20/s in bookings of 2: the last booking starts 0.5 s after the first.
    assert elapsed >= 0.45
    # Each job read its 10 accounts in pages of 3, plus the empty page that ends it.
    assert stores.pages == 2 * 5


async def test_a_malformed_job_is_poison_and_the_rest_runs() -> None:
    stores, producer = FakeStores(["a"]), FakeProducer()
    bad = Event(schema_version=1, sdkappid=APP, kind="all_member_push", payload_json=b"{}")
    foreign = job_event(_job())
    foreign.sdkappid = APP + 1
    records = [_record(job_event(_job())), _record(bad, 1), _record(foreign, 2)]
    poison = await _runner(stores, producer, rate=100).handle(records)
    assert [p.record.offset for p in poison] == [1, 2]
    assert "app" in poison[1].reason
    assert len(producer.sent) == 1
