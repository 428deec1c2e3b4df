"""ContactGroupStore contract: every adapter keeps each user's conversation groups and
conversation entries (marks, group ids) apart, per app and per user."""

from __future__ import annotations

from services.common.store.contact_groups import ContactEntry, ContactGroup
from services.common.store.ports import Stores

APP_A = 1400000301
APP_B = 1400000302


async def test_groups_are_claimed_renamed_and_deleted_per_user(stores: Stores) -> None:
    s = stores.contact_groups
    assert await s.list_groups(APP_A, "u1") == []
    assert await s.claim_group(APP_A, "u1", ContactGroup(2, "work"))
    assert await s.claim_group(APP_A, "u1", ContactGroup(1, "family"))
    # An id is claimed once.
    assert not await s.claim_group(APP_A, "u1", ContactGroup(1, "other"))
    assert await s.claim_group(APP_A, "u2", ContactGroup(1, "u2's"))
    assert await s.claim_group(APP_B, "u1", ContactGroup(1, "b's"))
    assert await s.list_groups(APP_A, "u1") == [ContactGroup(1, "family"), ContactGroup(2, "work")]

    await s.rename_group(APP_A, "u1", ContactGroup(2, "office"))
    await s.delete_group(APP_A, "u1", 1)
    assert await s.list_groups(APP_A, "u1") == [ContactGroup(2, "office")]
    assert await s.list_groups(APP_A, "u2") == [ContactGroup(1, "u2's")]
    assert await s.list_groups(APP_B, "u1") == [ContactGroup(1, "b's")]


async def test_entries_are_written_whole_and_read_in_order(stores: Stores) -> None:
    s = stores.contact_groups
    group_chat = ContactEntry(2, "@TGS#1", custom_mark="abcd", group_ids=(1, 12), updated_ms=5)
    bob = ContactEntry(1, "bob", standard_mark=(1 << 63) | 1, updated_ms=7)
    alice = ContactEntry(1, "alice", group_ids=(3,), updated_ms=9)
    await s.put_entries(APP_A, "u1", [group_chat, bob, alice])
    await s.put_entries(APP_A, "u2", [ContactEntry(1, "alice", standard_mark=2, updated_ms=1)])
    await s.put_entries(APP_B, "u1", [ContactEntry(1, "zed", custom_mark="b", updated_ms=1)])
    assert await s.list_entries(APP_A, "u1") == [alice, bob, group_chat]
    assert await s.get_entries(APP_A, "u1", [(1, "bob"), (2, "@TGS#1"), (1, "nobody")]) == {
        (1, "bob"): bob,
        (2, "@TGS#1"): group_chat,
    }
    assert await s.get_entries(APP_A, "u1", []) == {}

    # Rewritten whole; an entry with no mark and no group is removed.
    marked_alice = ContactEntry(1, "alice", standard_mark=4, updated_ms=11)
    await s.put_entries(APP_A, "u1", [marked_alice, ContactEntry(1, "bob", updated_ms=12)])
    assert await s.list_entries(APP_A, "u1") == [marked_alice, group_chat]
    assert await s.list_entries(APP_A, "u2") == [
        ContactEntry(1, "alice", standard_mark=2, updated_ms=1)
    ]
    assert [e.peer for e in await s.list_entries(APP_B, "u1")] == ["zed"]
    # Removing what is not there is harmless.
    await s.put_entries(APP_A, "u3", [ContactEntry(1, "ghost")])
    assert await s.list_entries(APP_A, "u3") == []
