"""Group tips (services/gateway/group_tips.py): members are told in the group's conversation when
members join or leave, when the group's profile changes and when a member's role or mute
changes; the tips take seqs and are in history, count as no unread and follow the app's
per-group-type settings and REST's Silence."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AppUnderTest
from tests.e2e.test_group_membership_live import next_message
from tests.e2e.test_group_settings import patch
from tests.e2e.test_rest_groups import ok

pytestmark = pytest.mark.stack


def adding(group_id: str, user: str, **more: int) -> dict[str, Any]:
    return {"GroupId": group_id, "MemberList": [{"Member_Account": user}], **more}


async def test_members_are_told_of_each_change_in_order(app: AppUnderTest) -> None:
    await app.import_accounts("own", "ann", "bob", "cat")
    created = await ok(
        app,
        "create_group",
        {
            "Owner_Account": "own",
            "Type": "Public",
            "Name": "tips",
            "ApplyJoinOption": "FreeAccess",
            "MemberList": [{"Member_Account": "ann"}],
        },
    )
    group_id = created["GroupId"]
    own, ann, bob = [await app.connect(u) for u in ("own", "ann", "bob")]
    try:
        # A client joins by itself: Tencent's JOIN tip, from the joiner.
        assert await bob.join_group(group_id)
        joined = await next_message(ann)
        assert joined.group_tip == {
            "OpType": 1,
            "GroupId": group_id,
            "Operator_Account": "bob",
            "MemberList_Account": ["bob"],
        }
        assert joined.sender == "bob"
        assert (await next_message(bob)).group_tip == joined.group_tip
        # The app admin adds a member: INVITE, then renames the group, makes ann an admin,
        # mutes bob and removes cat: every member sees each, in seq order.
        await ok(app, "add_group_member", adding(group_id, "cat"))
        cat = await app.connect("cat")
        await ok(app, "modify_group_base_info", {"GroupId": group_id, "Name": "renamed"})
        await ok(
            app,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "ann", "Role": "Admin"},
        )
        await ok(
            app,
            "forbid_send_msg",
            {"GroupId": group_id, "Members_Account": ["bob"], "ShutUpTime": 60},
        )
        # Fan-out reads the members when it delivers: cat must have had the tips sent while it
        # was a member before it is removed, or the last of them may find it gone.
        told = [await next_message(cat) for _ in range(4)]
        await ok(app, "delete_group_member", {"GroupId": group_id, "MemberToDel_Account": ["cat"]})
        seen = [await next_message(own) for _ in range(6)]
        tips = [m.group_tip for m in seen]
        assert all(tip is not None for tip in tips)
        assert [tip["OpType"] for tip in tips if tip] == [1, 2, 7, 5, 8, 4]
        assert [m.seq for m in seen] == list(range(seen[0].seq, seen[0].seq + 6))
        invite, renamed, made_admin, muted, removed = tips[1:]
        assert invite and invite["MemberList_Account"] == ["cat"]
        assert renamed and renamed["GroupInfo"] == [{"Type": 1, "Value": "renamed"}]
        assert made_admin and made_admin["MemberList_Account"] == ["ann"]
        assert muted and muted["MemberInfo"] == [{"Member_Account": "bob", "ShutUpTime": 60}]
        assert removed and removed["MemberList_Account"] == ["cat"]
        # cat, removed, is told so: the tips from the one that added it to its removal.
        told.append(await next_message(cat))
        assert [m.seq for m in told] == [m.seq for m in seen[1:]]
        await cat.close()

        # Tips are history, not unread: ann's conversation shows the last tip and counts
        # only the message sent after them.
        assert [(await next_message(ann)).seq for _ in range(5)] == [m.seq for m in seen[1:]]
        await own.send(group=group_id, text="after the tips")
        assert (await next_message(ann)).text == "after the tips"
        (conv,) = [c for c in await ann.conversations() if c.get("group") == group_id]
        assert conv["unread"] == 1, conv
        history = await app.rest(
            "group_open_http_svc", "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 7}
        )
        bodies = [item["MsgBody"][0]["MsgType"] for item in history["RspMsgList"]]
        assert bodies == ["TIMTextElem"] + ["TIMGroupTipElem"] * 6
    finally:
        for c in (own, ann, bob):
            await c.close()


async def test_silence_and_the_per_type_settings_turn_tips_off(app: AppUnderTest) -> None:
    await app.import_accounts("own2", "dan", "eve", "fay")
    created = await ok(
        app, "create_group", {"Owner_Account": "own2", "Type": "Work", "Name": "quiet"}
    )
    group_id = created["GroupId"]
    own = await app.connect("own2")
    try:
        # Silence: no tip for this add or this removal.
        await ok(app, "add_group_member", adding(group_id, "dan", Silence=1))
        await ok(
            app,
            "delete_group_member",
            {"GroupId": group_id, "Silence": 1, "MemberToDel_Account": ["dan"]},
        )
        # Work groups are no longer told of member changes, but still of profile changes.
        shown = await patch(app, {"group_tips_member_change": ["Public"]})
        assert shown["group_tips_member_change"] == ["Public"]
        await ok(app, "add_group_member", adding(group_id, "eve"))
        await ok(app, "modify_group_base_info", {"GroupId": group_id, "Notification": "n"})
        # The owner's next message is the profile change: nothing came before it.
        tip = (await next_message(own)).group_tip
        assert tip is not None
        assert (tip["OpType"], tip["GroupInfo"]) == (7, [{"Type": 3, "Value": "n"}])
        # Everyone muted: Tencent's V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL.
        await ok(app, "modify_group_base_info", {"GroupId": group_id, "ShutUpAllMember": "On"})
        tip = (await next_message(own)).group_tip
        assert tip is not None
        assert (tip["OpType"], tip["GroupInfo"]) == (7, [{"Type": 8, "Value": "On"}])
    finally:
        await own.close()
        await patch(app, {"group_tips_member_change": None})
