"""The per-group-type settings and the follow switch through the stack, on one app: changed with
PATCH /admin/apps/{id}/messaging, they apply to the next request."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, admin_api
from tests.e2e.test_avchatroom import live_group, next_message

pytestmark = pytest.mark.stack

GROUPS = "group_open_http_svc"


async def patch(app: AppUnderTest, changes: dict[str, Any]) -> dict[str, Any]:
    reply = await admin_api(app.stack, "PATCH", f"/apps/{app.sdkappid}/messaging", json=changes)
    assert reply.status_code == 200, reply.text
    shown: dict[str, Any] = reply.json()
    return shown


async def test_settings_take_effect_at_once(app: AppUnderTest) -> None:
    await app.import_accounts("so", "sn", "sf")
    # A Work group with a message from an hour ago, and a member who joins now.
    created = int(time.time()) - 3600
    group = {"Owner_Account": "so", "Type": "Work", "Name": "w", "CreateTime": created}
    group_id = (await app.rest(GROUPS, "import_group", group))["GroupId"]
    old = {"From_Account": "so", "SendTime": created + 60, "Random": 1}
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "before"}}]
    stored = await app.rest(
        GROUPS, "import_group_msg", {"GroupId": group_id, "MsgList": [{**old, "MsgBody": body}]}
    )
    assert stored["ImportMsgResult"][0]["Result"] == 0, stored
    added = await app.rest(
        GROUPS, "add_group_member", {"GroupId": group_id, "MemberList": [{"Member_Account": "sn"}]}
    )
    assert added["ErrorCode"] == 0, added

    newcomer = await app.connect("sn")
    try:
        # Work members read from their join on by default (seq 2, the group tip of the join);
        # the setting opens earlier history.
        assert [m.seq for m in await newcomer.sync(group=group_id)] == [2]
        assert (await patch(app, {"pre_join_history_types": ["Work"]}))[
            "pre_join_history_types"
        ] == ["Work"]
        assert [m.seq for m in await newcomer.sync(group=group_id)] == [1, 2]
        shown = await patch(app, {"pre_join_history_types": None})
        assert shown["pre_join_history_types"] == ["Community", "Meeting"]
        assert [m.seq for m in await newcomer.sync(group=group_id)] == [2]
    finally:
        await newcomer.close()

    follow = {"From_Account": "sf", "FollowItem": [{"To_Account": "so"}]}
    refused = await app.rest("follow", "follow_add", follow)
    assert refused["ErrorCode"] == ErrorCode.SNS_INVALID_PARAM, refused
    assert "`follow`" in refused["ErrorInfo"]
    await patch(app, {"follow": True})
    assert (await app.rest("follow", "follow_add", follow))["ErrorCode"] == 0


async def test_live_group_newcomers_get_the_latest_messages(app: AppUnderTest) -> None:
    await app.import_accounts("lo", "lw", "ln", "lm")
    room = await live_group(app, "lo")

    async def send(text: str) -> None:
        body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
        # From the app admin, who needs no membership.
        message = {"GroupId": room, "Random": int(text[1:]), "MsgBody": body}
        assert (await app.rest(GROUPS, "send_group_msg", message))["ErrorCode"] == 0

    watcher, newcomer, later = [await app.connect(u) for u in ("lw", "ln", "lm")]
    try:
        await watcher.join_group(room)
        for text in ("m1", "m2", "m3"):
            await send(text)
        # Kept before they are delivered: once the watcher has them, a join finds them.
        assert [(await next_message(watcher)).text for _ in range(3)] == ["m1", "m2", "m3"]

        await patch(app, {"avchatroom_pre_join_msgs": 2})
        await newcomer.join_group(room)
        assert [(await next_message(newcomer)).text for _ in range(2)] == ["m2", "m3"]

        assert (await patch(app, {"avchatroom_pre_join_msgs": None}))[
            "avchatroom_pre_join_msgs"
        ] == 0
        await later.join_group(room)
        await send("m4")
        # Messages reach a connection in order: the first it gets is the one after its join.
        assert (await next_message(later)).text == "m4"
    finally:
        for c in (watcher, newcomer, later):
            await c.close()
