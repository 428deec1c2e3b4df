"""MessageDeletionStore contract: every adapter keeps one-sided hidden seqs per app, user and
conversation, and a group's cleared mark, which never goes down."""

from __future__ import annotations

from services.common.store.ports import Stores

APP_A = 1400000401
APP_B = 1400000402
CONV = "c2c:user0:user1"


async def test_hidden_seqs_per_user_and_conversation(stores: Stores) -> None:
    s = stores.msg_deletions
    assert await s.hidden(APP_A, "user0", CONV) == set()
    await s.hide(APP_A, "user0", CONV, [3, 5, 3])
    await s.hide(APP_A, "user0", CONV, [5, 8])
    await s.hide(APP_A, "user0", "c2c:user0:user2", [1])
    await s.hide(APP_B, "user0", CONV, [9])
    await s.hide(APP_A, "user0", CONV, [])
    assert await s.hidden(APP_A, "user0", CONV) == {3, 5, 8}
    # The other party, another conversation and another app are untouched.
    assert await s.hidden(APP_A, "user1", CONV) == set()
    assert await s.hidden(APP_A, "user0", "c2c:user0:user2") == {1}
    assert await s.hidden(APP_B, "user0", CONV) == {9}


async def test_group_cleared_mark_only_rises(stores: Stores) -> None:
    s = stores.msg_deletions
    assert await s.group_cleared(APP_A, "g1") == 0
    await s.clear_group(APP_A, "g1", 7)
    assert await s.group_cleared(APP_A, "g1") == 7
    await s.clear_group(APP_A, "g1", 4)
    assert await s.group_cleared(APP_A, "g1") == 7
    await s.clear_group(APP_A, "g1", 12)
    await s.clear_group(APP_A, "g2", 2)
    assert await s.group_cleared(APP_A, "g1") == 12
    assert await s.group_cleared(APP_A, "g2") == 2
    assert await s.group_cleared(APP_B, "g1") == 0
