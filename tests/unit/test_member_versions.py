"""Group membership versions, the pure and in-process parts: fan-out uses a held member list
only at the version it was read at, reads the versions in its presence round trip and reads
again (once) the groups that changed; the gateway bumps the version before a membership change
answers, produces the event even when the bump fails, then answers 10002 and owes the bump."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import pytest

from services.common import conversation, events, group_versions, keys
from services.common.errors import ErrorCode
from services.common.group_versions import (
    GroupVersions,
    VersionNotBumped,
    parse_version,
    version_key,
)
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    Message,
)
from services.common.presence import Online, PresenceIndex
from services.common.store.groups import GroupStore, Member
from services.gateway import events as gateway_events
from services.router.fanout import (
    MEMBERS_MAX_AGE_S,
    Fanout,
    GroupAudience,
    MemberCache,
    batch_groups,
    current,
    group_recipients,
    merge_online,
    not_asked,
    outgoing,
)
from services.router.sequencer import cluster_slot

APP = 1400000801
N1 = "10.0.0.1:7001"


def audience(version: int, read_at: float = 100.0) -> GroupAudience:
    return GroupAudience([Member("ann")], [], version, read_at)


# --- the decision ----------------------------------------------------------------------------


def test_a_held_list_serves_only_at_the_version_it_was_read_at() -> None:
    held = audience(version=4, read_at=100.0)
    assert current(held, 4, 101.0, 300.0)
    # A change was answered since the read (joined, removed, MsgFlag): read again.
    assert not current(held, 5, 101.0, 300.0)
    # The key expired or Redis lost it: a different version too.
    assert not current(held, 0, 101.0, 300.0)
    assert not current(None, 4, 101.0, 300.0)
    # Past the max age, whatever the version (changes no bump announces).
    assert not current(held, 4, 400.0, 300.0)


def test_a_version_key_outlives_every_list_held_under_it() -> None:
    # A key that expired starts again from 1; no list read under the old count is still held.
    assert MEMBERS_MAX_AGE_S < group_versions.TTL_S


def test_the_version_key_shares_the_group_s_slot() -> None:
    for group_id in ("g1", "@TGS#2ABC", "odd:{id}%"):
        key = version_key(APP, group_id)
        tail = keys.redis_key("tl", APP, conversation.group(group_id))
        assert key.startswith("gmv:{") and key != tail
        assert cluster_slot(key) == cluster_slot(tail)
    assert version_key(APP, "a:b") != version_key(APP, "a%3Ab")


def test_versions_parse_from_get_replies() -> None:
    assert parse_version(None) == 0
    assert parse_version(b"17") == 17
    assert parse_version("3") == 3


# --- fan-out's batch -------------------------------------------------------------------------


def group_msg(group_id: str, sender: str = "ann", **kw: Any) -> Message:
    return Message(
        sdkappid=APP,
        conversation=conversation.group(group_id),
        chat_type=CHAT_TYPE_GROUP,
        group_id=group_id,
        sender=sender,
        **kw,
    )


def decoded(*messages: Message) -> list[tuple[bytes, Message]]:
    return [(m.SerializeToString(), m) for m in messages]


def test_outgoing_keeps_the_order_and_leaves_out_groups_without_members() -> None:
    c2c = Message(sdkappid=APP, chat_type=CHAT_TYPE_C2C, sender="ann", to_user="bob")
    batch = decoded(group_msg("g1"), c2c, group_msg("g2"), group_msg("g1", sender="bob"))
    assert batch_groups(batch) == [(APP, "g1"), (APP, "g2")]
    members = [Member("ann"), Member("bob")]
    g1 = GroupAudience(members, group_recipients(Message(), members, mark_sender=False), 1)
    out = outgoing(batch, {(APP, "g1"): g1})
    assert [(o.message.chat_type, o.message.group_id) for o in out] == [
        (CHAT_TYPE_GROUP, "g1"),
        (CHAT_TYPE_C2C, ""),
        (CHAT_TYPE_GROUP, "g1"),
    ]
    # One group's messages share their recipients.
    assert out[0].recipients is out[2].recipients


def test_only_users_not_asked_yet_are_asked_again() -> None:
    assert not_asked({APP: ["ann", "bob", "cat"], APP + 1: ["x"]}, {APP: ["ann", "bob"]}) == {
        APP: ["cat"],
        APP + 1: ["x"],
    }
    assert not_asked({APP: ["ann"]}, {APP: ["ann"]}) == {}
    online: Online = {APP: {"ann": [N1]}}
    assert merge_online(online, {APP: {"cat": [N1]}, APP + 1: {}}) == {
        APP: {"ann": [N1], "cat": [N1]},
        APP + 1: {},
    }


class Presence:
    """The presence index as fan-out sees it: who is online, and the values of the keys read in
    the same pipeline. Records each round trip."""

    def __init__(self) -> None:
        self.online: set[str] = set()
        self.values: dict[str, bytes] = {}
        self.trips: list[tuple[str, dict[int, list[str]], list[str]]] = []

    def _where(self, wanted: Mapping[int, Collection[str]]) -> Online:
        return {a: {u: [N1] for u in users if u in self.online} for a, users in wanted.items()}

    async def locate_and_get(
        self, wanted: Mapping[int, Collection[str]], keys: Sequence[str]
    ) -> tuple[Online, list[Any]]:
        self.trips.append(("first", {a: sorted(u) for a, u in wanted.items()}, list(keys)))
        return self._where(wanted), [self.values.get(k) for k in keys]

    async def locate(self, wanted: Mapping[int, Collection[str]]) -> Online:
        self.trips.append(("more", {a: sorted(u) for a, u in wanted.items()}, []))
        return self._where(wanted)


class Groups:
    def __init__(self) -> None:
        self.members_now: dict[str, list[Member]] = {}
        self.reads: list[str] = []

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        self.reads.append(group_id)
        return list(self.members_now.get(group_id, []))


def recipients_of(batch: Sequence[Any]) -> list[list[str]]:
    return [[r.user for r in item.recipients] for item in batch]


async def test_fan_out_reads_versions_with_presence_and_reloads_changed_groups_once() -> None:
    presence, groups = Presence(), Groups()
    fanout = Fanout(
        cast(PresenceIndex, presence),
        cast(Any, None),
        cast(Any, None),
        MemberCache(cast(GroupStore, groups)),
        cast(Any, None),
    )
    key = version_key(APP, "g1")
    groups.members_now["g1"] = [Member("ann"), Member("bob")]
    presence.values[key] = b"1"
    presence.online = {"ann", "bob", "cat"}

    # First sight of the group: the versions come with the (empty) presence read; the members
    # are read once for the two messages, and their presence in a second trip.
    batch, online = await fanout._recipients(decoded(group_msg("g1"), group_msg("g1")))
    assert recipients_of(batch) == [["ann", "bob"], ["ann", "bob"]]
    assert presence.trips == [("first", {}, [key]), ("more", {APP: ["ann", "bob"]}, [])]
    assert groups.reads == ["g1"] and online[APP] == {"ann": [N1], "bob": [N1]}

    # Unchanged: one round trip, no store read.
    presence.trips.clear()
    batch, _ = await fanout._recipients(decoded(group_msg("g1")))
    assert recipients_of(batch) == [["ann", "bob"]]
    assert presence.trips == [("first", {APP: ["ann", "bob"]}, [key])]
    assert groups.reads == ["g1"]

    # cat joins, and the join's reply came after the bump: the next message reaches cat; only
    # cat's presence is asked again.
    groups.members_now["g1"].append(Member("cat"))
    presence.values[key] = b"2"
    presence.trips.clear()
    batch, online = await fanout._recipients(decoded(group_msg("g1", sender="cat")))
    assert recipients_of(batch) == [["ann", "bob", "cat"]]
    assert presence.trips == [
        ("first", {APP: ["ann", "bob"]}, [key]),
        ("more", {APP: ["cat"]}, []),
    ]
    assert online[APP] == {"ann": [N1], "bob": [N1], "cat": [N1]}
    assert groups.reads == ["g1", "g1"]

    # bob is removed, and ann now discards the group's messages: neither gets the next one;
    # nobody new, so no second trip.
    groups.members_now["g1"] = [Member("ann", msg_flag="Discard"), Member("cat")]
    presence.values[key] = b"3"
    presence.trips.clear()
    batch, _ = await fanout._recipients(decoded(group_msg("g1", sender="cat")))
    assert recipients_of(batch) == [["cat"]]
    assert [t[0] for t in presence.trips] == ["first"]


async def test_a_batch_of_several_groups_reads_only_the_changed_ones_again() -> None:
    presence, groups = Presence(), Groups()
    cache = MemberCache(cast(GroupStore, groups))
    fanout = Fanout(
        cast(PresenceIndex, presence), cast(Any, None), cast(Any, None), cache, cast(Any, None)
    )
    groups.members_now = {"g1": [Member("ann")], "g2": [Member("bob")]}
    presence.values = {version_key(APP, "g1"): b"1", version_key(APP, "g2"): b"1"}
    await fanout._recipients(decoded(group_msg("g1"), group_msg("g2")))
    assert sorted(groups.reads) == ["g1", "g2"]
    groups.members_now["g2"].append(Member("cat"))
    presence.values[version_key(APP, "g2")] = b"2"
    batch, _ = await fanout._recipients(decoded(group_msg("g2"), group_msg("g1")))
    assert recipients_of(batch) == [["bob", "cat"], ["ann"]]
    assert sorted(groups.reads) == ["g1", "g2", "g2"]


async def test_a_read_that_started_earlier_does_not_replace_a_later_one() -> None:
    groups = Groups()
    groups.members_now["g1"] = [Member("ann")]
    cache = MemberCache(cast(GroupStore, groups))
    slow = asyncio.Event()
    real = groups.members

    async def slow_members(sdkappid: int, group_id: str) -> list[Member]:
        await slow.wait()
        return [Member("old")]

    groups.members = slow_members  # type: ignore[method-assign]
    earlier = asyncio.get_running_loop().create_task(cache.load(APP, "g1", 1))
    await asyncio.sleep(0)
    groups.members = real  # type: ignore[method-assign]
    await cache.load(APP, "g1", 2)
    slow.set()
    await earlier
    held = cache.held(APP, "g1")
    assert held is not None and held.version == 2
    assert [m.user_id for m in held.members] == ["ann"]


def test_the_least_recently_used_lists_go_first() -> None:
    cache = MemberCache(cast(GroupStore, Groups()), max_groups=2)

    async def fill() -> None:
        await cache.load(APP, "g1", 1)
        await cache.load(APP, "g2", 1)
        cache.held(APP, "g1")
        await cache.load(APP, "g3", 1)

    asyncio.run(fill())
    assert cache.held(APP, "g2") is None
    assert cache.held(APP, "g1") is not None and cache.held(APP, "g3") is not None


# --- the gateway's bump ----------------------------------------------------------------------


class Pipe:
    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis
        self._ops: list[tuple[str, str]] = []

    async def __aenter__(self) -> Pipe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def incr(self, key: str) -> None:
        self._ops.append(("incr", key))

    def expire(self, key: str, ttl: int) -> None:
        self._ops.append(("expire", key))

    async def execute(self) -> list[Any]:
        if self._redis.down:
            raise ConnectionError("redis down")
        for op, key in self._ops:
            if op == "incr":
                self._redis.values[key] = self._redis.values.get(key, 0) + 1
            else:
                self._redis.expiring.add(key)
        self._redis.log.append("bump")
        return []


class FakeRedis:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.expiring: set[str] = set()
        self.down = False
        self.log: list[str] = []

    def pipeline(self, transaction: bool = True) -> Pipe:
        return Pipe(self)


async def test_a_failed_bump_is_owed_and_paid_by_the_next_try_of_the_group() -> None:
    redis = FakeRedis()
    versions = GroupVersions(cast(Any, redis), retry_s=3600)
    key = version_key(APP, "g1")
    await versions.bump(APP, "g1")
    assert redis.values[key] == 1 and key in redis.expiring
    # Nothing owed: settling costs no Redis call.
    await versions.settle(APP, "g1")
    assert redis.values[key] == 1 and redis.log == ["bump"]

    redis.down = True
    with pytest.raises(VersionNotBumped) as err:
        await versions.bump(APP, "g1")
    assert err.value.code == ErrorCode.GROUP_INTERNAL and versions.owed == 1
    with pytest.raises(VersionNotBumped):
        await versions.settle(APP, "g1")
    redis.down = False
    # The caller's retry found nothing to change, and pays what is owed.
    await versions.settle(APP, "g1")
    assert redis.values[key] == 2 and versions.owed == 0
    await versions.close()


async def test_owed_bumps_are_retried_in_the_background() -> None:
    redis = FakeRedis()
    versions = GroupVersions(cast(Any, redis), retry_s=0)
    redis.down = True
    for group_id in ("g1", "g2"):
        with pytest.raises(VersionNotBumped):
            await versions.bump(APP, group_id)
    redis.down = False
    retrying = versions._retrying
    assert retrying is not None
    await retrying
    assert versions.owed == 0
    assert redis.values == {version_key(APP, "g1"): 1, version_key(APP, "g2"): 1}


class Producer:
    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis

    async def send(self, topic: str, key: bytes, value: bytes) -> Any:
        self._redis.log.append("event")
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


@pytest.fixture
def redis() -> Any:
    fake = FakeRedis()
    gateway_events.use_group_versions(cast(Any, fake))
    yield fake
    gateway_events._versions.clear()


def test_every_kind_that_changes_a_group_s_members_bumps_its_version() -> None:
    assert {
        events.GROUP_CREATED,
        events.GROUP_IMPORTED,
        events.GROUP_DESTROYED,
        events.GROUP_MEMBERS_JOINED,
        events.GROUP_MEMBERS_IMPORTED,
        events.GROUP_MEMBERS_EXITED,
    } == events.MEMBERSHIP_KINDS


async def test_a_membership_event_bumps_the_version_before_it_is_produced(
    redis: FakeRedis,
) -> None:
    emitter = gateway_events.EventEmitter(cast(Any, Producer(redis)))
    payload = {"GroupId": "g1", "ExitMemberList": events.members(["bob"])}
    await emitter.emit(APP, events.GROUP_MEMBERS_EXITED, "g1", payload)
    assert redis.log == ["bump", "event"]
    # Other kinds bump nothing.
    await emitter.emit(APP, events.GROUP_MEMBER_ROLE_CHANGED, "g1", {"GroupId": "g1"})
    assert redis.log == ["bump", "event", "event"]
    # The WebSocket path waits for the bump, not for the broker.
    redis.log.clear()
    await emitter.emit_membership_soon(APP, events.GROUP_MEMBERS_JOINED, "g1", payload)
    assert redis.log == ["bump"]
    await asyncio.gather(*emitter._pending)
    assert redis.log == ["bump", "event"]
    with pytest.raises(ValueError):
        emitter.emit_soon(APP, events.GROUP_MEMBERS_JOINED, "g1", payload)


async def test_a_failed_bump_still_produces_the_event_then_answers_10002(
    redis: FakeRedis,
) -> None:
    emitter = gateway_events.EventEmitter(cast(Any, Producer(redis)))
    redis.down = True
    with pytest.raises(VersionNotBumped):
        await emitter.emit(APP, events.GROUP_MEMBERS_JOINED, "g1", {"GroupId": "g1"})
    assert redis.log == ["event"]
    with pytest.raises(VersionNotBumped):
        await gateway_events.group_unchanged(APP, "g1")
    redis.down = False
    await gateway_events.group_unchanged(APP, "g1")
    assert redis.values == {version_key(APP, "g1"): 1}
    # A change with no event of its own (MsgFlag).
    await gateway_events.group_changed(APP, "g1")
    assert redis.values == {version_key(APP, "g1"): 2}
    for versions in gateway_events._versions:
        await versions.close()
