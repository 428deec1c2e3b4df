"""The walking skeleton: every hop real (gateway, Tansu, router, Valkey, audit, SQLite)."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from tests.conftest import AppUnderTest
from tidings_client import Ack, Client, Message, TidingsClientError

SEND_ATTEMPTS = 5

pytestmark = pytest.mark.stack


async def archived(app: AppUnderTest, conv: str) -> list[int]:
    """Every seq the archive holds for a conversation (HistoryService, paging by 500)."""
    seqs: list[int] = []
    async with grpc.aio.insecure_channel(app.stack.grpc_addr("audit")) as channel:
        stub = history_pb2_grpc.HistoryServiceStub(channel)
        while True:
            reply = await stub.Sync(
                history_pb2.SyncRequest(
                    sdkappid=app.sdkappid,
                    conversation=conv,
                    after_seq=seqs[-1] if seqs else 0,
                    limit=500,
                )
            )
            seqs.extend(m.seq for m in reply.messages)
            if reply.complete:
                return seqs


async def collect(client: Client, count: int, timeout: float = 60.0) -> list[Message]:
    got: list[Message] = []

    async def run() -> None:
        async for m in client.messages():
            got.append(m)
            if len(got) == count:
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def test_rest_send_then_roam(app: AppUnderTest) -> None:
    await app.import_accounts("alice", "bob")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": "alice",
            "To_Account": "bob",
            "MsgRandom": 1287657,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}],
        },
    )
    assert sent["ActionStatus"] == "OK"
    assert sent["ErrorCode"] == 0
    assert sent["MsgSeq"] == 1
    assert sent["MsgKey"]

    async def roam() -> dict[str, object] | None:
        reply = await app.rest(
            "openim",
            "admin_getroammsg",
            {
                "Operator_Account": "alice",
                "Peer_Account": "bob",
                "MaxCnt": 100,
                "MinTime": int(time.time()) - 60,
                "MaxTime": int(time.time()) + 1,
            },
        )
        return reply if reply["MsgCnt"] == 1 else None

    reply = await roam()
    assert reply is not None
    msg = reply["MsgList"][0]  # type: ignore[index]
    assert msg["MsgKey"] == sent["MsgKey"]
    assert msg["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}]
    assert (msg["From_Account"], msg["To_Account"]) == ("alice", "bob")


async def send_until_acked(client: Client, to: str, text: str) -> Ack:
    """Send, and after a gateway timeout (the router lagging on a loaded machine) send again
    with the same client_msg_id: dedupe gives back the original seq, as the protocol says."""
    msg_id = uuid.uuid4().hex
    for _ in range(SEND_ATTEMPTS - 1):
        try:
            return await client.send(to=to, text=text, client_msg_id=msg_id, timeout=120)
        except TidingsClientError as err:
            if err.code != ErrorCode.REST_TIMEOUT:
                raise
    return await client.send(to=to, text=text, client_msg_id=msg_id, timeout=120)


async def test_two_clients_exchange_2000_messages(app: AppUnderTest) -> None:
    """Issue #5: two clients exchange 2,000 messages (1,000 each way, all in flight at once);
    each is received exactly once, in order, with contiguous seqs equal to the acks. Timeouts
    are generous: a loaded 2-core machine runs this too."""
    await app.import_accounts("ann", "ben")
    ann = Client(app.stack.ws_url, app.sdkappid, "ann", app.sig("ann"))
    ben = Client(app.stack.ws_url, app.sdkappid, "ben", app.sig("ben"))
    await ann.connect()
    await ben.connect()
    n = 1000
    try:
        ann_got = asyncio.create_task(collect(ann, n, timeout=300))
        ben_got = asyncio.create_task(collect(ben, n, timeout=300))
        ann_acks, ben_acks = await asyncio.gather(
            asyncio.gather(*(send_until_acked(ann, "ben", f"a{i}") for i in range(n))),
            asyncio.gather(*(send_until_acked(ben, "ann", f"b{i}") for i in range(n))),
        )
        from_ben, from_ann = await ann_got, await ben_got
        # Exactly once: nothing comes after the n-th message.
        for c in (ann, ben):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(c.messages().__anext__(), 2.0)
    finally:
        await ann.close()
        await ben.close()

    # Each side receives the other's messages exactly once, in send order.
    assert [m.text for m in from_ann] == [f"a{i}" for i in range(n)]
    assert [m.text for m in from_ben] == [f"b{i}" for i in range(n)]
    # Delivered seqs equal the acks the sender got.
    assert [m.seq for m in from_ann] == [a.seq for a in ann_acks]
    assert [m.seq for m in from_ben] == [a.seq for a in ben_acks]
    # One conversation, seqs contiguous from 1 across both directions.
    all_seqs = sorted(a.seq for a in (*ann_acks, *ben_acks))
    assert all_seqs == list(range(1, 2 * n + 1))
    conv = conversation.c2c("ann", "ben")

    async def all_archived() -> bool:
        return await archived(app, conv) == list(range(1, 2 * n + 1))

    assert await all_archived()


async def test_same_client_msg_id_twice_is_one_message(app: AppUnderTest) -> None:
    await app.import_accounts("cat", "dan")
    cat = Client(app.stack.ws_url, app.sdkappid, "cat", app.sig("cat"))
    dan = Client(app.stack.ws_url, app.sdkappid, "dan", app.sig("dan"))
    await cat.connect()
    await dan.connect()
    try:
        first = await cat.send(to="dan", text="once", client_msg_id="fixed-id-1")
        again = await cat.send(to="dan", text="once", client_msg_id="fixed-id-1")
        after = await cat.send(to="dan", text="next")
        got = await collect(dan, 2)
    finally:
        await cat.close()
        await dan.close()
    assert first.seq == again.seq == 1
    assert again.duplicate
    assert first.msg_key == again.msg_key
    assert after.seq == 2
    assert [m.seq for m in got] == [1, 2]
    conv = conversation.c2c("cat", "dan")
    assert await _seqs_are(app, conv, [1, 2])


async def _seqs_are(app: AppUnderTest, conv: str, want: list[int]) -> bool:
    return await archived(app, conv) == want


async def test_offline_recipient_syncs_on_connect(app: AppUnderTest) -> None:
    await app.import_accounts("eve", "fay")
    eve = Client(app.stack.ws_url, app.sdkappid, "eve", app.sig("eve"))
    await eve.connect()
    try:
        acks = [await eve.send(to="fay", text=f"m{i}") for i in range(5)]
    finally:
        await eve.close()
    fay = Client(app.stack.ws_url, app.sdkappid, "fay", app.sig("fay"))
    await fay.connect()
    try:

        async def synced() -> list[Message]:
            got = await fay.sync("eve")
            return got if len(got) == 5 else []

        got = await synced()
    finally:
        await fay.close()
    assert [m.seq for m in got] == [a.seq for a in acks]
    assert [m.text for m in got] == [f"m{i}" for i in range(5)]
