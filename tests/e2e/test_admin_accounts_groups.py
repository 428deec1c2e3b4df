"""The admin API's accounts and groups (/admin/apps/{id}/accounts, /groups), against the
session stack: the handlers REST v4 runs, seen through REST v4 and SDK clients."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, admin_api, eventually
from tests.e2e.test_console_auth import console, login, name, subaccount
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack


async def call(app: AppUnderTest, method: str, path: str, **kwargs: Any) -> Any:
    r = await admin_api(app.stack, method, f"/apps/{app.sdkappid}{path}", **kwargs)
    assert r.status_code in (200, 204), (method, path, r.text)
    return r.json() if r.content else None


async def refused(app: AppUnderTest, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    r = await admin_api(app.stack, method, f"/apps/{app.sdkappid}{path}", **kwargs)
    assert r.status_code >= 400, r.text
    error = r.json()["error"]
    return r.status_code, f"{error['code']}: {error['message']}"


async def test_import_search_and_profile_round_trip(app: AppUnderTest) -> None:
    rows = [
        {"user": "ann", "nick": "Ann"},
        {"user": "anna", "face_url": "https://x/a.png"},
        {"user": "bob"},
        {"user": "tab\there"},
    ]
    reply = await call(app, "POST", "/accounts/import", json={"accounts": rows})
    results = {r["user"]: r for r in reply["results"]}
    assert [u for u, r in results.items() if r["ok"]] == ["ann", "anna", "bob"]
    assert results["tab\there"]["error"].startswith("70402 ")
    checked = await app.rest(
        "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": "anna"}]}
    )
    assert checked["ResultItem"][0]["AccountStatus"] == "Imported"

    # By prefix, a page at a time; the prefix itself is a match.
    page = await call(app, "GET", "/accounts", params={"prefix": "ann", "limit": 1})
    assert [a["user"] for a in page["accounts"]] == ["ann"] and page["next_cursor"] == "ann"
    page = await call(
        app, "GET", "/accounts", params={"prefix": "ann", "cursor": "ann", "limit": 1}
    )
    assert [(a["user"], a["face_url"]) for a in page["accounts"]] == [("anna", "https://x/a.png")]
    assert page["next_cursor"] == ""

    patch = {
        "profile": {"Tag_Profile_IM_Nick": "Annie", "Tag_Profile_IM_Gender": "Gender_Type_Female"}
    }
    got = await call(app, "PATCH", "/accounts/ann", json=patch)
    assert got["profile"]["Tag_Profile_IM_Nick"] == "Annie" and got["connections"] == 0
    reply = await app.rest(
        "profile",
        "portrait_get",
        {"To_Account": ["ann"], "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Gender"]},
    )
    assert reply["UserProfileItem"][0]["ProfileItem"] == [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "Annie"},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Female"},
    ]
    assert (await call(app, "GET", "/accounts/ann"))["profile"]["Tag_Profile_IM_Gender"] == (
        "Gender_Type_Female"
    )


async def test_bad_input_is_refused_clearly(app: AppUnderTest) -> None:
    await app.import_accounts("carl")
    assert await refused(app, "GET", "/accounts/nobody") == (
        404,
        "not_found: 70107 UserID 'nobody' does not exist",
    )
    status, message = await refused(
        app, "PATCH", "/accounts/carl", json={"profile": {"Tag_Profile_IM_Gender": "robot"}}
    )
    assert status == 422 and message.startswith("invalid_argument: 40605 ")
    status, message = await refused(
        app, "PATCH", "/accounts/nobody", json={"profile": {"Tag_Profile_IM_Nick": "x"}}
    )
    assert (status, message.split()[1]) == (404, "40003")
    too_many = {"accounts": [{"user": f"u{i}"} for i in range(101)]}
    assert (await refused(app, "POST", "/accounts/import", json=too_many))[0] == 422
    assert (await refused(app, "GET", "/accounts", params={"limit": 1000}))[0] == 422
    status, message = await refused(app, "POST", f"/accounts/{'x' * 33}/kick")
    assert status == 422
    assert await refused(app, "GET", "/groups/%40TGS%23nope") == (
        404,
        "not_found: 10010 group '@TGS#nope' does not exist or was dissolved",
    )
    mute = {"users": ["carl"], "seconds": -1}
    assert (await refused(app, "POST", "/groups/%40TGS%23nope/mute", json=mute))[0] == 422


async def test_kick_logs_a_connected_client_out(app: AppUnderTest) -> None:
    await app.import_accounts("dee")
    client = await app.connect("dee")
    try:
        assert (await call(app, "GET", "/accounts/dee"))["connections"] == 1
        kicked = await call(app, "POST", "/accounts/dee/kick")
        assert kicked == {"user": "dee", "connections": 1}

        async def told() -> Any:
            return client.kicked

        assert (await eventually(told))[0] == ErrorCode.SIG_EXPIRED
    finally:
        await client.close()
    assert (await refused(app, "POST", "/accounts/nobody/kick"))[0] == 404


async def test_group_list_members_mute_and_destroy(app: AppUnderTest) -> None:
    await app.import_accounts("own", "m1", "m2")
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "own",
            "Type": "Public",
            "Name": "club",
            "MemberList": [{"Member_Account": "m1"}, {"Member_Account": "m2"}],
        },
    )
    group_id = created["GroupId"]
    path = f"/groups/{quote(group_id, safe='')}"
    listed = await call(app, "GET", "/groups")
    assert listed["total"] == 1 and listed["next_cursor"] == 0
    (summary,) = listed["groups"]
    assert (summary["group_id"], summary["type"], summary["owner"], summary["member_num"]) == (
        group_id,
        "Public",
        "own",
        3,
    )
    first = await call(app, "GET", path, params={"limit": 2})
    assert [m["user"] for m in first["members"]] == ["own", "m1"]
    rest = await call(app, "GET", path, params={"cursor": first["members_cursor"]})
    assert [m["user"] for m in rest["members"]] == ["m2"] and rest["members_cursor"] == ""

    muted = await call(app, "POST", f"{path}/mute", json={"users": ["m1"], "seconds": 600})
    assert muted["mute_until"] > time.time()
    member = await app.connect("m1")
    try:
        with pytest.raises(TidingsClientError) as err:
            await member.send(group=group_id, text="shh")
        assert err.value.code == ErrorCode.GROUP_SENDER_MUTED
        await call(app, "POST", f"{path}/mute", json={"users": ["m1"], "seconds": 0})
        # Seqs 1 and 2 are the group tips of the mute and the unmute: the admin API tells the
        # members as REST does.
        assert (await member.send(group=group_id, text="free")).seq == 3
    finally:
        await member.close()
    status, message = await refused(
        app, "POST", f"{path}/mute", json={"users": ["stranger"], "seconds": 60}
    )
    assert (status, message.split()[1]) == (404, "10019")

    await call(app, "DELETE", path)
    gone = await app.rest("group_open_http_svc", "get_group_info", {"GroupIdList": [group_id]})
    assert gone["GroupInfo"][0]["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
    assert (await call(app, "GET", "/groups"))["groups"] == []


async def test_a_read_only_sub_account_reads_but_cannot_change(app: AppUnderTest) -> None:
    await app.import_accounts("eve")
    user = name("reader")
    await subaccount(app.stack, user, preset="ReadOnlyAccess")
    async with console(app.stack) as http:
        csrf = await login(http, user)
        base = f"/admin/apps/{app.sdkappid}"
        assert (await http.get(f"{base}/accounts/eve")).status_code == 200
        assert (await http.get(f"{base}/groups")).status_code == 200
        r = await http.post(f"{base}/accounts/eve/kick", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        assert "accounts:write" in r.json()["error"]["message"]
