"""REST v4 accounts (im_open_login_svc), profiles (profile), presence (openim querystate) and
global no-speaking (openconfigsvr), through the running stack, in the shapes of Tencent's
reference examples."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app

pytestmark = pytest.mark.stack

OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


def fail(reply: dict[str, Any], code: int) -> None:
    assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", code), reply
    assert reply["ErrorInfo"], reply


async def ws_login(app: AppUnderTest, user: str, platform: str = "Web") -> ClientConnection:
    ws = await connect(app.stack.ws_url)
    await ws.send(
        orjson.dumps(
            {
                "op": "login",
                "id": 1,
                "sdkappid": app.sdkappid,
                "identifier": user,
                "usersig": app.sig(user),
                "platform": platform,
            }
        ).decode()
    )
    reply = orjson.loads(await ws.recv())
    assert reply["code"] == 0, reply
    return ws


async def login_code(app: AppUnderTest, user: str) -> int:
    ws = await connect(app.stack.ws_url)
    try:
        await ws.send(
            orjson.dumps(
                {
                    "op": "login",
                    "id": 1,
                    "sdkappid": app.sdkappid,
                    "identifier": user,
                    "usersig": app.sig(user),
                }
            ).decode()
        )
        return int(orjson.loads(await ws.recv())["code"])
    finally:
        await ws.close()


async def ws_send(ws: ClientConnection, request_id: int, to: str) -> dict[str, Any]:
    await ws.send(orjson.dumps({"op": "send", "id": request_id, "to": to, "text": "hi"}).decode())
    while True:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame.get("id") == request_id:
            return frame


async def app_with_settings(stack: Stack, settings: dict[str, object]) -> AppUnderTest:
    created = await new_app(stack)
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        app = await stores.apps.get_app(created.sdkappid)
        assert app is not None
        app.settings.update(settings)
        await stores.apps.save_app(app)
    finally:
        await stores.close()
    return created


# ---- im_open_login_svc ----------------------------------------------------------------------


async def test_import_accounts_then_check_them(app: AppUnderTest) -> None:
    reply = await app.rest(
        "im_open_login_svc",
        "account_import",
        {"UserID": "test", "Nick": "test", "FaceUrl": "http://www.qq.com"},
    )
    assert reply == OK
    # The old field name.
    assert await app.rest("im_open_login_svc", "account_import", {"Identifier": "old"}) == OK

    reply = await app.rest(
        "im_open_login_svc",
        "multiaccount_import",
        {"Accounts": ["test1", "test2", "x" * 33, "", "test2"]},
    )
    assert reply == {**OK, "FailAccounts": ["x" * 33, ""]}
    reply = await app.rest(
        "im_open_login_svc",
        "multiaccount_import",
        {
            "AccountList": [
                {"UserID": "UserID_001", "Nick": "Nick_001", "FaceUrl": "http://www.qq.com"},
                {"UserID": "UserID_002", "Nick": "Nick_002"},
            ]
        },
    )
    assert reply == {**OK, "FailAccounts": []}

    reply = await app.rest(
        "im_open_login_svc",
        "account_check",
        {"CheckItem": [{"UserID": "UserID_001"}, {"UserID": "UserID_404"}, {"UserID": "test2"}]},
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {
                "UserID": "UserID_001",
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "Imported",
            },
            {
                "UserID": "UserID_404",
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "NotImported",
            },
            {"UserID": "test2", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "Imported"},
        ],
    }
    # The app admin exists without an import, as in Tencent's console.
    reply = await app.rest(
        "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": "administrator"}]}
    )
    assert reply["ResultItem"][0]["AccountStatus"] == "Imported"

    # Nick and FaceUrl are the profile's Tag_Profile_IM_Nick and Tag_Profile_IM_Image; importing
    # again without them keeps them, importing with a new Nick replaces it only.
    await app.rest("im_open_login_svc", "multiaccount_import", {"Accounts": ["test"]})
    await app.rest("im_open_login_svc", "account_import", {"UserID": "test", "Nick": "renamed"})
    reply = await app.rest(
        "profile",
        "portrait_get",
        {
            "To_Account": ["test", "UserID_002"],
            "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"],
        },
    )
    assert [i["ProfileItem"] for i in reply["UserProfileItem"]] == [
        [
            {"Tag": "Tag_Profile_IM_Nick", "Value": "renamed"},
            {"Tag": "Tag_Profile_IM_Image", "Value": "http://www.qq.com"},
        ],
        [
            {"Tag": "Tag_Profile_IM_Nick", "Value": "Nick_002"},
            {"Tag": "Tag_Profile_IM_Image", "Value": ""},
        ],
    ]


async def test_account_requests_are_checked(app: AppUnderTest) -> None:
    cases: list[tuple[str, Any]] = [
        ("account_import", {}),
        ("account_import", {"UserID": "x" * 33}),
        ("account_import", {"UserID": "a", "Nick": 5}),
        ("multiaccount_import", {}),
        ("multiaccount_import", {"Accounts": [f"u{i}" for i in range(101)]}),
        ("multiaccount_import", {"Accounts": ["a", 5]}),
        ("multiaccount_import", {"AccountList": [{"Nick": "no id"}]}),
        ("account_delete", {"DeleteItem": "a"}),
        ("account_delete", {"DeleteItem": [{"UserID": f"u{i}"} for i in range(101)]}),
        ("account_check", {"CheckItem": [{"Identifier": "a"}]}),
        ("account_check", {}),
        ("kick", {}),
        ("kick", {"UserID": 3}),
    ]
    for command, body in cases:
        fail(await app.rest("im_open_login_svc", command, body), 70402)
    fail(await app.rest("im_open_login_svc", "kick", {"UserID": "nobody"}), 70107)


async def test_developer_edition_has_100_accounts(stack: Stack) -> None:
    app = await new_app(stack, "Developer")
    first = [f"u{i}" for i in range(99)]
    reply = await app.rest("im_open_login_svc", "multiaccount_import", {"Accounts": first})
    assert reply == {**OK, "FailAccounts": []}
    # A batch that would cross the quota imports nothing.
    fail(
        await app.rest("im_open_login_svc", "multiaccount_import", {"Accounts": ["a", "b"]}), 70398
    )
    assert await app.rest("im_open_login_svc", "account_import", {"UserID": "a"}) == OK
    fail(await app.rest("im_open_login_svc", "account_import", {"UserID": "b"}), 70398)
    # Re-importing existing accounts is not a new account.
    reply = await app.rest("im_open_login_svc", "multiaccount_import", {"Accounts": ["a", "u1"]})
    assert reply == {**OK, "FailAccounts": []}
    reply = await app.rest(
        "im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": "u0"}]}
    )
    assert reply["ResultItem"] == [{"ResultCode": 0, "ResultInfo": "", "UserID": "u0"}]
    assert await app.rest("im_open_login_svc", "account_import", {"UserID": "b"}) == OK


async def test_account_delete_removes_the_account_and_its_data(app: AppUnderTest) -> None:
    await app.import_accounts("UserID_1", "peer")
    await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": "UserID_1",
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Nick", "Value": "one"},
                {"Tag": "Tag_Profile_IM_Level", "Value": 9},
            ],
        },
    )
    await app.rest(
        "openconfigsvr", "setnospeaking", {"Set_Account": "UserID_1", "C2CmsgNospeakingTime": 60}
    )
    # Online, so the gateway's account cache knows the user.
    ws = await ws_login(app, "UserID_1")

    reply = await app.rest(
        "im_open_login_svc",
        "account_delete",
        {"DeleteItem": [{"UserID": "UserID_1"}, {"UserID": "UserID_2"}]},
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {"ResultCode": 0, "ResultInfo": "", "UserID": "UserID_1"},
            {
                "ResultCode": 70107,
                "ResultInfo": "Err_TLS_PT_Open_Login_Account_Not_Exist",
                "UserID": "UserID_2",
            },
        ],
    }
    # The live session is closed, with a reason first.
    kicked = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert (kicked["op"], kicked["code"]) == ("kicked", 70107)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    assert await login_code(app, "UserID_1") == 70107
    fail(await app.rest("openim", "sendmsg", _sendmsg("peer", "UserID_1")), 90012)

    # An account imported again under the same id starts with no profile and no mute.
    await app.import_accounts("UserID_1")
    reply = await app.rest(
        "profile",
        "portrait_get",
        {"To_Account": ["UserID_1"], "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Level"]},
    )
    assert reply["UserProfileItem"][0]["ProfileItem"] == [
        {"Tag": "Tag_Profile_IM_Nick", "Value": ""},
        {"Tag": "Tag_Profile_IM_Level", "Value": 0},
    ]
    reply = await app.rest("openconfigsvr", "getnospeaking", {"Get_Account": "UserID_1"})
    assert reply["C2CmsgNospeakingTime"] == 0
    # Admin accounts are the app's, not imported ones.
    reply = await app.rest(
        "im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": "administrator"}]}
    )
    assert reply["ResultItem"][0]["ResultCode"] == 70402


async def test_kick_closes_every_session_after_telling_it(app: AppUnderTest) -> None:
    await app.import_accounts("test", "idle")
    web = await ws_login(app, "test", "Web")
    phone = await ws_login(app, "test", "iPhone")
    assert await app.rest("im_open_login_svc", "kick", {"UserID": "test"}) == OK
    for ws in (web, phone):
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert (frame["op"], frame["code"]) == ("kicked", 70001), frame
        assert frame["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

    async def offline() -> bool:
        reply = await app.rest("openim", "querystate", {"To_Account": ["test"]})
        return bool(reply["QueryResult"] == [{"To_Account": "test", "Status": "Offline"}])

    assert await eventually(offline)
    # Not connected: nothing to close. The old field name works too.
    assert await app.rest("im_open_login_svc", "kick", {"Identifier": "idle"}) == OK


# ---- profile --------------------------------------------------------------------------------


async def test_portrait_set_then_get(app: AppUnderTest) -> None:
    await app.import_accounts("id1", "id2", "id3")
    reply = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": "id1",
            "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "MyNickName"}],
        },
    )
    assert reply == {**OK, "ErrorDisplay": ""}
    reply = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": "id1",
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"},
                {"Tag": "Tag_Profile_IM_BirthDay", "Value": 20190419},
                {"Tag": "Tag_Profile_IM_Location", "Value": "Shenzhen"},
                {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test1"},
                {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_AllowAny"},
                {"Tag": "Tag_Profile_IM_Language", "Value": 1},
                {"Tag": "Tag_Profile_IM_Image", "Value": "http://x/face.png"},
                {"Tag": "Tag_Profile_IM_MsgSettings", "Value": 1},
                {"Tag": "Tag_Profile_IM_AdminForbidType", "Value": "AdminForbid_Type_SendOut"},
                {"Tag": "Tag_Profile_IM_Level", "Value": 3},
                {"Tag": "Tag_Profile_IM_Role", "Value": 4294967295},
                {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data1"},
            ],
        },
    )
    assert reply == {**OK, "ErrorDisplay": ""}

    reply = await app.rest(
        "profile",
        "portrait_get",
        {
            "To_Account": ["id1"],
            "TagList": [
                "Tag_Profile_IM_Nick",
                "Tag_Profile_IM_AllowType",
                "Tag_Profile_IM_SelfSignature",
                "Tag_Profile_Custom_Test",
            ],
        },
    )
    assert reply == {
        **OK,
        "UserProfileItem": [
            {
                "To_Account": "id1",
                "ProfileItem": [
                    {"Tag": "Tag_Profile_IM_Nick", "Value": "MyNickName"},
                    {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_AllowAny"},
                    {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test1"},
                    {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data1"},
                ],
                "ResultCode": 0,
                "ResultInfo": "",
            }
        ],
        "ErrorDisplay": "",
    }

    every = [
        "Tag_Profile_IM_Gender",
        "Tag_Profile_IM_BirthDay",
        "Tag_Profile_IM_Location",
        "Tag_Profile_IM_Language",
        "Tag_Profile_IM_Image",
        "Tag_Profile_IM_MsgSettings",
        "Tag_Profile_IM_AdminForbidType",
        "Tag_Profile_IM_Level",
        "Tag_Profile_IM_Role",
    ]
    reply = await app.rest(
        "profile", "portrait_get", {"To_Account": ["id1", "id2", "id3", "id4"], "TagList": every}
    )
    items = {i["To_Account"]: i for i in reply["UserProfileItem"]}
    assert [i["To_Account"] for i in reply["UserProfileItem"]] == ["id1", "id2", "id3", "id4"]
    assert {p["Tag"]: p["Value"] for p in items["id1"]["ProfileItem"]} == {
        "Tag_Profile_IM_Gender": "Gender_Type_Male",
        "Tag_Profile_IM_BirthDay": 20190419,
        "Tag_Profile_IM_Location": "Shenzhen",
        "Tag_Profile_IM_Language": 1,
        "Tag_Profile_IM_Image": "http://x/face.png",
        "Tag_Profile_IM_MsgSettings": 1,
        "Tag_Profile_IM_AdminForbidType": "AdminForbid_Type_SendOut",
        "Tag_Profile_IM_Level": 3,
        "Tag_Profile_IM_Role": 4294967295,
    }
    # Fields never set read as their defaults.
    assert {p["Tag"]: p["Value"] for p in items["id2"]["ProfileItem"]} == {
        "Tag_Profile_IM_Gender": "Gender_Type_Unknown",
        "Tag_Profile_IM_BirthDay": 0,
        "Tag_Profile_IM_Location": "",
        "Tag_Profile_IM_Language": 0,
        "Tag_Profile_IM_Image": "",
        "Tag_Profile_IM_MsgSettings": 0,
        "Tag_Profile_IM_AdminForbidType": "AdminForbid_Type_None",
        "Tag_Profile_IM_Level": 0,
        "Tag_Profile_IM_Role": 0,
    }
    assert items["id4"] == {
        "To_Account": "id4",
        "ProfileItem": [],
        "ResultCode": 40003,
        "ResultInfo": items["id4"]["ResultInfo"],
    }
    assert reply["Fail_Account"] == ["id4"]
    assert "Fail_Account" not in await app.rest(
        "profile", "portrait_get", {"To_Account": ["id2"], "TagList": every}
    )


async def test_portrait_requests_are_checked(app: AppUnderTest) -> None:
    await app.import_accounts("id1")

    def item(tag: str, value: Any) -> dict[str, Any]:
        return {"From_Account": "id1", "ProfileItem": [{"Tag": tag, "Value": value}]}

    set_cases: list[tuple[dict[str, Any], int]] = [
        ({"From_Account": "id1"}, 40001),
        ({"ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "x"}]}, 40001),
        ({"From_Account": "id1", "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick"}]}, 40001),
        ({**item("Tag_Profile_IM_Nick", "x"), "From_Account": "nobody"}, 40003),
        (item("Tag_Profile_IM_Mood", "x"), 40009),
        (item("Tag_Profile_Custom_Has1Digit", "x"), 40009),
        (item("Tag_Profile_IM_Nick", "x" * 501), 40601),
        (item("Tag_Profile_IM_Gender", "Gender_Type_Robot"), 40605),
        (item("Tag_Profile_IM_Level", 2**32), 40605),
        (item("Tag_Profile_IM_Level", "3"), 40610),
        (item("Tag_Profile_IM_Nick", 3), 40610),
    ]
    for body, code in set_cases:
        fail(await app.rest("profile", "portrait_set", body), code)

    get_cases: list[tuple[dict[str, Any], int]] = [
        ({"TagList": ["Tag_Profile_IM_Nick"]}, 40002),
        ({"To_Account": [], "TagList": ["Tag_Profile_IM_Nick"]}, 40002),
        ({"To_Account": [f"u{i}" for i in range(101)], "TagList": ["Tag_Profile_IM_Nick"]}, 40001),
        ({"To_Account": "id1", "TagList": ["Tag_Profile_IM_Nick"]}, 40001),
        ({"To_Account": ["id1"]}, 40001),
        ({"To_Account": ["id1"], "TagList": ["Tag_Profile_IM_Mood"]}, 40009),
    ]
    for body, code in get_cases:
        fail(await app.rest("profile", "portrait_get", body), code)


async def test_declared_custom_fields_are_the_only_ones(stack: Stack) -> None:
    app = await app_with_settings(stack, {"profile_custom_fields": ["Test"]})
    await app.import_accounts("id1")
    body = {
        "From_Account": "id1",
        "ProfileItem": [{"Tag": "Tag_Profile_Custom_Test", "Value": "ok"}],
    }
    assert (await app.rest("profile", "portrait_set", body))["ErrorCode"] == 0
    body["ProfileItem"] = [{"Tag": "Tag_Profile_Custom_Other", "Value": "no"}]
    fail(await app.rest("profile", "portrait_set", body), 40009)
    reply = await app.rest(
        "profile",
        "portrait_get",
        {"To_Account": ["id1"], "TagList": ["Tag_Profile_Custom_Test"]},
    )
    assert reply["UserProfileItem"][0]["ProfileItem"] == [
        {"Tag": "Tag_Profile_Custom_Test", "Value": "ok"}
    ]


async def test_undeclared_custom_fields_are_at_most_twenty(app: AppUnderTest) -> None:
    await app.import_accounts("id1", "id2")
    names = [f"Tag_Profile_Custom_{chr(65 + i)}{chr(97 + i)}" for i in range(21)]
    body = {
        "From_Account": "id1",
        "ProfileItem": [{"Tag": t, "Value": t} for t in names[:20]],
    }
    assert (await app.rest("profile", "portrait_set", body))["ErrorCode"] == 0
    one_more = {"From_Account": "id2", "ProfileItem": [{"Tag": names[20], "Value": "x"}]}
    fail(await app.rest("profile", "portrait_set", one_more), 40009)
    again = {"From_Account": "id2", "ProfileItem": [{"Tag": names[0], "Value": "x"}]}
    assert (await app.rest("profile", "portrait_set", again))["ErrorCode"] == 0


# ---- openim querystate ----------------------------------------------------------------------


async def test_querystate(app: AppUnderTest) -> None:
    await app.import_accounts("id1", "id2", "id3")
    phone = await ws_login(app, "id1", "iPhone")
    web = await ws_login(app, "id1", "Web")
    pc = await ws_login(app, "id3", "Windows")
    try:
        reply = await app.rest("openim", "querystate", {"To_Account": ["id1", "id2", "id3", "id4"]})
        assert reply == {
            **OK,
            "QueryResult": [
                {"To_Account": "id1", "Status": "Online"},
                {"To_Account": "id2", "Status": "Offline"},
                {"To_Account": "id3", "Status": "Online"},
            ],
            "ErrorList": [{"To_Account": "id4", "ErrorCode": 70107}],
        }
        reply = await app.rest(
            "openim", "query_online_status", {"IsNeedDetail": 1, "To_Account": ["id1", "id2"]}
        )
        assert reply == {
            **OK,
            "QueryResult": [
                {
                    "To_Account": "id1",
                    "Status": "Online",
                    "Detail": [
                        {"Platform": "Web", "Status": "Online"},
                        {"Platform": "iPhone", "Status": "Online"},
                    ],
                },
                {"To_Account": "id2", "Status": "Offline"},
            ],
            "ErrorList": [],
        }
        reply = await app.rest("openim", "querystate", {"IsNeedDetail": 1, "To_Account": ["id3"]})
        assert reply["QueryResult"][0]["Detail"] == [{"Platform": "PC", "Status": "Online"}]
    finally:
        for ws in (phone, web, pc):
            await ws.close()

    async def all_offline() -> bool:
        reply = await app.rest("openim", "querystate", {"To_Account": ["id1", "id3"]})
        return all(r["Status"] == "Offline" for r in reply["QueryResult"])

    assert await eventually(all_offline)
    for body in (
        {},
        {"To_Account": []},
        {"To_Account": [f"u{i}" for i in range(501)]},
        {"To_Account": ["id1"], "IsNeedDetail": 2},
        {"To_Account": ["id1"], "IsNeedDetail": "1"},
    ):
        fail(await app.rest("openim", "querystate", body), 70402)


# ---- openconfigsvr --------------------------------------------------------------------------


def _sendmsg(sender: str, to: str) -> dict[str, Any]:
    return {
        "SyncOtherMachine": 2,
        "From_Account": sender,
        "To_Account": to,
        "MsgRandom": 1287657,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
    }


async def test_global_no_speaking(app: AppUnderTest) -> None:
    await app.import_accounts("lumotuwe", "peer")
    reply = await app.rest(
        "openconfigsvr",
        "setnospeaking",
        {
            "Set_Account": "lumotuwe",
            "C2CmsgNospeakingTime": 4294967295,
            "GroupmsgNospeakingTime": 7200,
        },
    )
    assert reply == OK
    reply = await app.rest("openconfigsvr", "getnospeaking", {"Get_Account": "lumotuwe"})
    assert reply["C2CmsgNospeakingTime"] == 4294967295
    assert 7190 <= reply["GroupmsgNospeakingTime"] <= 7200
    assert reply["ErrorCode"] == 0

    ws = await ws_login(app, "lumotuwe")
    try:
        refused = await ws_send(ws, 2, "peer")
        assert (refused["op"], refused["code"]) == ("error", 20012), refused
        # The app admin's sendmsg does not check the sender's no-speaking, as in Tencent.
        sent = await app.rest("openim", "sendmsg", _sendmsg("lumotuwe", "peer"))
        assert sent["ErrorCode"] == 0, sent

        # Setting one deadline leaves the other; 0 lifts it.
        await app.rest(
            "openconfigsvr", "setnospeaking", {"Set_Account": "lumotuwe", "C2CmsgNospeakingTime": 0}
        )
        reply = await app.rest("openconfigsvr", "getnospeaking", {"Get_Account": "lumotuwe"})
        assert reply["C2CmsgNospeakingTime"] == 0 and reply["GroupmsgNospeakingTime"] > 7000
        assert (await ws_send(ws, 3, "peer"))["op"] == "ack"

        # A mute with a time runs out by itself. Deadlines are whole seconds, so a 2 s mute
        # lasts at least 1 s (a 1 s one could end before the next send, at a second boundary).
        await app.rest(
            "openconfigsvr", "setnospeaking", {"Set_Account": "lumotuwe", "C2CmsgNospeakingTime": 2}
        )
        assert (await ws_send(ws, 4, "peer"))["code"] == 20012
        await asyncio.sleep(2.1)
        assert (await ws_send(ws, 5, "peer"))["op"] == "ack"
        reply = await app.rest("openconfigsvr", "getnospeaking", {"Get_Account": "lumotuwe"})
        assert reply["C2CmsgNospeakingTime"] == 0
    finally:
        await ws.close()


async def test_no_speaking_requests_are_checked(app: AppUnderTest) -> None:
    await app.import_accounts("lumotuwe")
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("setnospeaking", {"C2CmsgNospeakingTime": 10}, 130004),
        ("setnospeaking", {"Set_Account": "", "C2CmsgNospeakingTime": 10}, 130005),
        ("setnospeaking", {"Set_Account": 5, "C2CmsgNospeakingTime": 10}, 130005),
        ("setnospeaking", {"Set_Account": "nobody", "C2CmsgNospeakingTime": 10}, 130005),
        ("setnospeaking", {"Set_Account": "lumotuwe"}, 130008),
        ("setnospeaking", {"Set_Account": "lumotuwe", "C2CmsgNospeakingTime": -1}, 130001),
        ("setnospeaking", {"Set_Account": "lumotuwe", "C2CmsgNospeakingTime": 2**32}, 130001),
        ("setnospeaking", {"Set_Account": "lumotuwe", "GroupmsgNospeakingTime": "60"}, 130001),
        ("getnospeaking", {}, 130004),
        ("getnospeaking", {"Get_Account": "nobody"}, 130005),
    ]
    for command, body, code in cases:
        fail(await app.rest("openconfigsvr", command, body), code)


async def test_profiles_and_mutes_stay_in_their_app(app: AppUnderTest, stack: Stack) -> None:
    other = await new_app(stack)
    for each in (app, other):
        await each.import_accounts("same", "peer")
    await app.rest(
        "profile",
        "portrait_set",
        {"From_Account": "same", "ProfileItem": [{"Tag": "Tag_Profile_IM_Level", "Value": 5}]},
    )
    await app.rest(
        "openconfigsvr", "setnospeaking", {"Set_Account": "same", "C2CmsgNospeakingTime": 600}
    )
    reply = await other.rest(
        "profile", "portrait_get", {"To_Account": ["same"], "TagList": ["Tag_Profile_IM_Level"]}
    )
    assert reply["UserProfileItem"][0]["ProfileItem"] == [
        {"Tag": "Tag_Profile_IM_Level", "Value": 0}
    ]
    reply = await other.rest("openconfigsvr", "getnospeaking", {"Get_Account": "same"})
    assert reply["C2CmsgNospeakingTime"] == 0
    ws = await ws_login(other, "same")
    try:
        assert (await ws_send(ws, 2, "peer"))["op"] == "ack"
    finally:
        await ws.close()
