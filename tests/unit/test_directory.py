"""The gateway's directory: what a send checks is read from the store once, then from memory,
and every event that changes it drops exactly what it changed (no I/O: fake stores)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common import events
from services.common.pb.tidings.v1.envelope_pb2 import Event
from services.common.store.groups import Group, Member
from services.common.store.profiles import CachedNoSpeakingStore, NoSpeaking
from services.gateway import events as gateway_events
from services.gateway.directory import Directory
from tests.directory_fakes import FakeStores

APP = 1400000001


@pytest.fixture
def stores() -> FakeStores:
    s = FakeStores()
    s.accounts |= {"ann", "bob"}
    s.friends.add(("ann", "bob"))
    s.group_rows["g1"] = Group("g1", "Public", "one")
    s.member_rows[("g1", "ann")] = Member("ann")
    return s


def event(kind: str, payload: dict[str, Any], sdkappid: int = APP) -> Event:
    return events.new_event(sdkappid, kind, payload)


async def test_each_check_reads_the_store_once(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    for _ in range(3):
        assert await d.account_exists(APP, "ann")
        assert not await d.account_exists(APP, "nobody")
        assert await d.is_friend(APP, "ann", "bob")
        assert not await d.is_friend(APP, "bob", "ann")
        assert not await d.is_blocked(APP, "bob", "ann")
        assert (await d.group(APP, "g1")) is stores.group_rows["g1"]
        assert await d.group(APP, "nope") is None
        assert (await d.member(APP, "g1", "ann")) is stores.member_rows[("g1", "ann")]
        assert await d.member(APP, "g1", "bob") is None
        assert await d.no_speaking(APP, "ann") == NoSpeaking()
    assert stores.reads == {
        "accounts": 2,
        "friends": 2,
        "blocked": 1,
        "group": 2,
        "members": 2,
        "no_speaking": 1,
    }


async def test_missing_accounts_reads_the_misses_at_once_in_order(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert await d.account_exists(APP, "ann")
    assert await d.missing_accounts(APP, ["zed", "ann", "bob", "amy", "zed"]) == [
        "zed",
        "amy",
        "zed",
    ]
    assert stores.reads["accounts"] == 2
    assert await d.missing_accounts(APP, ["amy", "bob"]) == ["amy"]
    assert stores.reads["accounts"] == 2


async def test_apps_are_apart(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert await d.account_exists(APP, "ann")
    d.apply(event(events.ACCOUNTS_DELETED, {"Accounts": events.accounts(["ann"])}, APP + 1))
    assert await d.account_exists(APP, "ann")
    assert stores.reads["accounts"] == 1


async def test_accounts_imported_and_deleted(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert not await d.account_exists(APP, "new")
    stores.accounts.add("new")
    assert d.apply(event(events.ACCOUNTS_IMPORTED, {"Accounts": events.accounts(["new"])}))
    assert await d.account_exists(APP, "new")
    assert await d.account_exists(APP, "ann")
    await d.no_speaking(APP, "ann")
    stores.accounts.discard("ann")
    stores.mutes["ann"] = NoSpeaking(c2c_until=1)
    d.apply(event(events.ACCOUNTS_DELETED, {"Accounts": events.accounts(["ann", "new"])}))
    assert not await d.account_exists(APP, "ann")
    assert await d.no_speaking(APP, "ann") == NoSpeaking(c2c_until=1)


async def test_no_speaking_set(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert not (await d.no_speaking(APP, "ann")).c2c_muted(0)
    stores.mutes["ann"] = NoSpeaking(c2c_until=2**40)
    d.apply(event(events.NO_SPEAKING_SET, {"Set_Account": "ann", "C2CmsgNospeakingTime": 60}))
    assert (await d.no_speaking(APP, "ann")).c2c_muted(0)


@pytest.mark.parametrize(
    "kind", [events.FRIENDS_ADDED, events.FRIENDS_IMPORTED, events.FRIENDS_DELETED]
)
async def test_friend_changes_drop_exactly_their_pairs(stores: FakeStores, kind: str) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert not await d.is_friend(APP, "bob", "ann")
    assert await d.is_friend(APP, "ann", "bob")
    stores.friends = {("bob", "ann")}
    d.apply(event(kind, {"PairList": events.pairs("bob", ["ann"])}))
    assert await d.is_friend(APP, "bob", "ann")
    # ann -> bob was not in the event: still cached (and now stale, which the test shows is
    # what an event names, nothing more).
    assert await d.is_friend(APP, "ann", "bob")


async def test_blocking_drops_the_block_and_the_friendship_both_ways(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    stores.friends.add(("bob", "ann"))
    assert await d.is_friend(APP, "ann", "bob")
    assert await d.is_friend(APP, "bob", "ann")
    assert not await d.is_blocked(APP, "bob", "ann")
    stores.blocked.add(("bob", "ann"))
    stores.friends.clear()
    d.apply(event(events.BLOCKLIST_ADDED, {"PairList": events.pairs("bob", ["ann"])}))
    assert await d.is_blocked(APP, "bob", "ann")
    assert not await d.is_friend(APP, "ann", "bob")
    assert not await d.is_friend(APP, "bob", "ann")
    stores.blocked.clear()
    d.apply(event(events.BLOCKLIST_DELETED, {"PairList": events.pairs("bob", ["ann"])}))
    assert not await d.is_blocked(APP, "bob", "ann")


@pytest.mark.parametrize("kind", [events.GROUP_INFO_CHANGED, events.GROUP_MODIFIED])
async def test_group_record_changes(stores: FakeStores, kind: str) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert not (await d.group(APP, "g1")).mute_all  # type: ignore[union-attr]
    stores.group_rows["g1"] = Group("g1", "Public", "one", mute_all=True)
    d.apply(event(kind, {"GroupId": "g1", "Type": "Public", "Operator_Account": "admin"}))
    assert (await d.group(APP, "g1")).mute_all  # type: ignore[union-attr]
    # Member rows stay cached.
    await d.member(APP, "g1", "ann")
    assert stores.reads["members"] == 1


@pytest.mark.parametrize(
    "kind", [events.GROUP_DESTROYED, events.GROUP_CREATED, events.GROUP_IMPORTED]
)
async def test_a_group_replaced_drops_its_record_and_every_member_row(
    stores: FakeStores, kind: str
) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    stores.group_rows["g2"] = Group("g2", "Public", "two")
    stores.member_rows[("g2", "ann")] = Member("ann")
    for g in ("g1", "g2"):
        assert await d.group(APP, g) is not None
        assert await d.member(APP, g, "ann") is not None
    del stores.group_rows["g1"]
    del stores.member_rows[("g1", "ann")]
    d.apply(event(kind, {"GroupId": "g1", "Type": "Public"}))
    assert await d.group(APP, "g1") is None
    assert await d.member(APP, "g1", "ann") is None
    reads = stores.reads.copy()
    assert await d.member(APP, "g2", "ann") is not None
    assert stores.reads == reads


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (events.GROUP_MEMBERS_JOINED, "NewMemberList"),
        (events.GROUP_MEMBERS_EXITED, "ExitMemberList"),
        (events.GROUP_MEMBERS_IMPORTED, "MemberList"),
        (events.GROUP_MEMBERS_MUTED, "MemberList"),
        (events.GROUP_MEMBER_ROLE_CHANGED, "MemberList"),
    ],
)
async def test_member_changes_drop_their_rows(stores: FakeStores, kind: str, field: str) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert await d.member(APP, "g1", "bob") is None
    assert await d.member(APP, "g1", "ann") is not None
    stores.member_rows[("g1", "bob")] = Member("bob", mute_until=2**40)
    d.apply(event(kind, {"GroupId": "g1", field: events.members(["bob"])}))
    assert (await d.member(APP, "g1", "bob")).mute_until == 2**40  # type: ignore[union-attr]
    reads = stores.reads["members"]
    await d.member(APP, "g1", "ann")
    assert stores.reads["members"] == reads


async def test_a_role_change_also_drops_the_group_record(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    await d.group(APP, "g1")
    d.apply(
        event(
            events.GROUP_MEMBER_ROLE_CHANGED,
            {"GroupId": "g1", "MemberList": [{"Member_Account": "ann", "Role": "Owner"}]},
        )
    )
    await d.group(APP, "g1")
    assert stores.reads["group"] == 2


def test_other_kinds_and_bad_payloads_change_nothing(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert not d.apply(event(events.C2C_READ, {"Report_Account": "ann"}))
    bad = event(events.GROUP_MODIFIED, {})
    assert not d.apply(bad)
    bad.payload_json = b"[1]"
    assert not d.apply(bad)
    d.apply_record(b"\xff\xfe not a protobuf")
    d.apply_record(None)


async def test_records_are_decoded(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    assert await d.account_exists(APP, "ann")
    d.apply_record(
        event(events.ACCOUNTS_DELETED, {"Accounts": events.accounts(["ann"])}).SerializeToString()
    )
    stores.accounts.discard("ann")
    assert not await d.account_exists(APP, "ann")


async def test_clear_forgets_everything(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    await d.account_exists(APP, "ann")
    await d.member(APP, "g1", "ann")
    d.clear()
    await d.account_exists(APP, "ann")
    await d.member(APP, "g1", "ann")
    assert stores.reads["accounts"] == 2
    assert stores.reads["members"] == 2


async def test_no_speaking_is_read_under_the_stores_own_cache(stores: FakeStores) -> None:
    """After an invalidation the directory must read the truth, not the 1 s cache another
    gateway's write cannot drop."""
    wrapped = CachedNoSpeakingStore(stores, ttl_s=60)  # type: ignore[arg-type]
    await wrapped.get(APP, "ann")  # the store's cache holds "not muted"
    stores.no_speaking = wrapped  # type: ignore[assignment]
    d = Directory(stores)  # type: ignore[arg-type]
    stores.mutes["ann"] = NoSpeaking(group_until=2**40)
    assert (await d.no_speaking(APP, "ann")).group_muted(0)


class FakeProducer:
    def __init__(self, seen: list[bool], d: Directory) -> None:
        self._seen = seen
        self._d = d

    async def send(self, topic: str, key: bytes, value: bytes) -> Any:
        # What a send on this node would read at the moment the event is produced.
        self._seen.append(self._d.accounts.get((APP, "ann")) is True)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


async def test_this_process_applies_its_own_events_before_producing(stores: FakeStores) -> None:
    d = Directory(stores)  # type: ignore[arg-type]
    gateway_events.observe_local(d.apply_local)
    try:
        assert await d.account_exists(APP, "ann")
        seen: list[bool] = []
        emitter = gateway_events.EventEmitter(FakeProducer(seen, d))  # type: ignore[arg-type]
        await emitter.emit(
            APP, events.ACCOUNTS_DELETED, "ann", {"Accounts": events.accounts(["ann"])}
        )
        assert seen == [False]
    finally:
        gateway_events._local_observers.remove(d.apply_local)


def test_every_directory_kind_is_handled() -> None:
    d = Directory(FakeStores())  # type: ignore[arg-type]
    assert set(events.DIRECTORY_KINDS) <= set(d._handlers)
    assert not set(events.DIRECTORY_KINDS) & set(events.KINDS)
