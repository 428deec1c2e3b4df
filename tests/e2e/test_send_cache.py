"""A client's send is checked from the gateway's memory (its directory cache), and every change
that a check reads takes effect for the very next send once its REST call has returned.

Each test first sends, so that what the check reads is cached, then makes the change and sends
again at once, with no wait: the gateway that served the REST call applied the change's event
to its own cache before answering. (Across gateways, see test_send_cache_nodes.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, new_app
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

GROUPS = "group_open_http_svc"


async def ok(app: AppUnderTest, service: str, command: str, body: dict[str, Any]) -> Any:
    reply = await app.rest(service, command, body)
    assert reply["ErrorCode"] == 0, reply
    return reply


async def refused(client: Client, **send: Any) -> int:
    with pytest.raises(TidingsClientError) as err:
        await client.send(**send)
    return int(err.value.code)


async def sent(client: Client, **send: Any) -> int:
    return (await client.send(**send)).seq


async def make_group(app: AppUnderTest, owner: str, members: list[str], **extra: Any) -> str:
    reply = await ok(
        app,
        GROUPS,
        "create_group",
        {
            "Owner_Account": owner,
            "Type": "Public",
            "Name": "cache",
            "MemberList": [{"Member_Account": m} for m in members],
            **extra,
        },
    )
    return str(reply["GroupId"])


async def test_blocklist_add_and_delete(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, blocklist_send_error=True)
    await app.import_accounts("bx", "by")
    bx = await app.connect("bx")
    try:
        assert await sent(bx, to="by", text="cached: not blocked") == 1
        await ok(app, "sns", "black_list_add", {"From_Account": "by", "To_Account": ["bx"]})
        assert await refused(bx, to="by", text="now?") == ErrorCode.MSG_BLOCKED_BY_PEER
        await ok(app, "sns", "black_list_delete", {"From_Account": "by", "To_Account": ["bx"]})
        assert await sent(bx, to="by", text="unblocked") == 2
    finally:
        await bx.close()


async def test_friend_delete_with_the_friend_check_on(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, c2c_friend_check=True)
    await app.import_accounts("fa", "fb")
    fa = await app.connect("fa")
    add = {
        "From_Account": "fa",
        "AddFriendItem": [{"To_Account": "fb", "AddSource": "AddSource_Type_X"}],
    }
    try:
        assert await refused(fa, to="fb", text="cached: strangers") == ErrorCode.MSG_NOT_FRIENDS
        await ok(
            app, "sns", "friend_add", {**add, "AddType": "Add_Type_Single", "ForceAddFlags": 1}
        )
        assert await sent(fa, to="fb", text="friends") == 1
        await ok(app, "sns", "friend_delete", {"From_Account": "fa", "To_Account": ["fb"]})
        assert await refused(fa, to="fb", text="unfriended") == ErrorCode.MSG_NOT_FRIENDS
        await ok(app, "sns", "friend_import", add)
        assert await sent(fa, to="fb", text="imported") == 2
        # Blocking ends the friendship both ways (Tencent's default).
        await ok(app, "sns", "black_list_add", {"From_Account": "fb", "To_Account": ["fa"]})
        assert await refused(fa, to="fb", text="blocked") == ErrorCode.MSG_NOT_FRIENDS
    finally:
        await fa.close()


async def test_recipient_deleted_and_imported_again(app: AppUnderTest) -> None:
    await app.import_accounts("da", "db")
    da = await app.connect("da")
    try:
        assert await sent(da, to="db", text="cached: db exists") == 1
        await ok(app, "im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": "db"}]})
        assert await refused(da, to="db", text="gone?") == ErrorCode.MSG_ACCOUNT_INVALID
        rest = await app.rest(
            "openim",
            "sendmsg",
            {
                "From_Account": "da",
                "To_Account": "db",
                "MsgRandom": 7,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}],
            },
        )
        assert rest["ErrorCode"] == ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN, rest
        await app.import_accounts("db")
        assert await sent(da, to="db", text="back") == 2
    finally:
        await da.close()


async def test_global_no_speaking_set_and_lifted(app: AppUnderTest) -> None:
    await app.import_accounts("na", "nb")
    na = await app.connect("na")
    try:
        assert await sent(na, to="nb", text="cached: not muted") == 1
        await ok(
            app,
            "openconfigsvr",
            "setnospeaking",
            {"Set_Account": "na", "C2CmsgNospeakingTime": 600},
        )
        assert await refused(na, to="nb", text="muted") == ErrorCode.MSG_SENDER_MUTED
        await ok(
            app, "openconfigsvr", "setnospeaking", {"Set_Account": "na", "C2CmsgNospeakingTime": 0}
        )
        assert await sent(na, to="nb", text="lifted") == 2
    finally:
        await na.close()


async def test_member_removed_added_muted_unmuted(app: AppUnderTest) -> None:
    await app.import_accounts("go", "gm")
    group_id = await make_group(app, "go", ["gm"])
    gm = await app.connect("gm")
    members = {"GroupId": group_id, "MemberToDel_Account": ["gm"]}
    try:
        assert await sent(gm, group=group_id, text="cached: a member") == 1
        await ok(app, GROUPS, "delete_group_member", members)
        assert await refused(gm, group=group_id, text="removed") == ErrorCode.GROUP_NO_PERMISSION
        rest = await app.rest(
            GROUPS,
            "send_group_msg",
            {
                "GroupId": group_id,
                "From_Account": "gm",
                "Random": 1,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}],
            },
        )
        assert rest["ErrorCode"] == ErrorCode.GROUP_NO_PERMISSION, rest
        await ok(
            app,
            GROUPS,
            "add_group_member",
            {"GroupId": group_id, "MemberList": [{"Member_Account": "gm"}]},
        )
        # Seqs 2 and 3 are the group tips of gm's removal and return, 5 and 6 of the mutes.
        assert await sent(gm, group=group_id, text="back") == 4
        mute = {"GroupId": group_id, "Members_Account": ["gm"], "MuteTime": 600}
        await ok(app, GROUPS, "forbid_send_msg", mute)
        assert await refused(gm, group=group_id, text="muted") == ErrorCode.GROUP_SENDER_MUTED
        await ok(app, GROUPS, "forbid_send_msg", {**mute, "MuteTime": 0})
        assert await sent(gm, group=group_id, text="unmuted") == 7
        await ok(
            app,
            GROUPS,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "gm", "ShutUpTime": 600},
        )
        assert await refused(gm, group=group_id, text="muted again") == ErrorCode.GROUP_SENDER_MUTED
    finally:
        await gm.close()


async def test_mute_all_roles_and_owner_change(app: AppUnderTest) -> None:
    await app.import_accounts("ro", "ra", "rm")
    group_id = await make_group(app, "ro", ["ra", "rm"])
    ra, rm = await app.connect("ra"), await app.connect("rm")
    try:
        assert await sent(ra, group=group_id, text="cached: ra") == 1
        assert await sent(rm, group=group_id, text="cached: rm") == 2
        await ok(
            app, GROUPS, "modify_group_base_info", {"GroupId": group_id, "ShutUpAllMember": "On"}
        )
        assert await refused(ra, group=group_id, text="all muted") == ErrorCode.GROUP_SENDER_MUTED
        # An admin speaks in a muted group.
        await ok(
            app,
            GROUPS,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "ra", "Role": "Admin"},
        )
        # Seqs 3 and 4 are the group tips of everyone muted and of ra made admin.
        assert await sent(ra, group=group_id, text="admin") == 5
        # So does the owner: ownership moves to rm.
        assert await refused(rm, group=group_id, text="still muted") == ErrorCode.GROUP_SENDER_MUTED
        await ok(app, GROUPS, "change_group_owner", {"GroupId": group_id, "NewOwner_Account": "rm"})
        # Seq 6 is the tip of the transfer.
        assert await sent(rm, group=group_id, text="owner") == 7
        await ok(
            app, GROUPS, "modify_group_base_info", {"GroupId": group_id, "ShutUpAllMember": "Off"}
        )
        await ok(
            app,
            GROUPS,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "ra", "Role": "Member"},
        )
        # Seqs 8 and 9 are the tips of everyone unmuted and of ra no longer admin.
        assert await sent(ra, group=group_id, text="unmuted") == 10
    finally:
        await ra.close()
        await rm.close()


async def test_group_destroyed_then_created_again(app: AppUnderTest) -> None:
    await app.import_accounts("zo", "zm")
    group_id = await make_group(app, "zo", ["zm"], GroupId="cache-gone")
    zm = await app.connect("zm")
    try:
        assert await sent(zm, group=group_id, text="cached") == 1
        await ok(app, GROUPS, "destroy_group", {"GroupId": group_id})
        assert await refused(zm, group=group_id, text="gone") == ErrorCode.GROUP_NOT_FOUND
        # The same ID again, without zm: the old member row must not be served.
        await make_group(app, "zo", [], GroupId=group_id)
        assert await refused(zm, group=group_id, text="new group") == ErrorCode.GROUP_NO_PERMISSION
        # Imported members can send at once (no callback event, but one for the caches).
        await ok(
            app,
            GROUPS,
            "import_group_member",
            {"GroupId": group_id, "MemberList": [{"Member_Account": "zm"}]},
        )
        assert await sent(zm, group=group_id, text="imported") >= 1
    finally:
        await zm.close()


async def test_imported_group_is_found_at_once(app: AppUnderTest) -> None:
    await app.import_accounts("io")
    io = await app.connect("io")
    try:
        gid = "cache-imported"
        assert (
            await refused(io, group=gid, text="cached: no such group") == ErrorCode.GROUP_NOT_FOUND
        )
        await ok(
            app,
            GROUPS,
            "import_group",
            {"GroupId": gid, "Type": "Public", "Name": "i", "Owner_Account": "io"},
        )
        assert await sent(io, group=gid, text="found") >= 1
    finally:
        await io.close()
