"""Read receipts and read marks through the running stack with SDK clients: C2C receipts to
the peer and read marks to the reader's other devices, per-message group receipts (groups of
at most 200 members) with read and unread member lists, and unread counts in the
conversation list for C2C and group conversations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_group_messages import make_group
from tidings_client import Client, Message, TidingsClientError

pytestmark = pytest.mark.stack

WAIT_S = 30.0
# Tencent's group read receipts are off until the console enables them per group type.
RECEIPTS_ON = {"group_receipt_types": ["Work", "Public", "Meeting"]}


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    return await new_app(stack, **RECEIPTS_ON)


async def receive(c: Client, count: int) -> list[Message]:
    it = c.messages()
    return [await asyncio.wait_for(it.__anext__(), WAIT_S) for _ in range(count)]


async def unread_of(c: Client, conversation: str) -> int | None:
    for item in await c.conversations():
        if item["conversation"] == conversation:
            unread: int = item["unread"]
            return unread
    return None


async def unread_becomes(
    c: Client, conversation: str, want: int, last_seq: int | None = None
) -> dict[str, Any] | None:
    """The conversation's list item if it shows `want` unread (and `last_seq` as its last
    message). The list is current as of the last ack: no waiting."""

    async def check() -> dict[str, Any] | None:
        for item in await c.conversations():
            if item["conversation"] != conversation or item["unread"] != want:
                continue
            last = item["last_message"]
            if last_seq is None or (last is not None and last["seq"] == last_seq):
                return item
        return None

    found: dict[str, Any] | None = await check()
    return found


@pytest.mark.parametrize("encoding", ["json", "proto"])
async def test_c2c_mark_read_tells_the_peer_and_other_devices(
    app: AppUnderTest, encoding: str
) -> None:
    await app.import_accounts("ra", "rb")
    ra = await app.connect("ra", encoding)
    rb_phone = await app.connect("rb", encoding)
    rb_pc = Client(app.stack.ws_url, app.sdkappid, "rb", app.sig("rb"), platform="Windows")
    await rb_pc.connect()
    try:
        acks = [await ra.send(to="rb", text=f"m{i}") for i in range(3)]
        got = await receive(rb_phone, 3)
        conv = got[-1].conversation
        assert await unread_becomes(rb_phone, conv, 3)

        assert await rb_phone.mark_read(conv, got[-1].seq) == acks[-1].seq
        receipt = await asyncio.wait_for(ra.receipts().__anext__(), WAIT_S)
        assert (receipt.conversation, receipt.reader, receipt.seq) == (conv, "rb", acks[-1].seq)
        mark = await asyncio.wait_for(rb_pc.read_marks().__anext__(), WAIT_S)
        assert (mark.conversation, mark.seq) == (conv, acks[-1].seq)
        assert await unread_of(rb_phone, conv) == 0
        # The sender's own messages were never unread for it.
        assert await unread_of(ra, conv) == 0

        # A mark below the current one changes nothing and tells no one.
        assert await rb_phone.mark_read(conv, 1) == acks[-1].seq
        await ra.send(to="rb", text="later")
        assert await unread_becomes(rb_phone, conv, 1)
    finally:
        for c in (ra, rb_phone, rb_pc):
            await c.close()


async def test_group_receipts_counts_members_and_conversation_unread(app: AppUnderTest) -> None:
    await app.import_accounts("go", "g1", "g2")
    group_id = await make_group(app, "go", ["g1", "g2"], kind="Work")
    owner, g1, g2 = [await app.connect(u) for u in ("go", "g1", "g2")]
    try:
        plain = await owner.send(group=group_id, text="no receipt asked")
        asked = await owner.send(group=group_id, text="please read", need_receipt=True)
        got = await receive(g1, 2)
        assert [m.need_receipt for m in got] == [False, True]
        conv = asked.conversation

        item = await unread_becomes(g2, conv, 2, last_seq=asked.seq)
        assert item is not None
        assert item["group"] == group_id

        await g1.mark_read(conv, got[-1].seq)
        receipt = await asyncio.wait_for(owner.receipts().__anext__(), WAIT_S)
        assert (receipt.group, receipt.seq, receipt.reader, receipt.read_count) == (
            group_id,
            asked.seq,
            "g1",
            1,
        )
        members = await owner.message_read_members(asked)
        assert (members.read, members.unread) == (["g1"], ["g2"])
        assert await unread_of(g1, conv) == 0
        assert await unread_of(g2, conv) == 2

        with pytest.raises(TidingsClientError) as err:
            await owner.message_read_members(plain)
        assert err.value.code == ErrorCode.GROUP_RECEIPT_NOT_FOUND

        await g2.mark_read(conv, asked.seq)
        receipt = await asyncio.wait_for(owner.receipts().__anext__(), WAIT_S)
        assert (receipt.reader, receipt.read_count) == ("g2", 2)
        members = await owner.message_read_members(asked)
        assert (members.read, members.unread) == (["g1", "g2"], [])
        assert await unread_of(g2, conv) == 0
    finally:
        for c in (owner, g1, g2):
            await c.close()


async def test_receipts_refused_above_200_members_and_in_live_groups(
    app: AppUnderTest,
) -> None:
    users = [f"u{i:03}" for i in range(201)]
    for batch in (users[:100], users[100:200], users[200:]):
        reply = await app.rest("im_open_login_svc", "multiaccount_import", {"Accounts": batch})
        assert reply["ErrorCode"] == 0, reply
    # A Work group: the Standard edition allows it 2,000 members.
    big = await make_group(app, users[0], users[1:], kind="Work")
    live = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": users[0], "Type": "AVChatRoom", "Name": "live"},
    )
    assert live["ErrorCode"] == 0, live
    sender = await app.connect(users[0])
    try:
        for group_id in (big, live["GroupId"]):
            if group_id != big:
                await sender.join_group(group_id)
            with pytest.raises(TidingsClientError) as err:
                await sender.send(group=group_id, text="read me", need_receipt=True)
            assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
        # Without the flag the big group takes the message.
        assert (await sender.send(group=big, text="hello all")).seq >= 1
    finally:
        await sender.close()
