"""The group store contract: what every adapter must do, whatever the backend."""

from __future__ import annotations

from services.common.store.groups import Group, GroupRef, JoinedGroup, Member
from services.common.store.ports import Stores

APP_A = 1400000201
APP_B = 1400000202


def _group(group_id: str, group_type: str = "Public", **kw: object) -> Group:
    fields: dict[str, object] = {
        "name": f"name of {group_id}",
        "apply_join_option": "NeedPermission",
        "invite_join_option": "DisableInvite",
        "max_members": 200,
        "create_time": 1_700_000_000,
        **kw,
    }
    return Group(group_id=group_id, group_type=group_type, **fields)  # type: ignore[arg-type]


async def test_create_get_and_claimed_ids(stores: Stores) -> None:
    g = _group(
        "@TGS#2ABC",
        owner="ann",
        introduction="intro",
        notification="notice",
        face_url="http://face",
        mute_all=True,
        app_defined={"Level": "3", "Zone": "eu"},
    )
    owner = Member("ann", role="Owner", join_time=1_700_000_000)
    assert await stores.groups.create_group(APP_A, g, [owner, Member("bob", join_time=7)])
    got = await stores.groups.get_group(APP_A, "@TGS#2ABC")
    assert got is not None
    assert got.list_key > 0 and got == g
    assert got.app_defined == {"Level": "3", "Zone": "eu"} and got.mute_all
    # The ID is claimed: a second create changes nothing, not even the members.
    again = _group("@TGS#2ABC", name="other")
    assert not await stores.groups.create_group(APP_A, again, [Member("cat")])
    after = await stores.groups.get_group(APP_A, "@TGS#2ABC")
    assert after is not None and after.name == g.name
    assert [m.user_id for m in await stores.groups.members(APP_A, "@TGS#2ABC")] == ["ann", "bob"]
    # Another app may use the same ID, and sees nothing of app A.
    assert await stores.groups.get_group(APP_B, "@TGS#2ABC") is None
    assert await stores.groups.create_group(APP_B, _group("@TGS#2ABC"), [])
    assert await stores.groups.members(APP_B, "@TGS#2ABC") == []
    found = await stores.groups.get_groups(APP_A, ["@TGS#2ABC", "missing", "@TGS#2ABC"])
    assert list(found) == ["@TGS#2ABC"]


async def test_profile_writes_keep_the_message_fields(stores: Stores) -> None:
    g = _group("work-1", "Work", last_msg_time=1_700_000_500, next_msg_seq=42)
    imported = Member("ann", join_time=10, msg_seq=40, last_send_msg_time=20, unread_msg_num=2)
    assert await stores.groups.create_group(APP_A, g, [imported])
    g.name, g.info_seq, g.app_defined = "renamed", 3, {"K": "v"}
    await stores.groups.save_group(APP_A, g)
    got = await stores.groups.get_group(APP_A, "work-1")
    assert got is not None
    assert (got.name, got.info_seq, got.app_defined) == ("renamed", 3, {"K": "v"})
    assert (got.last_msg_time, got.next_msg_seq) == (1_700_000_500, 42)

    changed = Member(
        "ann",
        role="Admin",
        join_time=10,
        mute_until=1_800_000_000,
        msg_flag="Discard",
        name_card="Annie",
        app_defined={"Title": "lead"},
    )
    await stores.groups.put_members(APP_A, "work-1", [changed])
    member = (await stores.groups.get_members(APP_A, "work-1", ["ann"]))["ann"]
    assert (member.role, member.mute_until, member.msg_flag, member.name_card) == (
        "Admin",
        1_800_000_000,
        "Discard",
        "Annie",
    )
    assert member.app_defined == {"Title": "lead"}
    assert (member.msg_seq, member.last_send_msg_time, member.unread_msg_num) == (40, 20, 2)


async def test_members_add_remove_and_the_user_index(stores: Stores) -> None:
    groups = stores.groups
    assert await groups.create_group(APP_A, _group("g1"), [Member("ann", role="Owner")])
    assert await groups.create_group(APP_A, _group("g2", "Meeting"), [])
    added = await groups.add_members(
        APP_A, "g1", "Public", [Member("bob"), Member("ann", role="Admin"), Member("bob")]
    )
    assert added == ["bob"]
    # The existing member was left as it was.
    assert (await groups.get_members(APP_A, "g1", ["ann"]))["ann"].role == "Owner"
    assert await groups.add_members(APP_A, "g2", "Meeting", [Member("bob")]) == ["bob"]
    assert await groups.count_members(APP_A, "g1") == 2
    assert await groups.joined_groups(APP_A, "bob") == [
        JoinedGroup("g1", "Public"),
        JoinedGroup("g2", "Meeting"),
    ]
    assert await groups.joined_groups(APP_B, "bob") == []

    await groups.remove_members(APP_A, "g1", ["bob", "nobody"])
    assert [m.user_id for m in await groups.members(APP_A, "g1")] == ["ann"]
    assert await groups.joined_groups(APP_A, "bob") == [JoinedGroup("g2", "Meeting")]
    assert await groups.get_members(APP_A, "g1", ["bob"]) == {}

    await groups.delete_group(APP_A, "g2")
    assert await groups.get_group(APP_A, "g2") is None
    assert await groups.members(APP_A, "g2") == []
    assert await groups.joined_groups(APP_A, "bob") == []
    assert await groups.count_groups(APP_A, None) == 1
    # Deleting what is gone is harmless.
    await groups.delete_group(APP_A, "g2")


async def test_members_read_in_user_order_and_in_pages(stores: Stores) -> None:
    users = [f"u{n:03d}" for n in range(250)]
    members = [Member(u, join_time=n, unread_msg_num=n % 3) for n, u in enumerate(reversed(users))]
    assert await stores.groups.create_group(APP_A, _group("big", "Community"), members)
    everyone = await stores.groups.members(APP_A, "big")
    assert [m.user_id for m in everyone] == users
    assert everyone[0].join_time == 249 and everyone[0].unread_msg_num == 249 % 3

    seen: list[str] = []
    after = ""
    while page := await stores.groups.members_after(APP_A, "big", after, 100):
        seen += [m.user_id for m in page]
        after = page[-1].user_id
    assert seen == users
    last_page = await stores.groups.members_after(APP_A, "big", "u199", 100)
    assert [m.unread_msg_num for m in last_page[:2]] == [
        m.unread_msg_num for m in everyone[200:202]
    ]


async def test_app_group_list_pages_by_list_key(stores: Stores) -> None:
    types = ["Public", "Work", "Public", "Meeting", "Public"]
    for n, group_type in enumerate(types):
        g = _group(f"g{n}", group_type, list_key=1000 + n)
        assert await stores.groups.create_group(APP_A, g, [])
    assert await stores.groups.create_group(APP_B, _group("other", list_key=500), [])

    first = await stores.groups.list_groups(APP_A, None, 0, 2)
    assert first == [GroupRef("g0", "Public", 1000), GroupRef("g1", "Work", 1001)]
    rest = await stores.groups.list_groups(APP_A, None, first[-1].list_key, 10)
    assert [r.group_id for r in rest] == ["g2", "g3", "g4"]
    public = await stores.groups.list_groups(APP_A, "Public", 1000, 10)
    assert [r.group_id for r in public] == ["g2", "g4"]
    assert await stores.groups.count_groups(APP_A, None) == 5
    assert await stores.groups.count_groups(APP_A, "Public") == 3
    assert await stores.groups.count_groups(APP_A, "AVChatRoom") == 0
    assert await stores.groups.count_groups(APP_B, None) == 1


async def test_record_messages_only_moves_forward(stores: Stores) -> None:
    groups = stores.groups
    assert await groups.create_group(APP_A, _group("busy", "Work"), [Member("ann")])
    assert await groups.create_group(APP_B, _group("busy", "Work"), [])
    await groups.record_messages(APP_A, "busy", 1_700_000_100, 6)
    got = await groups.get_group(APP_A, "busy")
    assert got is not None and (got.last_msg_time, got.next_msg_seq) == (1_700_000_100, 6)
    # A replay of older messages changes nothing; each field only grows, on its own (an
    # imported message may be older than the latest one but still take a higher seq).
    await groups.record_messages(APP_A, "busy", 1_700_000_050, 4)
    await groups.record_messages(APP_A, "busy", 1_700_000_090, 9)
    got = await groups.get_group(APP_A, "busy")
    assert got is not None and (got.last_msg_time, got.next_msg_seq) == (1_700_000_100, 9)
    # The profile write carries them through; another app's group of the same ID is untouched.
    got.name = "renamed"
    await groups.save_group(APP_A, got)
    again = await groups.get_group(APP_A, "busy")
    assert again is not None and (again.last_msg_time, again.next_msg_seq) == (1_700_000_100, 9)
    other = await groups.get_group(APP_B, "busy")
    assert other is not None and (other.last_msg_time, other.next_msg_seq) == (0, 1)
    # A destroyed group is not brought back.
    await groups.delete_group(APP_A, "busy")
    await groups.record_messages(APP_A, "busy", 1_700_000_200, 12)
    assert await groups.get_group(APP_A, "busy") is None
    assert await groups.create_group(APP_A, _group("busy", "Work"), [])
    fresh = await groups.get_group(APP_A, "busy")
    assert fresh is not None and (fresh.last_msg_time, fresh.next_msg_seq) == (0, 1)


async def test_set_unread_msg_num_of_a_member(stores: Stores) -> None:
    groups = stores.groups
    ann = Member("ann", join_time=10, msg_seq=4, last_send_msg_time=20, unread_msg_num=1)
    assert await groups.create_group(APP_A, _group("g"), [ann, Member("bob")])
    await groups.set_unread_msg_num(APP_A, "g", "ann", 7)
    member = (await groups.get_members(APP_A, "g", ["ann"]))["ann"]
    assert (member.unread_msg_num, member.msg_seq, member.last_send_msg_time) == (7, 4, 20)
    assert [m.unread_msg_num for m in await groups.members(APP_A, "g")] == [7, 0]
    # A profile write keeps it.
    member.name_card = "Annie"
    await groups.put_members(APP_A, "g", [member])
    assert (await groups.get_members(APP_A, "g", ["ann"]))["ann"].unread_msg_num == 7
    # Someone who is not a member is ignored, and does not become one.
    await groups.set_unread_msg_num(APP_A, "g", "cat", 3)
    assert await groups.get_members(APP_A, "g", ["cat"]) == {}
    assert await groups.count_members(APP_A, "g") == 2
    await groups.set_unread_msg_num(APP_B, "g", "ann", 9)
    assert (await groups.get_members(APP_A, "g", ["ann"]))["ann"].unread_msg_num == 7
