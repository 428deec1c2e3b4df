"""The conversation store contract: what every adapter must do, whatever the backend."""

from __future__ import annotations

from services.common.store.conversations import C2C, GROUP, ConversationState, LastMessage
from services.common.store.ports import Stores

APP_A = 1400000201
APP_B = 1400000202

BASE_MS = 1_700_000_000_000


def _c2c(user: str, peer: str, seq: int, t_ms: int = BASE_MS) -> LastMessage:
    return LastMessage(user, f"c2c:{min(user, peer)}:{max(user, peer)}", C2C, peer, seq, t_ms)


def _group(user: str, group: str, seq: int, t_ms: int = BASE_MS) -> LastMessage:
    return LastMessage(user, f"group:{group}", GROUP, group, seq, t_ms)


async def _one(stores: Stores, app: int, user: str, conversation: str) -> ConversationState:
    got = await stores.conversations.get(app, user, [conversation])
    assert set(got) == {conversation}
    return got[conversation]


async def test_record_last_upserts_and_never_moves_backwards(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 3, BASE_MS + 3)])
    got = await _one(stores, APP_A, "alice", conv)
    assert got == ConversationState("alice", conv, C2C, "bob", 3, BASE_MS + 3)
    assert got.visible

    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 5, BASE_MS + 5)])
    assert (await _one(stores, APP_A, "alice", conv)).last_seq == 5

    # A replay of an older message, and one batch holding old and new, change nothing.
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 4, BASE_MS + 4)])
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.last_seq, got.last_time_ms) == (5, BASE_MS + 5)
    await stores.conversations.record_last(
        APP_A, [_c2c("alice", "bob", 2, BASE_MS + 2), _c2c("alice", "bob", 5, BASE_MS + 5)]
    )
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.last_seq, got.last_time_ms) == (5, BASE_MS + 5)

    await stores.conversations.record_last(APP_A, [])
    assert (await _one(stores, APP_A, "alice", conv)).last_seq == 5


async def test_record_last_leaves_user_state_alone(stores: Stores) -> None:
    conv = "group:g1"
    await stores.conversations.record_last(APP_A, [_group("alice", "g1", 10)])
    await stores.conversations.set_read(APP_A, "alice", conv, 8)
    await stores.conversations.hide(APP_A, "alice", conv, 10)
    await stores.conversations.set_pinned(APP_A, "alice", conv, BASE_MS + 1)

    await stores.conversations.record_last(APP_A, [_group("alice", "g1", 11, BASE_MS + 11)])
    got = await _one(stores, APP_A, "alice", conv)
    assert got == ConversationState(
        "alice",
        conv,
        GROUP,
        "g1",
        11,
        BASE_MS + 11,
        read_seq=8,
        hidden_seq=10,
        pinned_at_ms=BASE_MS + 1,
    )


async def test_set_read_never_lowers_and_creates_the_row(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    # Read before any last message is recorded: the row exists with nothing else set.
    await stores.conversations.set_read(APP_A, "alice", conv, 4)
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.read_seq, got.last_seq, got.hidden_seq, got.pinned_at_ms) == (4, 0, 0, 0)

    await stores.conversations.set_read(APP_A, "alice", conv, 2)
    assert (await _one(stores, APP_A, "alice", conv)).read_seq == 4
    await stores.conversations.set_read(APP_A, "alice", conv, 7)
    assert (await _one(stores, APP_A, "alice", conv)).read_seq == 7

    # The last message arriving later fills in the rest and keeps the read position.
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 9)])
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.kind, got.peer, got.last_seq, got.read_seq) == (C2C, "bob", 9, 7)


async def test_hidden_until_a_newer_message(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 6)])
    await stores.conversations.hide(APP_A, "alice", conv, 6)
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.hidden_seq, got.visible) == (6, False)
    # Hidden conversations are still listed: the caller filters on `visible`.
    assert [s.conversation for s in await stores.conversations.list_for_user(APP_A, "alice")] == [
        conv
    ]

    # A replay of the message that was deleted does not bring it back; a newer one does.
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 6)])
    assert not (await _one(stores, APP_A, "alice", conv)).visible
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 7)])
    assert (await _one(stores, APP_A, "alice", conv)).visible

    # A late, older delete does not lower hidden_seq.
    await stores.conversations.hide(APP_A, "alice", conv, 7)
    await stores.conversations.hide(APP_A, "alice", conv, 3)
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.hidden_seq, got.visible) == (7, False)


async def test_pinning(stores: Stores) -> None:
    conv = "group:g1"
    await stores.conversations.record_last(APP_A, [_group("alice", "g1", 1)])
    await stores.conversations.set_pinned(APP_A, "alice", conv, BASE_MS + 100)
    assert (await _one(stores, APP_A, "alice", conv)).pinned_at_ms == BASE_MS + 100
    # Re-pinning moves the pin time either way; 0 unpins.
    await stores.conversations.set_pinned(APP_A, "alice", conv, BASE_MS + 50)
    assert (await _one(stores, APP_A, "alice", conv)).pinned_at_ms == BASE_MS + 50
    await stores.conversations.set_pinned(APP_A, "alice", conv, 0)
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.pinned_at_ms, got.last_seq) == (0, 1)


async def test_list_is_newest_last_message_first(stores: Stores) -> None:
    await stores.conversations.record_last(
        APP_A,
        [
            _c2c("alice", "bob", 1, BASE_MS + 10),
            _group("alice", "g1", 1, BASE_MS + 30),
            _c2c("alice", "carol", 1, BASE_MS + 20),
        ],
    )
    listed = await stores.conversations.list_for_user(APP_A, "alice")
    assert [s.conversation for s in listed] == ["group:g1", "c2c:alice:carol", "c2c:alice:bob"]
    assert all(s.user == "alice" for s in listed)

    # A new message moves its conversation to the top.
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 2, BASE_MS + 40)])
    listed = await stores.conversations.list_for_user(APP_A, "alice")
    assert [s.conversation for s in listed] == ["c2c:alice:bob", "group:g1", "c2c:alice:carol"]
    assert await stores.conversations.list_for_user(APP_A, "nobody") == []


async def test_get_returns_only_known_conversations(stores: Stores) -> None:
    await stores.conversations.record_last(
        APP_A, [_c2c("alice", "bob", 1), _group("alice", "g1", 2)]
    )
    got = await stores.conversations.get(
        APP_A, "alice", ["c2c:alice:bob", "group:nope", "group:g1", "c2c:alice:bob"]
    )
    assert set(got) == {"c2c:alice:bob", "group:g1"}
    assert got["group:g1"].last_seq == 2
    assert await stores.conversations.get(APP_A, "alice", []) == {}
    assert await stores.conversations.get(APP_A, "bob", ["c2c:alice:bob"]) == {}


async def test_apps_do_not_see_each_other(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.conversations.record_last(APP_A, [_c2c("alice", "bob", 5)])
    await stores.conversations.set_read(APP_A, "alice", conv, 5)
    await stores.conversations.hide(APP_A, "alice", conv, 5)
    await stores.conversations.set_pinned(APP_A, "alice", conv, BASE_MS)
    assert await stores.conversations.get(APP_B, "alice", [conv]) == {}
    assert await stores.conversations.list_for_user(APP_B, "alice") == []

    # The same ids in app B start from nothing, and leave app A's row as it was.
    await stores.conversations.record_last(APP_B, [_c2c("alice", "bob", 1)])
    assert await _one(stores, APP_B, "alice", conv) == ConversationState(
        "alice", conv, C2C, "bob", 1, BASE_MS
    )
    got = await _one(stores, APP_A, "alice", conv)
    assert (got.last_seq, got.read_seq, got.hidden_seq) == (5, 5, 5)


async def test_users_of_one_conversation_are_independent(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.conversations.record_last(
        APP_A, [_c2c("alice", "bob", 3), _c2c("bob", "alice", 3)]
    )
    await stores.conversations.set_read(APP_A, "alice", conv, 3)
    await stores.conversations.hide(APP_A, "bob", conv, 3)
    await stores.conversations.set_pinned(APP_A, "bob", conv, BASE_MS)

    alice = await _one(stores, APP_A, "alice", conv)
    bob = await _one(stores, APP_A, "bob", conv)
    assert (alice.peer, alice.read_seq, alice.visible, alice.pinned_at_ms) == ("bob", 3, True, 0)
    assert (bob.peer, bob.read_seq, bob.visible, bob.pinned_at_ms) == ("alice", 0, False, BASE_MS)
