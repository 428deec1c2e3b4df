"""The feature settings of Tencent's console through the stack: history retention (what history
returns, and one change a calendar month), the conversation pull count, and the group types
whose messages have read receipts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_GROUP, Message, MsgElement
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api, eventually, new_app
from tests.e2e.test_group_messages import make_group
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack

DAY_MS = 86_400_000
GROUP = "group_open_http_svc"


def stored(app: AppUnderTest, conv: str, seq: int, age_days: int, group: str = "") -> Message:
    return Message(
        schema_version=1,
        sdkappid=app.sdkappid,
        conversation=conv,
        seq=seq,
        server_time_ms=int(time.time() * 1000) - age_days * DAY_MS,
        sender="ra",
        to_user="" if group else "rb",
        group_id=group,
        chat_type=CHAT_TYPE_GROUP if group else 0,
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
    )


async def test_a_shortened_retention_hides_older_history(app: AppUnderTest) -> None:
    await app.put_accounts("ra", "rb")
    group_id = await make_group(app, "ra", ["rb"], kind="Work")
    c2c, grp = conversation.c2c("ra", "rb"), conversation.group(group_id)
    # Three days old and new, kept 30 days by the archive: only the retention hides them.
    async with app.stores() as stores:
        await stores.messages.append([stored(app, c2c, 1, 3), stored(app, c2c, 2, 0)], 30 * 86400)
        await stores.messages.append(
            [stored(app, grp, 1, 3, group_id), stored(app, grp, 2, 0, group_id)], 30 * 86400
        )
    reader = await app.connect("rb")

    async def visible() -> tuple[list[int], list[int], list[int]]:
        roamed = [m["MsgSeq"] for m in await app.roam("ra", "rb")]
        synced = [m.seq for m in await reader.sync(peer="ra")]
        page = await app.rest(
            GROUP, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 2}
        )
        whole = [m["MsgSeq"] for m in page["RspMsgList"] if m["MsgBody"]]
        return sorted(roamed), synced, sorted(whole)

    try:
        assert await visible() == ([1, 2], [1, 2], [1, 2])
        path = f"/apps/{app.sdkappid}/messaging"
        shown = (await admin_api(app.stack, "GET", path)).json()
        assert shown["history_retention_days"] == 7
        assert shown["history_retention_next_change"] is None
        changed = await admin_api(app.stack, "PATCH", path, json={"history_retention_days": 2})
        assert changed.status_code == 200, changed.text
        next_change = changed.json()["history_retention_next_change"]
        assert next_change is not None and next_change.endswith("-01")

        async def only_the_new() -> bool:
            return await visible() == ([2], [2], [2])

        # Audit's app cache follows im.config: asynchronous by design.
        await eventually(only_the_new, timeout=15)

        again = await admin_api(app.stack, "PATCH", path, json={"history_retention_days": 5})
        assert again.status_code == 409
        error = again.json()["error"]
        assert error["code"] == "retention_changed_this_month" and next_change in error["message"]
        # Saving the days in force again (the console sends every field) is no change.
        same = await admin_api(app.stack, "PATCH", path, json={"history_retention_days": 2})
        assert same.status_code == 200
        too_long = await admin_api(app.stack, "PATCH", path, json={"history_retention_days": 361})
        assert too_long.status_code == 422
    finally:
        await reader.close()


async def test_the_conversation_pull_count_bounds_a_pull(stack: Stack) -> None:
    app = await new_app(stack, conversation_pull_count=2)
    await app.put_accounts("cu", "p1", "p2", "p3")
    for peer in ("p1", "p2", "p3"):
        body: dict[str, Any] = {
            "SyncOtherMachine": 2,
            "From_Account": "cu",
            "To_Account": peer,
            "MsgRandom": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        }
        assert (await app.rest("openim", "sendmsg", body))["ErrorCode"] == 0
    user = await app.connect("cu")
    try:
        assert len(await user.conversations(limit=500)) == 2
        assert len(await user.conversations(limit=1)) == 1
    finally:
        await user.close()
    first = await app.rest("recentcontact", "get_list", {"From_Account": "cu", "StartIndex": 0})
    assert (len(first["SessionItem"]), first["CompleteFlag"], first["StartIndex"]) == (2, 0, 2)
    rest = await app.rest("recentcontact", "get_list", {"From_Account": "cu", "StartIndex": 2})
    assert (len(rest["SessionItem"]), rest["CompleteFlag"]) == (1, 1)


async def test_read_receipts_only_for_the_enabled_group_types(stack: Stack) -> None:
    app = await new_app(stack, group_receipt_types=["Work"])
    await app.put_accounts("go", "g1")
    work = await make_group(app, "go", ["g1"], kind="Work")
    public = await make_group(app, "go", ["g1"], kind="Public")
    owner = await app.connect("go")
    try:
        asked = await owner.send(group=work, text="read me", need_receipt=True)
        with pytest.raises(TidingsClientError) as refused:
            await owner.send(group=public, text="read me", need_receipt=True)
        assert refused.value.code == ErrorCode.GROUP_NO_PERMISSION
    finally:
        await owner.close()
    seqs = {"MsgSeqList": [{"MsgSeq": asked.seq}]}
    receipt = {"From_Account": "g1", **seqs}
    read = await app.rest(GROUP, "group_msg_receipt", {"GroupId": work, **receipt})
    assert read["ErrorCode"] == 0, read
    for command, body in (
        ("group_msg_receipt", receipt),
        ("get_group_msg_receipt", seqs),
        ("get_group_msg_receipt_detail", {"MsgSeq": asked.seq, "Filter": 0}),
    ):
        reply = await app.rest(GROUP, command, {"GroupId": public, **body})
        assert reply["ErrorCode"] == ErrorCode.GROUP_NO_PERMISSION, (command, reply)
        assert "not enabled for Public groups" in reply["ErrorInfo"]
    counts = await app.rest(GROUP, "get_group_msg_receipt", {"GroupId": work, **seqs})
    assert counts["GroupMsgReceiptList"][0]["ReadNum"] == 1


async def test_default_add_friend_verification_and_blocklisting_that_keeps_friends(
    stack: Stack,
) -> None:
    app = await new_app(
        stack, default_allow_type="AllowType_Type_DenyAny", blocklist_keeps_friendship=True
    )
    await app.put_accounts("fa", "fb", "open")
    opened = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": "open",
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_AllowAny"}
            ],
        },
    )
    assert opened["ErrorCode"] == 0, opened

    async def add(peer: str) -> int:
        body = {
            "From_Account": "fa",
            "AddFriendItem": [{"To_Account": peer, "AddSource": "AddSource_Type_Web"}],
        }
        reply = await app.rest("sns", "friend_add", body)
        code: int = reply["ResultItem"][0]["ResultCode"]
        return code

    # fb set no AllowType: the app's default (DenyAny) applies; open's own choice wins.
    assert (await add("fb"), await add("open")) == (30516, 0)
    blocked = await app.rest(
        "sns", "black_list_add", {"From_Account": "fa", "To_Account": ["open"]}
    )
    assert blocked["ResultItem"][0]["ResultCode"] == 0
    check = {"From_Account": "fa", "To_Account": ["open"], "CheckType": "CheckResult_Type_Both"}
    relation = (await app.rest("sns", "friend_check", check))["InfoItem"][0]["Relation"]
    assert relation == "CheckResult_Type_BothWay"
