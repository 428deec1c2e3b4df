"""Custom fields declared through the admin API, and what REST v4 then accepts: profile tags
(40009 undeclared, 40004 without the permission), friend tags (30001), group and member data
keys per group type (10004)."""

from __future__ import annotations

from typing import Any

from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api


async def _declare(stack: Stack, app: AppUnderTest, kind: str, body: dict[str, Any]) -> Any:
    r = await admin_api(stack, "POST", f"/apps/{app.sdkappid}/custom-fields/{kind}", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _code(reply: dict[str, Any]) -> int:
    return int(reply["ErrorCode"])


async def test_profile_fields_declared_then_enforced(stack: Stack, app: AppUnderTest) -> None:
    base = f"/apps/{app.sdkappid}/custom-fields"
    assert (await admin_api(stack, "GET", base)).json() == {
        "profile": [],
        "friend": [],
        "group": [],
        "member": [],
    }
    hobby = await _declare(stack, app, "profile", {"name": "Hobby"})
    assert hobby["tag"] == "Tag_Profile_Custom_Hobby" and hobby["admin_write"] is True
    again = await admin_api(stack, "POST", f"{base}/profile", json={"name": "Hobby"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_exists")
    bad = await admin_api(stack, "POST", f"{base}/profile", json={"name": "Hobby2"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_argument")
    assert "English letters" in bad.json()["error"]["message"]
    assert (await admin_api(stack, "POST", f"{base}/topic", json={"name": "X"})).status_code == 404

    await app.import_accounts("cf1")
    item = {"Tag": "Tag_Profile_Custom_Hobby", "Value": "chess"}
    body = {"From_Account": "cf1", "ProfileItem": [item]}
    assert _code(await app.rest("profile", "portrait_set", body)) == 0
    other = {
        "From_Account": "cf1",
        "ProfileItem": [{"Tag": "Tag_Profile_Custom_Pet", "Value": "x"}],
    }
    assert _code(await app.rest("profile", "portrait_set", other)) == 40009

    # The admin may no longer write it, but still read it.
    r = await admin_api(stack, "PATCH", f"{base}/profile/Hobby", json={"admin_write": False})
    assert r.status_code == 200 and r.json()["admin_write"] is False
    assert _code(await app.rest("profile", "portrait_set", body)) == 40004
    got = await app.rest(
        "profile", "portrait_get", {"To_Account": ["cf1"], "TagList": ["Tag_Profile_Custom_Hobby"]}
    )
    assert got["UserProfileItem"][0]["ProfileItem"] == [item]
    retype = await admin_api(stack, "PATCH", f"{base}/profile/Hobby", json={"type": "integer"})
    assert retype.status_code == 422 and "cannot change" in retype.json()["error"]["message"]
    listed = (await admin_api(stack, "GET", base)).json()["profile"]
    assert [(f["name"], f["admin_write"]) for f in listed] == [("Hobby", False)]


async def test_friend_fields_must_be_declared(stack: Stack, app: AppUnderTest) -> None:
    await app.import_accounts("fa", "fb", "fc")

    def imported(peer: str, tag: str, value: Any) -> dict[str, Any]:
        custom = [{"Tag": tag, "Value": value}]
        item = {"To_Account": peer, "AddSource": "AddSource_Type_Web", "CustomItem": custom}
        return {"From_Account": "fa", "AddFriendItem": [item]}

    # Nothing declared yet: any well-formed custom tag is taken, as before declarations.
    reply = await app.rest("sns", "friend_import", imported("fb", "Tag_SNS_Custom_Free", "x"))
    assert _code(reply) == 0, reply
    await _declare(stack, app, "friend", {"name": "Rank", "type": "integer"})
    reply = await app.rest("sns", "friend_import", imported("fc", "Tag_SNS_Custom_Free", "x"))
    assert _code(reply) == 30001 and "declare it first" in reply["ErrorInfo"]
    reply = await app.rest("sns", "friend_import", imported("fc", "Tag_SNS_Custom_Rank", 3))
    assert _code(reply) == 0, reply

    def update(tag: str, value: Any) -> dict[str, Any]:
        item = {"To_Account": "fb", "SnsItem": [{"Tag": tag, "Value": value}]}
        return {"From_Account": "fa", "UpdateItem": [item]}

    reply = await app.rest("sns", "friend_update", update("Tag_SNS_Custom_Rank", "high"))
    assert reply["ResultItem"][0]["ResultCode"] == 30001, reply
    reply = await app.rest("sns", "friend_update", update("Tag_SNS_Custom_Rank", 5))
    assert reply["ResultItem"][0]["ResultCode"] == 0, reply


async def test_group_and_member_fields_per_group_type(stack: Stack, app: AppUnderTest) -> None:
    await app.import_accounts("go", "gm")
    await _declare(stack, app, "group", {"name": "level", "types": {"Public": {}}})
    await _declare(stack, app, "member", {"name": "seat", "types": {"Public": {"self": "read"}}})
    clash = await admin_api(
        stack,
        "POST",
        f"/apps/{app.sdkappid}/custom-fields/member",
        json={"name": "level", "types": {"Public": {}}},
    )
    assert clash.status_code == 422

    def create(group_type: str, key: str, member_key: str) -> dict[str, Any]:
        return {
            "Owner_Account": "go",
            "Type": group_type,
            "Name": "cf",
            "AppDefinedData": [{"Key": key, "Value": "1"}],
            "MemberList": [
                {
                    "Member_Account": "gm",
                    "AppMemberDefinedData": [{"Key": member_key, "Value": "2"}],
                }
            ],
        }

    created = await app.rest(
        "group_open_http_svc", "create_group", create("Public", "level", "seat")
    )
    assert _code(created) == 0, created
    for refused in (create("Work", "level", "seat"), create("Public", "rank", "seat")):
        reply = await app.rest("group_open_http_svc", "create_group", refused)
        assert _code(reply) == 10004 and "not a custom" in reply["ErrorInfo"], reply
    reply = await app.rest("group_open_http_svc", "create_group", create("Public", "level", "x"))
    assert _code(reply) == 10004, reply

    group_id = created["GroupId"]
    modify = {"GroupId": group_id, "AppDefinedData": [{"Key": "rank", "Value": "1"}]}
    assert _code(await app.rest("group_open_http_svc", "modify_group_base_info", modify)) == 10004
    member = {"GroupId": group_id, "Member_Account": "gm"}
    ok = {**member, "AppMemberDefinedData": [{"Key": "seat", "Value": "9"}]}
    assert _code(await app.rest("group_open_http_svc", "modify_group_member_info", ok)) == 0
    other = {**member, "AppMemberDefinedData": [{"Key": "desk", "Value": "9"}]}
    reply = await app.rest("group_open_http_svc", "modify_group_member_info", other)
    assert _code(reply) == 10004

    # A group type added later opens the field to that type's groups.
    r = await admin_api(
        stack,
        "PATCH",
        f"/apps/{app.sdkappid}/custom-fields/group/level",
        json={"types": {"Private": {"write": "owner"}}},
    )
    assert r.status_code == 200 and set(r.json()["types"]) == {"Public", "Work"}
    work = {**create("Work", "level", "seat"), "MemberList": []}
    assert _code(await app.rest("group_open_http_svc", "create_group", work)) == 0
