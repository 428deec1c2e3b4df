"""AVChatRoomStore contract: every adapter keeps live-group admins and member marks per app
and group."""

from __future__ import annotations

from services.common.store.avchatroom import MemberMark
from services.common.store.ports import Stores

APP_A = 1400000401
APP_B = 1400000402


async def test_admins_added_listed_and_removed(stores: Stores) -> None:
    s = stores.avchatroom
    assert await s.admins(APP_A, "g1") == []
    await s.add_admins(APP_A, "g1", ["u2", "u1", "u2"])
    await s.add_admins(APP_A, "g1", ["u1", "u3"])
    await s.add_admins(APP_A, "g2", ["u9"])
    await s.add_admins(APP_B, "g1", ["u8"])
    assert await s.admins(APP_A, "g1") == ["u1", "u2", "u3"]
    await s.remove_admins(APP_A, "g1", ["u2", "nobody", "u2"])
    assert await s.admins(APP_A, "g1") == ["u1", "u3"]
    assert await s.admins(APP_A, "g2") == ["u9"]
    assert await s.admins(APP_B, "g1") == ["u8"]
    await s.add_admins(APP_A, "g1", [])
    await s.remove_admins(APP_A, "g1", [])


async def test_marks_set_replaced_and_removed(stores: Stores) -> None:
    s = stores.avchatroom
    assert await s.marks(APP_A, "g1") == []
    await s.put_marks(
        APP_A,
        "g1",
        [MemberMark("u2", 1001, 10), MemberMark("u1", 1001, 10), MemberMark("u1", 500, 11)],
    )
    await s.put_marks(APP_B, "g1", [MemberMark("u1", 1000, 5)])
    # Ordered by user, then mark; setting a mark again takes the new time.
    await s.put_marks(APP_A, "g1", [MemberMark("u2", 1001, 20)])
    assert await s.marks(APP_A, "g1") == [
        MemberMark("u1", 500, 11),
        MemberMark("u1", 1001, 10),
        MemberMark("u2", 1001, 20),
    ]
    await s.remove_marks(APP_A, "g1", [("u1", 1001), ("u1", 1001), ("u3", 1000)])
    assert await s.marks(APP_A, "g1") == [MemberMark("u1", 500, 11), MemberMark("u2", 1001, 20)]
    assert await s.marks(APP_B, "g1") == [MemberMark("u1", 1000, 5)]
    await s.put_marks(APP_A, "g1", [])
    await s.remove_marks(APP_A, "g1", [])


async def test_drop_group_forgets_admins_and_marks(stores: Stores) -> None:
    s = stores.avchatroom
    await s.add_admins(APP_A, "g1", ["u1"])
    await s.put_marks(APP_A, "g1", [MemberMark("u1", 1000, 1)])
    await s.add_admins(APP_A, "g2", ["u1"])
    await s.put_marks(APP_A, "g2", [MemberMark("u1", 1000, 1)])
    await s.drop_group(APP_A, "g1")
    assert await s.admins(APP_A, "g1") == []
    assert await s.marks(APP_A, "g1") == []
    assert await s.admins(APP_A, "g2") == ["u1"]
    assert await s.marks(APP_A, "g2") == [MemberMark("u1", 1000, 1)]
