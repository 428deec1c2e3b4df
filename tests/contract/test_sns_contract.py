"""The relationship-chain store contract, run against every adapter."""

from __future__ import annotations

from services.common.store.ports import Stores
from services.common.store.sns import BlockEntry, Friend, Pendency, SnsMeta

APP_A = 1400000201
APP_B = 1400000202


def _friend(owner: str, peer: str, add_time: int, remark: str = "") -> Friend:
    return Friend(owner=owner, peer=peer, add_time=add_time, remark=remark)


async def test_friends_round_trip_every_field(stores: Stores) -> None:
    full = Friend(
        owner="alice",
        peer="bob",
        remark="Bobby 🎉",
        remark_time=1420000001,
        groups=("同学", "work"),
        add_source="AddSource_Type_Android",
        add_wording="hi, I'm Alice",
        add_time=1420000002,
        custom={"Tag_SNS_Custom_Test": "x", "Tag_SNS_Custom_Num": 0},
    )
    await stores.sns.put_friends(APP_A, [full, _friend("alice", "carol", 5)])
    got = await stores.sns.get_friends(APP_A, "alice", ["bob", "carol", "nobody"])
    assert got["bob"] == full
    assert got["carol"] == Friend("alice", "carol", add_time=5)
    assert set(got) == {"bob", "carol"}
    assert await stores.sns.get_friends(APP_A, "alice", []) == {}


async def test_friends_list_in_add_order_and_count(stores: Stores) -> None:
    await stores.sns.put_friends(
        APP_A,
        [_friend("alice", "zed", 1), _friend("alice", "bob", 3), _friend("alice", "amy", 3)],
    )
    listed = await stores.sns.list_friends(APP_A, "alice")
    assert [f.peer for f in listed] == ["zed", "amy", "bob"]
    assert await stores.sns.count_friends(APP_A, "alice") == 3
    assert await stores.sns.count_friends(APP_A, "bob") == 0


async def test_put_replaces_and_delete_removes(stores: Stores) -> None:
    await stores.sns.put_friends(APP_A, [_friend("alice", "bob", 1, remark="old")])
    await stores.sns.put_friends(APP_A, [_friend("alice", "bob", 1, remark="new")])
    got = await stores.sns.get_friends(APP_A, "alice", ["bob"])
    assert got["bob"].remark == "new"
    await stores.sns.delete_friends(APP_A, "alice", ["bob", "never-there"])
    assert await stores.sns.get_friends(APP_A, "alice", ["bob"]) == {}
    assert await stores.sns.count_friends(APP_A, "alice") == 0


async def test_friend_owners_answers_the_reverse_question(stores: Stores) -> None:
    await stores.sns.put_friends(
        APP_A, [_friend("bob", "alice", 1), _friend("carol", "alice", 1), _friend("dan", "x", 1)]
    )
    owners = await stores.sns.friend_owners(APP_A, "alice", ["bob", "carol", "dan", "eve"])
    assert owners == {"bob", "carol"}
    assert await stores.sns.friend_owners(APP_A, "alice", []) == set()


async def test_blocklist_round_trip(stores: Stores) -> None:
    await stores.sns.put_blocked(
        APP_A,
        [
            BlockEntry("alice", "mallory", 20),
            BlockEntry("alice", "eve", 10),
            BlockEntry("bob", "eve", 30),
        ],
    )
    listed = await stores.sns.list_blocked(APP_A, "alice")
    assert listed == [BlockEntry("alice", "eve", 10), BlockEntry("alice", "mallory", 20)]
    assert await stores.sns.count_blocked(APP_A, "alice") == 2
    got = await stores.sns.get_blocked(APP_A, "alice", ["eve", "bob"])
    assert got == {"eve": BlockEntry("alice", "eve", 10)}
    assert await stores.sns.blocker_owners(APP_A, "eve", ["alice", "bob", "carol"]) == {
        "alice",
        "bob",
    }
    await stores.sns.delete_blocked(APP_A, "alice", ["eve"])
    assert [e.peer for e in await stores.sns.list_blocked(APP_A, "alice")] == ["mallory"]


async def test_pendencies_round_trip(stores: Stores) -> None:
    request = Pendency("bob", "alice", "AddSource_Type_Web", "hello", "Al", "friends", 7)
    await stores.sns.put_pendencies(APP_A, [request, Pendency("bob", "carol", add_time=3)])
    assert await stores.sns.list_pendencies(APP_A, "bob") == [
        Pendency("bob", "carol", add_time=3),
        request,
    ]
    await stores.sns.delete_pendencies(APP_A, "bob", ["carol"])
    assert await stores.sns.list_pendencies(APP_A, "bob") == [request]
    assert await stores.sns.list_pendencies(APP_A, "alice") == []


async def test_meta_defaults_and_round_trip(stores: Stores) -> None:
    assert await stores.sns.get_meta(APP_A, "alice") == SnsMeta()
    meta = SnsMeta(groups=("b", "a"), standard_seq=3, custom_seq=1, group_seq=2, black_seq=9)
    await stores.sns.put_meta(APP_A, "alice", meta)
    assert await stores.sns.get_meta(APP_A, "alice") == meta
    await stores.sns.put_meta(APP_A, "alice", SnsMeta(groups=("c",)))
    assert await stores.sns.get_meta(APP_A, "alice") == SnsMeta(groups=("c",))


async def test_apps_never_see_each_other(stores: Stores) -> None:
    await stores.sns.put_friends(APP_A, [_friend("alice", "bob", 1)])
    await stores.sns.put_blocked(APP_A, [BlockEntry("alice", "eve", 1)])
    await stores.sns.put_pendencies(APP_A, [Pendency("alice", "carol")])
    await stores.sns.put_meta(APP_A, "alice", SnsMeta(standard_seq=5))
    assert await stores.sns.list_friends(APP_B, "alice") == []
    assert await stores.sns.get_friends(APP_B, "alice", ["bob"]) == {}
    assert await stores.sns.count_friends(APP_B, "alice") == 0
    assert await stores.sns.friend_owners(APP_B, "bob", ["alice"]) == set()
    assert await stores.sns.list_blocked(APP_B, "alice") == []
    assert await stores.sns.blocker_owners(APP_B, "eve", ["alice"]) == set()
    assert await stores.sns.list_pendencies(APP_B, "alice") == []
    assert await stores.sns.get_meta(APP_B, "alice") == SnsMeta()
    await stores.sns.delete_friends(APP_B, "alice", ["bob"])
    assert await stores.sns.count_friends(APP_A, "alice") == 1
