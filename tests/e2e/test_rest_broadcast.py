"""send_broadcast_msg through the running stack: Tencent's example request reaches the online
members of every live group of the app, and nothing else; each error path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_avchatroom import live_group, next_message
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Broadcasts are off until the console turns them on (Tencent's default)."""
    return await new_app(stack, avchatroom_broadcast=True)


SVC = "group_open_http_svc"
DATA = '{ "type":1, "content":"hello world"}'
EXAMPLE: dict[str, Any] = {
    "From_Account": "test",
    "Random": 8912345,
    "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": DATA}}],
    "CloudCustomData": "your cloud custom data",
}


async def test_broadcast_reaches_every_live_group(app: AppUnderTest) -> None:
    await app.import_accounts("test", "host", "fan")
    live = [await live_group(app, "host") for _ in range(2)]
    public = await make_group(app, "host", ["fan"])
    fan = await app.connect("fan")
    try:
        for group_id in live:
            await fan.join_group(group_id)
        reply = await app.rest(SVC, "send_broadcast_msg", EXAMPLE)
        assert reply["ErrorCode"] == 0, reply
        assert (reply["ActionStatus"], reply["ErrorInfo"]) == ("OK", "")
        assert isinstance(reply["MsgSeq"], int) and reply["MsgSeq"] > 0
        got = [await next_message(fan) for _ in live]
        assert sorted(m.group for m in got) == sorted(live)
        for m in got:
            assert (m.sender, m.online_only) == ("test", True)
            assert m.elements == EXAMPLE["MsgBody"]
            assert m.cloud_custom_data == "your cloud custom data"
        # The Public group, where the fan is a member too, gets nothing.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fan.messages().__anext__(), 1.0)
        history = await app.rest(
            SVC, "group_msg_get_simple", {"GroupId": public, "ReqMsgNumber": 1}
        )
        assert history["RspMsgList"] == []
    finally:
        await fan.close()


async def test_broadcast_without_live_groups(stack: Stack) -> None:
    app = await new_app(stack, avchatroom_broadcast=True)
    reply = await app.rest(SVC, "send_broadcast_msg", {**EXAMPLE, "From_Account": None})
    assert reply == {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "MsgSeq": 0}


async def test_broadcast_requests_are_checked(app: AppUnderTest) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({**EXAMPLE, "From_Account": "ghost"}, ErrorCode.GROUP_ACCOUNT_NOT_FOUND),
        ({k: v for k, v in EXAMPLE.items() if k != "Random"}, ErrorCode.GROUP_INVALID_PARAM),
        ({**EXAMPLE, "Random": -1}, ErrorCode.GROUP_INVALID_PARAM),
        ({**EXAMPLE, "MsgBody": []}, ErrorCode.GROUP_INVALID_PARAM),
        ({**EXAMPLE, "CloudCustomData": 5}, ErrorCode.GROUP_INVALID_PARAM),
    ]
    for body, code in cases:
        reply = await app.rest(SVC, "send_broadcast_msg", body)
        assert reply["ErrorCode"] == code, (body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]
