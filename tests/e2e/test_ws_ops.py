"""Client operations: recall within the window, the conversation list with unread counts,
presence, deleting a conversation."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app
from tidings_client import Client, Message, TidingsClientError

pytestmark = pytest.mark.stack


async def first_message(c: Client) -> Message:
    return await asyncio.wait_for(c.messages().__anext__(), 20)


@pytest.mark.parametrize("encoding", ["json", "proto"])
async def test_sender_recalls_within_window_and_peer_is_told(
    app: AppUnderTest, encoding: str
) -> None:
    await app.import_accounts("rx", "ry")
    rx, ry = await app.connect("rx", encoding), await app.connect("ry", encoding)
    try:
        await rx.send(to="ry", text="oops")
        # At once: the gateway waits for a just-delivered message to reach the archive.
        got = await first_message(ry)
        with pytest.raises(TidingsClientError) as err:
            await ry.recall(got)
        assert err.value.code == ErrorCode.MSG_NOT_FOUND
        await rx.recall(got)
        change = await asyncio.wait_for(ry.changes().__anext__(), 20)
        assert (change.kind, change.seq) == ("recall", got.seq)
        with pytest.raises(TidingsClientError) as err:
            await rx.recall(got)
        assert err.value.code == ErrorCode.MSG_ALREADY_RECALLED
    finally:
        await rx.close()
        await ry.close()


async def test_racing_recalls_one_wins(app: AppUnderTest) -> None:
    """Two devices recall the same message at once, before the archive marks it recalled: the
    router lets exactly one through, and the peer is told once."""
    await app.import_accounts("qa", "qb")
    qa1, qa2, qb = (
        await app.connect("qa"),
        await app.connect("qa", platform="iPad"),
        await app.connect("qb"),
    )
    try:
        await qa1.send(to="qb", text="twice")
        got = await first_message(qb)
        results = await asyncio.gather(qa1.recall(got), qa2.recall(got), return_exceptions=True)
        refused = [r for r in results if isinstance(r, TidingsClientError)]
        assert len(refused) == 1 and refused[0].code == ErrorCode.MSG_ALREADY_RECALLED, results
        change = await asyncio.wait_for(qb.changes().__anext__(), 20)
        assert (change.kind, change.seq) == ("recall", got.seq)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(qb.changes().__anext__(), 1.5)
    finally:
        await asyncio.gather(qa1.close(), qa2.close(), qb.close())


async def test_recall_window_closes(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, recall_window_s=1)
    await app.import_accounts("wa", "wb")
    wa, wb = await app.connect("wa"), await app.connect("wb")
    try:
        await wa.send(to="wb", text="too late")
        got = await first_message(wb)
        await asyncio.sleep(1.5)
        with pytest.raises(TidingsClientError) as err:
            await wa.recall(got)
        assert err.value.code == ErrorCode.MSG_RECALL_TIMEOUT
    finally:
        await wa.close()
        await wb.close()


@pytest.mark.parametrize("encoding", ["json", "proto"])
async def test_conversations_presence_and_delete(stack: Stack, encoding: str) -> None:
    app = await new_app(stack, user_status=True)
    await app.import_accounts("ca", "cb", "cc")
    ca, cb = await app.connect("ca", encoding), await app.connect("cb", encoding)
    try:
        for i in range(3):
            await cb.send(to="ca", text=f"b{i}")
        cc = await app.connect("cc")
        await cc.send(to="ca", text="from c")
        await cc.close()

        async def listed() -> list[dict] | None:  # type: ignore[type-arg]
            items = await ca.conversations()
            ok = len(items) == 2 and {i["unread"] for i in items} == {3, 1}
            return items if ok else None

        items = await listed()
        assert items[0]["peer"] == "cc"
        assert items[0]["last_message"]["elements"][0]["MsgContent"]["Text"] == "from c"
        assert items[1]["peer"] == "cb"

        async def cc_offline() -> bool:
            return (await ca.presence(["cb", "cc", "nobody"])) == {
                "cb": "Online",
                "cc": "Offline",
                "nobody": "Offline",
            }

        assert await eventually(cc_offline)
        await ca.delete_conversation(peer="cb")
        items = await ca.conversations()
        assert [i["peer"] for i in items] == ["cc"]
    finally:
        await ca.close()
        await cb.close()
