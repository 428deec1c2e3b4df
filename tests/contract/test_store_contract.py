"""The store contract: what every adapter must do, whatever the backend."""

from __future__ import annotations

import time

from services.common.pb.tidings.v1.envelope_pb2 import Message, MsgElement
from services.common.store.conversations import C2C, LastMessage
from services.common.store.groups import Group
from services.common.store.ports import Account, App, AppKey, ArchiveBatch, Received, Stores

APP_A = 1400000101
APP_B = 1400000102


def _msg(app: int, conv: str, seq: int, t_ms: int | None = None) -> Message:
    return Message(
        schema_version=1,
        sdkappid=app,
        conversation=conv,
        seq=seq,
        server_time_ms=t_ms if t_ms is not None else int(time.time() * 1000),
        sender="alice",
        to_user="bob",
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
    )


async def test_apps_round_trip(stores: Stores) -> None:
    app = App(APP_A, "demo", "Developer", [AppKey("k" * 64)], settings={"x": 1})
    await stores.apps.create_app(app)
    got = await stores.apps.get_app(APP_A)
    assert got == app
    app.keys.append(AppKey("j" * 64, valid_until=123))
    await stores.apps.save_app(app)
    got = await stores.apps.get_app(APP_A)
    assert got is not None and [k.key for k in got.keys] == ["k" * 64, "j" * 64]
    assert await stores.apps.get_app(APP_B) is None
    assert [a.sdkappid for a in await stores.apps.list_apps()] == [APP_A]


async def test_accounts_are_per_app(stores: Stores) -> None:
    await stores.directory.upsert_accounts(APP_A, [Account("u1", "One"), Account("u2")])
    await stores.directory.upsert_accounts(APP_B, [Account("u1", "Other")])
    got = await stores.directory.get_accounts(APP_A, ["u1", "u2", "u3"])
    assert set(got) == {"u1", "u2"} and got["u1"].nick == "One"
    assert await stores.directory.count_accounts(APP_A) == 2
    await stores.directory.upsert_accounts(APP_A, [Account("u1", "Renamed")])
    assert (await stores.directory.get_accounts(APP_A, ["u1"]))["u1"].nick == "Renamed"
    await stores.directory.delete_accounts(APP_A, ["u1"])
    assert set(await stores.directory.get_accounts(APP_A, ["u1", "u2"])) == {"u2"}
    assert (await stores.directory.get_accounts(APP_B, ["u1"]))["u1"].nick == "Other"


async def test_append_is_idempotent_by_conversation_and_seq(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.messages.append([_msg(APP_A, conv, s) for s in (1, 2, 3)], ttl_s=3600)
    await stores.messages.append([_msg(APP_A, conv, s) for s in (2, 3, 4)], ttl_s=3600)
    got = await stores.messages.after(APP_A, conv, 0, 100)
    assert [m.seq for m in got] == [1, 2, 3, 4]
    assert await stores.messages.max_seq(APP_A, conv) == 4
    assert await stores.messages.max_seq(APP_B, conv) == 0
    assert await stores.messages.after(APP_B, conv, 0, 100) == []


async def test_after_pages_in_seq_order(stores: Stores) -> None:
    conv = "group:g1"
    await stores.messages.append([_msg(APP_A, conv, s) for s in range(1, 11)], ttl_s=3600)
    page = await stores.messages.after(APP_A, conv, 3, 4)
    assert [m.seq for m in page] == [4, 5, 6, 7]
    assert page[0].elements[0].msg_type == "TIMTextElem"


async def test_by_time_and_get(stores: Stores) -> None:
    conv = "c2c:a:b"
    base = int(time.time() * 1000)
    await stores.messages.append(
        [_msg(APP_A, conv, s, base + s * 1000) for s in range(1, 6)], ttl_s=3600
    )
    got = await stores.messages.by_time(APP_A, conv, base + 2000, base + 4000, 0, 100)
    assert [m.seq for m in got] == [2, 3, 4]
    got = await stores.messages.by_time(APP_A, conv, base, base + 10_000, 3, 100)
    assert [m.seq for m in got] == [4, 5]
    got = await stores.messages.get(APP_A, conv, [5, 1, 9])
    assert sorted(m.seq for m in got) == [1, 5]


async def test_by_time_desc_pages_backwards(stores: Stores) -> None:
    conv = "c2c:a:c"
    base = int(time.time() * 1000)
    await stores.messages.append(
        [_msg(APP_A, conv, s, base + s * 1000) for s in range(1, 8)], ttl_s=3600
    )
    page = await stores.messages.by_time_desc(APP_A, conv, base, base + 6000, 0, 3)
    assert [m.seq for m in page] == [6, 5, 4]
    page = await stores.messages.by_time_desc(APP_A, conv, base, base + 6000, 4, 3)
    assert [m.seq for m in page] == [3, 2, 1]


async def test_rewrite_and_unread_counts(stores: Stores) -> None:
    conv = "c2c:a:b"
    msgs = [_msg(APP_A, conv, s) for s in range(1, 6)]
    msgs[1].sender = "bob"
    msgs[2].sender = "bob"
    msgs[3].sender = "bob"
    msgs[3].silent = True
    await stores.messages.append(msgs, ttl_s=3600)
    # alice reads from seq 0: bob's 2 and 3 count; 4 is silent; alice's own do not count.
    assert await stores.messages.count_unread(APP_A, conv, 0, "alice") == 2
    assert await stores.messages.count_unread(APP_A, conv, 2, "alice") == 1
    assert await stores.messages.count_unread(APP_B, conv, 0, "alice") == 0
    recalled = msgs[2]
    recalled.recalled = True
    await stores.messages.rewrite([recalled], ttl_s=3600)
    assert await stores.messages.count_unread(APP_A, conv, 0, "alice") == 1
    got = await stores.messages.get(APP_A, conv, [3])
    assert got[0].recalled
    # A deleted message (delete_group_msg_by_sender) no longer counts either.
    deleted = msgs[1]
    deleted.deleted = True
    await stores.messages.rewrite([deleted], ttl_s=3600)
    assert await stores.messages.count_unread(APP_A, conv, 0, "alice") == 0
    assert [m.seq for m in await stores.messages.after(APP_A, conv, 0, 10)] == [1, 2, 3, 4, 5]


async def test_list_accounts_pages_in_user_order(stores: Stores) -> None:
    users = ["u05", "u01", "u04", "u02", "u03"]
    await stores.directory.upsert_accounts(APP_A, [Account(u) for u in users])
    await stores.directory.upsert_accounts(APP_B, [Account("u00"), Account("u06")])
    assert await stores.directory.list_accounts(APP_A, "", 2) == ["u01", "u02"]
    assert await stores.directory.list_accounts(APP_A, "u02", 2) == ["u03", "u04"]
    assert await stores.directory.list_accounts(APP_A, "u04", 2) == ["u05"]
    assert await stores.directory.list_accounts(APP_A, "u05", 2) == []
    await stores.directory.delete_accounts(APP_A, ["u03"])
    assert await stores.directory.list_accounts(APP_A, "", 10) == ["u01", "u02", "u04", "u05"]
    assert await stores.directory.list_accounts(APP_B, "", 10) == ["u00", "u06"]


async def test_archive_writes_messages_as_received_lists_and_group_activity(
    stores: Stores,
) -> None:
    """Audit's one write per run of messages: the bytes stored are those received, each
    party's conversation list moves, and a group's activity only grows; a replay is
    harmless."""
    conv = "c2c:alice:bob"
    msgs = [_msg(APP_A, conv, s) for s in (1, 2)]
    raw = [m.SerializeToString() for m in msgs]
    await stores.groups.create_group(APP_A, Group(group_id="g1", group_type="Public", name="g"), [])
    batch = ArchiveBatch(
        messages=[Received(m, r, 3600) for m, r in zip(msgs, raw, strict=True)],
        last=[
            (APP_A, LastMessage("alice", conv, C2C, "bob", 2, msgs[1].server_time_ms)),
            (APP_A, LastMessage("bob", conv, C2C, "alice", 2, msgs[1].server_time_ms)),
        ],
        group_activity={(APP_A, "g1"): (1_700_000_000, 5)},
    )
    await stores.messages.archive(batch)
    await stores.messages.archive(batch)
    got = await stores.messages.after(APP_A, conv, 0, 10)
    assert [m.SerializeToString() for m in got] == raw
    listed = await stores.conversations.list_for_user(APP_A, "bob")
    assert [(s.conversation, s.last_seq) for s in listed] == [(conv, 2)]
    older = ArchiveBatch(messages=[], last=[], group_activity={(APP_A, "g1"): (1, 2)})
    await stores.messages.archive(older)
    group = (await stores.groups.get_groups(APP_A, ["g1"]))["g1"]
    assert (group.last_msg_time, group.next_msg_seq) == (1_700_000_000, 5)


async def test_unread_counts_within_bounds(stores: Stores) -> None:
    conv = "c2c:alice:bob"
    await stores.messages.append([_msg(APP_A, conv, s) for s in range(1, 7)], ttl_s=3600)
    assert await stores.messages.count_unread(APP_A, conv, 1, "bob") == 5
    assert await stores.messages.count_unread(APP_A, conv, 1, "bob", before_seq=4) == 2
    assert await stores.messages.count_unread(APP_A, conv, 1, "alice") == 0
