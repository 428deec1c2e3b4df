"""The console feature switches through the stack, on one app: each is off by default (the
command answers Tencent's code, or our choice where Tencent names none), and works once turned
on with PATCH /admin/apps/{id}/messaging."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, admin_api
from tests.e2e.test_avchatroom import live_group
from tests.e2e.test_group_messages import make_group
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack

GROUPS = "group_open_http_svc"
TOPICS = "million_group_open_http_svc"
EXT = "openim_msg_ext_http_svc"
LIVE = "group_open_avchatroom_http_svc"
OFF = int(ErrorCode.GROUP_NO_PERMISSION)
TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]
WAIT_S = 20


async def switch_on(app: AppUnderTest, *switches: str) -> None:
    path = f"/apps/{app.sdkappid}/messaging"
    reply = await admin_api(app.stack, "PATCH", path, json=dict.fromkeys(switches, True))
    assert reply.status_code == 200, reply.text
    assert all(reply.json()[s] is True for s in switches)


async def code_of(app: AppUnderTest, service: str, command: str, body: dict[str, Any]) -> int:
    reply = await app.rest(service, command, body)
    assert reply["ErrorCode"] == 0 or reply["ErrorInfo"], reply
    return int(reply["ErrorCode"])


async def test_rest_switches_refuse_while_off_and_work_once_on(app: AppUnderTest) -> None:
    await app.import_accounts("fa")
    community = {"Type": "Community", "Name": "c"}
    with_topics = {**community, "SupportTopic": 1}

    assert await code_of(app, GROUPS, "create_group", community) == OFF
    assert await code_of(app, GROUPS, "import_group", community) == OFF
    await switch_on(app, "community")
    assert await code_of(app, GROUPS, "create_group", with_topics) == OFF
    assert await code_of(app, GROUPS, "import_group", community) == 0
    await switch_on(app, "community_topics")
    topical = await app.rest(GROUPS, "create_group", with_topics)
    assert topical["ErrorCode"] == 0, topical
    topic = {"GroupId": topical["GroupId"], "TopicName": "t"}
    assert await code_of(app, TOPICS, "create_topic", topic) == 0

    group_id = await make_group(app, "fa", [])
    sent = await app.rest(
        GROUPS, "send_group_msg", {"GroupId": group_id, "Random": 1, "MsgBody": TEXT}
    )
    ext = {"GroupId": group_id, "MsgSeq": sent["MsgSeq"], "OperateType": 1}
    ext["ExtensionList"] = [{"Key": "vote", "Value": "yes", "Seq": 0}]
    c2c = {"From_Account": "fa", "To_Account": "fa", "MsgKey": "1_2_3"}
    assert await code_of(app, EXT, "group_set_key_values", ext) == OFF
    assert await code_of(app, EXT, "get_key_values", c2c) == ErrorCode.MSG_INVALID_REQUEST
    await switch_on(app, "msg_extensions")
    assert await code_of(app, EXT, "group_set_key_values", ext) == 0

    broadcast = {"Random": 7, "MsgBody": TEXT}
    assert await code_of(app, GROUPS, "send_broadcast_msg", broadcast) == OFF
    await switch_on(app, "avchatroom_broadcast")
    assert await code_of(app, GROUPS, "send_broadcast_msg", broadcast) == 0

    members = {"GroupId": await live_group(app, "fa"), "Timestamp": 0}
    assert await code_of(app, LIVE, "get_members", members) == OFF
    await switch_on(app, "avchatroom_member_list")
    assert await code_of(app, LIVE, "get_members", members) == 0


async def test_ws_switches_user_status_and_deletion_sync(app: AppUnderTest) -> None:
    await app.import_accounts("wa", "wb", "wc")
    phone, laptop = await app.connect("wa"), await app.connect("wa", platform="Windows")
    try:
        with pytest.raises(TidingsClientError) as err:
            await phone.presence(["wb"])
        assert err.value.code == ErrorCode.USER_STATUS_DISABLED == 72001
        await switch_on(app, "user_status")
        assert await phone.presence(["wa", "wb"]) == {"wa": "Online", "wb": "Offline"}

        # Off: the laptop hears nothing of the first deletion; on: the first it hears of is
        # the second (notices reach it in order), so the first was never sent.
        await phone.delete_conversation(peer="wb")
        await switch_on(app, "conversation_delete_sync")
        await phone.delete_conversation(peer="wc")
        heard = await asyncio.wait_for(laptop.deleted_conversations().__anext__(), WAIT_S)
        assert heard == conversation.c2c("wa", "wc")
    finally:
        await asyncio.gather(phone.close(), laptop.close())
