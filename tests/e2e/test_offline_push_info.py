"""Tencent's OfflinePushInfo through the running stack: sent with sendmsg, batchsendmsg,
send_group_msg, im_push and a WebSocket send, it is on the stored message (recent history right
after the ack, and the archive) as the canonical JSON the push service reads; malformed, the
send is refused with the command's code. And the badge a client reports lands in Redis."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis

from services.common import conversation
from services.common.errors import ErrorCode
from services.common.offline_push import OfflinePush
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.push_badge import MAX_BADGE, badge_key
from tests.conftest import AppUnderTest, eventually
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack

INFO: dict[str, Any] = {
    "PushFlag": 0,
    "Title": "New order",
    "Desc": "Order 42 is ready",
    "Ext": '{"order":42}',
    "AndroidInfo": {"HuaWeiChannelID": "orders", "VIVOClassification": 1, "Unknown": "x"},
    "ApnsInfo": {"Sound": "ding.caf", "BadgeMode": 1, "SubTitle": "pickup"},
}
# What is kept: Tencent's names, the unknown key left out, keys sorted.
CANONICAL = (
    '{"AndroidInfo":{"HuaWeiChannelID":"orders","VIVOClassification":1},'
    '"ApnsInfo":{"BadgeMode":1,"Sound":"ding.caf","SubTitle":"pickup"},'
    '"Desc":"Order 42 is ready","Ext":"{\\"order\\":42}","PushFlag":0,"Title":"New order"}'
)


def text(words: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": words}}]


async def history(app: AppUnderTest, conv: str) -> list[Message]:
    """The conversation as HistoryService serves it (recent history, then the archive)."""
    async with grpc.aio.insecure_channel(app.stack.grpc_addr("audit")) as channel:
        stub = history_pb2_grpc.HistoryServiceStub(channel)
        reply = await stub.Sync(
            history_pb2.SyncRequest(sdkappid=app.sdkappid, conversation=conv, limit=100)
        )
    return list(reply.messages)


async def archived(app: AppUnderTest, conv: str, seq: int) -> Message:
    """The message once the audit service has archived it (archiving follows the ack)."""

    async def read() -> Message | None:
        async with app.stores() as s:
            found = await s.messages.get(app.sdkappid, conv, [seq])
        return found[0] if found else None

    found: Message = await eventually(read)
    return found


async def carried(app: AppUnderTest, conv: str, seq: int) -> str:
    """The offline_push_json of the message at `seq`: the same in recent history (readable at
    the ack) and in the archive."""
    recent = {m.seq: m for m in await history(app, conv)}[seq]
    assert (await archived(app, conv, seq)).offline_push_json == recent.offline_push_json
    return recent.offline_push_json


async def test_sendmsg_carries_the_canonical_offline_push_info(app: AppUnderTest) -> None:
    await app.import_accounts("op_a", "op_b")
    reply = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "op_a",
            "To_Account": "op_b",
            "MsgRandom": 11,
            "MsgBody": text("ready"),
            "OfflinePushInfo": INFO,
        },
    )
    assert reply["ErrorCode"] == 0, reply
    stored = await carried(app, conversation.c2c("op_a", "op_b"), reply["MsgSeq"])
    assert stored == CANONICAL
    push = OfflinePush.from_json(stored)
    assert (push.title, push.desc, push.ext, push.counts_badge) == (
        "New order",
        "Order 42 is ready",
        '{"order":42}',
        False,
    )
    assert push.extras_for("huawei") == {"huawei_channel_id": "orders"}
    # Without OfflinePushInfo, none is carried.
    plain = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": "op_a", "To_Account": "op_b", "MsgRandom": 12, "MsgBody": text("hi")},
    )
    assert await carried(app, conversation.c2c("op_a", "op_b"), plain["MsgSeq"]) == ""


async def test_batchsendmsg_and_send_group_msg_carry_it(app: AppUnderTest) -> None:
    await app.import_accounts("ob_a", "ob_b", "ob_c")
    reply = await app.rest(
        "openim",
        "batchsendmsg",
        {
            "From_Account": "ob_a",
            "To_Account": ["ob_b", "ob_c"],
            "MsgRandom": 21,
            "MsgBody": text("batch"),
            "OfflinePushInfo": {"PushFlag": 1},
        },
    )
    assert reply["ErrorCode"] == 0, reply
    for peer in ("ob_b", "ob_c"):
        [m] = await history(app, conversation.c2c("ob_a", peer))
        assert m.offline_push_json == '{"PushFlag":1}'
        assert OfflinePush.from_json(m.offline_push_json).push_disabled
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "ob_a", "Type": "Public", "Name": "g"},
    )
    group_id = created["GroupId"]
    sent = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {
            "GroupId": group_id,
            "From_Account": "ob_a",
            "Random": 22,
            "MsgBody": text("to the group"),
            "OfflinePushInfo": {"Title": "g", "ApnsInfo": {"Title": "G on iOS"}},
        },
    )
    assert sent["ErrorCode"] == 0, sent
    stored = await carried(app, conversation.group(group_id), sent["MsgSeq"])
    assert OfflinePush.from_json(stored).title_for("apns") == "G on iOS"


async def test_im_push_carries_it_to_every_message(app: AppUnderTest) -> None:
    await app.import_accounts("oi_a", "oi_b")
    reply = await app.rest(
        "all_member_push",
        "im_push",
        {"MsgRandom": 31, "MsgBody": text("sale"), "OfflinePushInfo": {"Desc": "50% off"}},
    )
    assert reply["ErrorCode"] == 0, reply

    async def delivered() -> bool:
        for user in ("oi_a", "oi_b"):
            if not await history(app, conversation.c2c("administrator", user)):
                return False
        return True

    assert await eventually(delivered)
    for user in ("oi_a", "oi_b"):
        [m] = await history(app, conversation.c2c("administrator", user))
        assert m.offline_push_json == '{"Desc":"50% off"}'


@pytest.mark.parametrize("encoding", ["json", "proto"])
async def test_a_websocket_send_carries_it(app: AppUnderTest, encoding: str) -> None:
    await app.import_accounts("ow_a", "ow_b")
    c = await app.connect("ow_a", encoding=encoding)
    try:
        ack = await c.send(to="ow_b", text="ping", offline_push=INFO)
        assert await carried(app, ack.conversation, ack.seq) == CANONICAL
        with pytest.raises(TidingsClientError) as err:
            await c.send(to="ow_b", text="x", offline_push={"AndroidInfo": {"OPPONotifyLevel": 5}})
        assert err.value.code == ErrorCode.WS_BAD_FRAME
        assert err.value.message == (
            "offline_push.AndroidInfo.OPPONotifyLevel must be one of 1, 2, 16"
        )
        assert [m.seq for m in await history(app, ack.conversation)] == [ack.seq]
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("service", "command", "request_body", "code", "info"),
    [
        (
            "openim",
            "sendmsg",
            {"To_Account": "oe_b", "OfflinePushInfo": {"Title": 1}},
            ErrorCode.OPENIM_JSON_FIELDS,
            "OfflinePushInfo.Title must be a string",
        ),
        (
            "openim",
            "batchsendmsg",
            {"To_Account": ["oe_b"], "OfflinePushInfo": "push"},
            ErrorCode.OPENIM_JSON_FIELDS,
            "OfflinePushInfo must be an object",
        ),
        (
            "all_member_push",
            "im_push",
            {"OfflinePushInfo": {"PushFlag": 2}},
            ErrorCode.OPENIM_JSON,
            "OfflinePushInfo.PushFlag must be one of 0, 1",
        ),
        (
            "openim",
            "sendmsg",
            {"To_Account": "oe_b", "OfflinePushInfo": {"Desc": "x" * 9000}},
            ErrorCode.OPENIM_JSON_FIELDS,
            "OfflinePushInfo is over 8192 bytes",
        ),
    ],
)
async def test_a_malformed_offline_push_info_refuses_the_send(
    app: AppUnderTest,
    service: str,
    command: str,
    request_body: dict[str, Any],
    code: ErrorCode,
    info: str,
) -> None:
    await app.import_accounts("oe_a", "oe_b")
    body = {"From_Account": "oe_a", "MsgRandom": 41, "MsgBody": text("x"), **request_body}
    reply = await app.rest(service, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("FAIL", code, info)
    assert await history(app, conversation.c2c("oe_a", "oe_b")) == []


async def test_send_group_msg_refuses_it_with_10004(app: AppUnderTest) -> None:
    await app.import_accounts("og_a")
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "og_a", "Type": "Public", "Name": "g"},
    )
    reply = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {
            "GroupId": created["GroupId"],
            "Random": 1,
            "MsgBody": text("x"),
            "OfflinePushInfo": {"ApnsInfo": {"BadgeMode": "1"}},
        },
    )
    assert (reply["ErrorCode"], reply["ErrorInfo"]) == (
        ErrorCode.GROUP_INVALID_PARAM,
        "OfflinePushInfo.ApnsInfo.BadgeMode must be an integer",
    )


async def test_set_badge_stores_the_reported_unread_total(app: AppUnderTest) -> None:
    await app.import_accounts("obg")
    c = await app.connect("obg")
    redis = aioredis.from_url(app.stack.redis_url)
    try:
        await c.set_badge(7)
        key = badge_key(app.sdkappid, "obg")
        assert await redis.get(key) == b"7"
        # It expires on its own: a user who stops using the app leaves nothing behind.
        assert 0 < await redis.ttl(key) <= 30 * 24 * 3600
        await c.set_badge(0)
        assert await redis.get(key) == b"0"
        for bad in (-1, MAX_BADGE + 1, "3", None, True):
            with pytest.raises(TidingsClientError) as err:
                await c.request({"op": "set_badge", "count": bad})
            assert err.value.code == ErrorCode.WS_BAD_FRAME
            assert err.value.message == "'count': a badge count is an integer from 0 to 99999"
        assert await redis.get(key) == b"0"
    finally:
        await redis.aclose()
        await c.close()
