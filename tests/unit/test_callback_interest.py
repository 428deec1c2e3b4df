"""What the callback service reads of an app's records: the pure decision (app settings -> the
record kinds the app wants, the app in a record's key), and the consumer's batch handlers with
in-memory fakes: a record of an app that wants nothing is skipped without decoding its value,
the same bytes under an app that wants the topic are poison, and a message reaches both the
Tencent after-callbacks and the post-send rules in one dispatch."""

from __future__ import annotations

from typing import Any

import pytest

from services.callback.after import C2C_WITHDRAW, GROUP_RECALL, MESSAGE_COMMANDS, AfterSend
from services.callback.consumer import CallbackConsumer
from services.callback.events import EVENT_COMMANDS, SHAPES
from services.callback.groups import GroupTypes
from services.callback.interest import NOTHING, Interest, interest_of, view_of
from services.callback.rules_post import POST_SEND_LABEL, PostSendRules
from services.common import events, topics
from services.common.app_cache import AppCache
from services.common.callback_config import (
    BEFORE_EVENTS,
    C2C_AFTER_SEND,
    C2C_BEFORE_SEND,
    COMMANDS,
    GROUP_AFTER_SEND,
    GROUP_BEFORE_SEND,
)
from services.common.conversation import app_of_key, c2c, kafka_key
from services.common.pb.tidings.v1.envelope_pb2 import (
    Event,
    PushJob,
)
from services.common.store.ports import App
from tests.callback_fakes import (
    GARBAGE,
    URL,
    Apps,
    Dispatched,
    Groups,
    Versions,
    app,
    message,
    no_unread,
    record,
)

QUIET, LOUD = 1400000001, 1400000002


# --- the decision -------------------------------------------------------------------------


def test_an_app_with_nothing_configured_wants_nothing() -> None:
    assert interest_of(app()) == NOTHING
    assert interest_of(None) == NOTHING
    assert not NOTHING.anything
    assert not any(NOTHING.wants(t.name) for t in topics.ALL)


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([], NOTHING),
        ([C2C_AFTER_SEND], Interest(messages=True)),
        ([GROUP_AFTER_SEND], Interest(messages=True)),
        ([C2C_WITHDRAW], Interest(messages=True)),
        ([GROUP_RECALL], Interest(messages=True)),
        # Before-callbacks are gRPC calls, not records.
        ([C2C_BEFORE_SEND, GROUP_BEFORE_SEND, *BEFORE_EVENTS], NOTHING),
        (["Sns.CallbackFriendAdd"], Interest(events=True)),
        (["State.StateChange", "C2C.CallbackAfterMsgReport"], Interest(events=True)),
        ([C2C_AFTER_SEND, "Group.CallbackAfterCreateGroup"], Interest(messages=True, events=True)),
        ("all", Interest(messages=True, events=True)),
    ],
)
def test_callback_commands(commands: Any, expected: Interest) -> None:
    assert interest_of(app(commands=commands)) == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"stream": "chat"}], Interest(messages=True)),
        ([{"stream": "offline"}], Interest(offline=True)),
        ([{"stream": "chat"}, {"stream": "offline"}], Interest(messages=True, offline=True)),
        ([{"stream": "chat", "enabled": False}], NOTHING),
        ([{"stream": "offline", "enabled": False}, {"stream": "chat"}], Interest(messages=True)),
        # Filters are decided per message, after decoding.
        ([{"stream": "chat", "from_ids": ["nobody"]}], Interest(messages=True)),
    ],
)
def test_post_send_rules(rules: list[dict[str, Any]], expected: Interest) -> None:
    assert interest_of(app(rules=rules)) == expected


def test_pre_send_rules_want_no_records() -> None:
    a = app()
    a.settings["callback_rules"] = {
        "pre_send": [{"name": "p", "url": URL, "chat_types": ["single"], "msg_types": ["txt"]}],
        "post_send": [],
    }
    assert interest_of(a) == NOTHING


def test_both_kinds_add_up() -> None:
    a = app(commands=["Group.CallbackAfterMemberExit"], rules=[{"stream": "offline"}])
    assert interest_of(a) == Interest(events=True, offline=True)
    assert interest_of(a).wants(topics.EVENTS.name) and interest_of(a).wants(topics.PUSH.name)
    assert not interest_of(a).wants(topics.MESSAGES.name)
    assert not interest_of(a).wants(topics.CALLBACKS_RETRY.name)


def test_a_stored_configuration_that_no_longer_parses_wants_nothing() -> None:
    a = app()
    a.settings["callback"] = {"url": URL, "commands": [C2C_AFTER_SEND], "renamed": 1}
    assert interest_of(a) == NOTHING


def test_the_command_sets_are_the_consumers_commands() -> None:
    assert {C2C_AFTER_SEND, GROUP_AFTER_SEND, C2C_WITHDRAW, GROUP_RECALL} == MESSAGE_COMMANDS
    assert {s.command for s in SHAPES.values()} == EVENT_COMMANDS
    assert set(COMMANDS) >= MESSAGE_COMMANDS | EVENT_COMMANDS
    assert MESSAGE_COMMANDS.isdisjoint(EVENT_COMMANDS)


def test_the_view_keeps_enabled_rules_by_stream() -> None:
    view = view_of(
        app(
            commands=[C2C_AFTER_SEND],
            rules=[{"stream": "chat"}, {"stream": "chat", "enabled": False}, {"stream": "offline"}],
        )
    )
    assert [r.name for r in view.rules("chat")] == ["r0"]
    assert [r.name for r in view.rules("offline")] == ["r2"]
    assert view.callback(C2C_AFTER_SEND) is not None
    assert view.callback(GROUP_AFTER_SEND) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (kafka_key(QUIET, c2c("alice", "bob")), QUIET),
        (events.event_key(LOUD, "group:g1"), LOUD),
        (f"{QUIET}:a%3Ab".encode(), QUIET),
        (b"7:x", 7),
        (None, None),
        (b"", None),
        (b"1400000001", None),  # no separator
        (b":c2c:a:b", None),
        (b"abc:c2c:a:b", None),
        (b"-1:x", None),
        (b"\xef\xbc\x91:x", None),  # a full-width digit is no ASCII digit
        (b"1" * 20 + b":x", None),
    ],
)
def test_the_app_of_a_key(key: bytes | None, expected: int | None) -> None:
    assert app_of_key(key) == expected


# --- the batch handlers, with in-memory fakes ----------------------------------------------


def reader(
    *apps: App, versions: Versions | None = None
) -> tuple[CallbackConsumer, Dispatched, Apps]:
    store = Apps(*apps)
    dispatched = Dispatched()
    groups = GroupTypes(Groups())  # type: ignore[arg-type]
    consumer = CallbackConsumer(
        AppCache(store, ttl_s=60),  # type: ignore[arg-type]
        AfterSend(groups, no_unread),
        PostSendRules(groups),
        dispatched,  # type: ignore[arg-type]
        versions or Versions(),  # type: ignore[arg-type]
    )
    return consumer, dispatched, store


def message_record(sdkappid: int, value: bytes | None = None, offset: int = 0) -> Any:
    m = message(sdkappid, offset + 1)
    return record(
        topics.MESSAGES.name,
        kafka_key(sdkappid, m.conversation),
        m.SerializeToString() if value is None else value,
        offset,
    )


async def test_garbage_of_an_app_that_wants_nothing_is_skipped_unread() -> None:
    consumer, dispatched, _ = reader(app(QUIET), app(LOUD, commands=[C2C_AFTER_SEND]))
    quiet = message_record(QUIET, GARBAGE, 0)
    loud = message_record(LOUD, GARBAGE, 1)
    unknown_app = message_record(1400000999, GARBAGE, 2)
    poison = await consumer.handle([quiet, loud, unknown_app])
    assert [p.record for p in poison] == [loud]
    assert "undecodable Message" in poison[0].reason
    assert dispatched.batches == [[]]


async def test_a_key_without_an_app_is_decoded() -> None:
    consumer, dispatched, _ = reader(app(LOUD, commands=[C2C_AFTER_SEND]))
    garbage = record(topics.MESSAGES.name, b"no-app", GARBAGE)
    good = record(topics.MESSAGES.name, None, message(LOUD).SerializeToString(), 1)
    poison = await consumer.handle([garbage, good])
    assert [p.record for p in poison] == [garbage]
    ((delivery, _),) = dispatched.batches[0]
    assert delivery.command == C2C_AFTER_SEND


async def test_one_message_feeds_the_tencent_callback_and_the_rules_in_one_dispatch() -> None:
    loud = app(LOUD, commands=[C2C_AFTER_SEND], rules=[{"stream": "chat"}, {"stream": "offline"}])
    consumer, dispatched, store = reader(app(QUIET), loud)
    batch = [message_record(LOUD, offset=0), message_record(QUIET, offset=1)]
    assert await consumer.handle(batch) == []
    (work,) = dispatched.batches
    assert sorted((d.command, d.rule) for d, _ in work) == [
        (C2C_AFTER_SEND, ""),
        (POST_SEND_LABEL, "r0"),
    ]
    assert all(d.sdkappid == LOUD for d, _ in work)
    # Each app is read once per batch (then from AppCache).
    reads = store.reads
    await consumer.handle([message_record(LOUD, offset=n) for n in range(10)])
    assert store.reads == reads


async def test_messages_events_and_push_share_a_batch() -> None:
    loud = app(LOUD, commands=["Sns.CallbackFriendDelete"], rules=[{"stream": "offline"}])
    consumer, dispatched, _ = reader(app(QUIET, rules=[{"stream": "chat"}]), loud)
    friend_deleted = events.new_event(
        LOUD, events.FRIENDS_DELETED, {"PairList": events.pairs("alice", ["bob"])}
    )
    lacking = events.new_event(LOUD, events.FRIENDS_DELETED, {})
    job = PushJob(schema_version=1, sdkappid=LOUD, user="bob", message=message(LOUD))
    key = events.event_key(LOUD, "alice")
    push_key = f"{LOUD}:bob".encode()
    batch = [
        record(topics.EVENTS.name, key, friend_deleted.SerializeToString(), 0),
        record(topics.PUSH.name, push_key, job.SerializeToString(), 0),
        record(topics.EVENTS.name, key, lacking.SerializeToString(), 1),
        record(topics.EVENTS.name, key, GARBAGE, 2),
        record(topics.PUSH.name, push_key, GARBAGE, 1),
        # QUIET wants im.messages only: its events and push jobs are not read.
        record(topics.EVENTS.name, events.event_key(QUIET, "alice"), GARBAGE, 3),
        record(topics.PUSH.name, f"{QUIET}:bob".encode(), GARBAGE, 2),
        message_record(QUIET, offset=0),
        # LOUD wants no im.messages record.
        message_record(LOUD, GARBAGE, offset=1),
    ]
    poison = await consumer.handle(batch)
    assert sorted((p.record.topic, p.record.offset) for p in poison) == [
        (topics.EVENTS.name, 1),
        (topics.EVENTS.name, 2),
        (topics.PUSH.name, 1),
    ]
    reasons = {(p.record.topic, p.record.offset): p.reason for p in poison}
    assert "lacks PairList" in reasons[(topics.EVENTS.name, 1)]
    (work,) = dispatched.batches
    assert sorted((d.sdkappid, d.command, d.rule) for d, _ in work) == [
        (QUIET, POST_SEND_LABEL, "r0"),
        (LOUD, POST_SEND_LABEL, "r0"),
        (LOUD, "Sns.CallbackFriendDelete", ""),
    ]
    rule_events = {d.sdkappid: d.body["eventType"] for d, _ in work if d.rule}
    assert rule_events == {QUIET: "chat", LOUD: "chat_offline"}


async def test_an_event_of_a_command_the_app_did_not_enable_is_not_delivered() -> None:
    loud = app(LOUD, commands=["Sns.CallbackFriendAdd"])
    consumer, dispatched, _ = reader(loud)
    deleted = Event.FromString(
        events.new_event(LOUD, events.FRIENDS_DELETED, {}).SerializeToString()
    )
    key = events.event_key(LOUD, "alice")
    # Not enabled, so not even checked for its fields: not poison.
    poison = await consumer.handle([record(topics.EVENTS.name, key, deleted.SerializeToString())])
    assert poison == []
    assert dispatched.batches == [[]]


async def test_a_change_whose_version_was_bumped_applies_to_the_next_batch() -> None:
    """No im.config record, a cache that would hold the record for a minute: the bumped
    version alone makes the next batch read the app again."""
    versions = Versions()
    consumer, dispatched, store = reader(app(LOUD), versions=versions)
    await consumer.handle([message_record(LOUD, offset=0)])
    assert dispatched.batches == [[]]
    store.apps[LOUD] = app(LOUD, commands=[C2C_AFTER_SEND])
    await versions.bump(LOUD)
    await consumer.handle([message_record(LOUD, offset=1)])
    ((delivery, _),) = dispatched.batches[1]
    assert delivery.command == C2C_AFTER_SEND
    # Read once at the new version, then from the cache.
    reads = store.reads
    await consumer.handle([message_record(LOUD, offset=2)])
    assert store.reads == reads
