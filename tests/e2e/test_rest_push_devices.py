"""tidings_push over REST v4: an app server binds and unbinds device tokens and sets users'
push settings, in the same store the SDK's ops write; replies are Tencent's envelope, and bad
input gets 90001 (or 70107 for an account never imported) with a message."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.common.store.push_devices import MAX_TOKEN_BYTES
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack

SVC = "tidings_push"


async def ok(app: AppUnderTest, command: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await app.rest(SVC, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("OK", 0, ""), reply
    return reply


async def fails(
    app: AppUnderTest, command: str, body: dict[str, Any], code: int, info: str
) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply == {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}


async def test_bind_list_move_and_unbind_golden(app: AppUnderTest) -> None:
    await app.import_accounts("rd_a", "rd_b")
    before = int(time.time())
    assert await ok(app, "bind_device", {"UserID": "rd_a", "Vendor": "fcm", "Token": "t1"}) == {
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
    }
    await ok(app, "bind_device", {"UserID": "rd_a", "Vendor": "apns", "Token": "t2"})
    listed = await ok(app, "get_devices", {"UserID": "rd_a"})
    devices = listed["Devices"]
    assert [(d["Vendor"], d["Token"]) for d in devices] == [("fcm", "t1"), ("apns", "t2")]
    assert all(before <= d["RegisteredTime"] <= int(time.time()) for d in devices)
    assert set(devices[0]) == {"Vendor", "Token", "RegisteredTime"}
    # The phone now belongs to rd_b: its token moves.
    await ok(app, "bind_device", {"UserID": "rd_b", "Vendor": "fcm", "Token": "t1"})
    assert [d["Token"] for d in (await ok(app, "get_devices", {"UserID": "rd_a"}))["Devices"]] == [
        "t2"
    ]
    # A late unbind by the old holder leaves the new holder's token alone.
    await ok(app, "unbind_device", {"UserID": "rd_a", "Vendor": "fcm", "Token": "t1"})
    assert [d["Token"] for d in (await ok(app, "get_devices", {"UserID": "rd_b"}))["Devices"]] == [
        "t1"
    ]
    await ok(app, "unbind_device", {"UserID": "rd_b", "Vendor": "fcm", "Token": "t1"})
    assert (await ok(app, "get_devices", {"UserID": "rd_b"}))["Devices"] == []
    async with app.stores() as s:
        stored = await s.push_devices.devices(app.sdkappid, ["rd_a", "rd_b"])
    assert {u: [d.token for d in ds] for u, ds in stored.items()} == {"rd_a": ["t2"]}


async def test_rest_and_sdk_share_the_devices_and_settings(app: AppUnderTest) -> None:
    await app.import_accounts("rs_a")
    c = await app.connect("rs_a")
    try:
        await c.register_push("huawei", "from-the-phone")
        listed = await ok(app, "get_devices", {"UserID": "rs_a"})
        assert [(d["Vendor"], d["Token"]) for d in listed["Devices"]] == [
            ("huawei", "from-the-phone")
        ]
        await ok(app, "set_push_settings", {"UserID": "rs_a", "Enabled": False})
        assert (await c.push_settings())["enabled"] is False
        await c.push_settings(timezone="Asia/Shanghai")
        got = await ok(app, "get_push_settings", {"UserID": "rs_a"})
        assert got["TimeZone"] == "Asia/Shanghai"
    finally:
        await c.close()


async def test_push_settings_golden(app: AppUnderTest) -> None:
    await app.import_accounts("rp_a")
    assert await ok(app, "get_push_settings", {"UserID": "rp_a"}) == {
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
        "UserID": "rp_a",
        "Enabled": True,
        "DND": None,
        "TimeZone": "UTC",
    }
    changed = await ok(
        app,
        "set_push_settings",
        {"UserID": "rp_a", "DND": {"Start": "22:00", "End": "07:30"}, "TimeZone": "Asia/Tokyo"},
    )
    assert {k: changed[k] for k in ("Enabled", "DND", "TimeZone")} == {
        "Enabled": True,
        "DND": {"Start": "22:00", "End": "07:30"},
        "TimeZone": "Asia/Tokyo",
    }
    # Only the fields named change; a null DND clears the window.
    cleared = await ok(app, "set_push_settings", {"UserID": "rp_a", "DND": None})
    assert (cleared["Enabled"], cleared["DND"], cleared["TimeZone"]) == (True, None, "Asia/Tokyo")
    async with app.stores() as s:
        stored = (await s.push_devices.get_settings(app.sdkappid, ["rp_a"]))["rp_a"]
    assert (stored.dnd_start_min, stored.timezone) == (None, "Asia/Tokyo")


BAD = int(ErrorCode.OPENIM_JSON)


@pytest.mark.parametrize(
    ("command", "body", "code", "info"),
    [
        ("bind_device", {"Vendor": "fcm", "Token": "t"}, BAD, "UserID must be a non-empty string"),
        (
            "bind_device",
            {"UserID": 5, "Vendor": "fcm", "Token": "t"},
            BAD,
            "UserID must be a non-empty string",
        ),
        (
            "bind_device",
            {"UserID": "re_a", "Vendor": "nokia", "Token": "t"},
            BAD,
            "unknown push vendor 'nokia'; one of apns, fcm, huawei, xiaomi, oppo, vivo, meizu",
        ),
        ("bind_device", {"UserID": "re_a", "Vendor": "fcm"}, BAD, "Token is required"),
        (
            "bind_device",
            {"UserID": "re_a", "Vendor": "fcm", "Token": "t" * (MAX_TOKEN_BYTES + 1)},
            BAD,
            f"a push token is 1 to {MAX_TOKEN_BYTES} bytes",
        ),
        (
            "bind_device",
            {"UserID": "nobody", "Vendor": "fcm", "Token": "t"},
            int(ErrorCode.ACCOUNT_NOT_IMPORTED),
            "UserID 'nobody' was never imported",
        ),
        (
            "unbind_device",
            {"UserID": "re_a", "Vendor": 1, "Token": "t"},
            BAD,
            "Vendor must be a string",
        ),
        (
            "get_devices",
            {"UserID": "nobody"},
            int(ErrorCode.ACCOUNT_NOT_IMPORTED),
            "UserID 'nobody' was never imported",
        ),
        (
            "set_push_settings",
            {"UserID": "re_a"},
            BAD,
            "give at least one of Enabled, DND, TimeZone",
        ),
        (
            "set_push_settings",
            {"UserID": "re_a", "Enabled": 1},
            BAD,
            "'Enabled' must be true or false",
        ),
        (
            "set_push_settings",
            {"UserID": "re_a", "DND": {"Start": "22:00"}},
            BAD,
            '\'DND\' must be {"Start": "HH:MM", "End": "HH:MM"} or null',
        ),
        (
            "set_push_settings",
            {"UserID": "re_a", "DND": {"Start": "25:00", "End": "07:00"}},
            BAD,
            "'DND': '25:00' is not a time of day as HH:MM (00:00 to 23:59)",
        ),
        (
            "set_push_settings",
            {"UserID": "re_a", "DND": {"Start": "07:00", "End": "07:00"}},
            BAD,
            "the do-not-disturb window is empty (start equals end); send null",
        ),
        (
            "set_push_settings",
            {"UserID": "re_a", "TimeZone": "Mars/Olympus"},
            BAD,
            "'Mars/Olympus' is not an IANA time zone name",
        ),
        (
            "get_push_settings",
            {"UserID": "a" * 100},
            BAD,
            "UserID is longer than 32 bytes",
        ),
    ],
)
async def test_bad_input_is_refused_and_nothing_changes(
    app: AppUnderTest, command: str, body: dict[str, Any], code: int, info: str
) -> None:
    await app.import_accounts("re_a")
    await fails(app, command, body, code, info)
    assert (await ok(app, "get_devices", {"UserID": "re_a"}))["Devices"] == []
    settings = await ok(app, "get_push_settings", {"UserID": "re_a"})
    assert (settings["Enabled"], settings["DND"], settings["TimeZone"]) == (True, None, "UTC")


async def test_only_the_app_admin_may_call_it(app: AppUnderTest) -> None:
    await app.import_accounts("rn_a")
    reply = await app.rest(
        SVC,
        "bind_device",
        {"UserID": "rn_a", "Vendor": "fcm", "Token": "t"},
        identifier="rn_a",
        usersig=app.sig("rn_a"),
    )
    assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", ErrorCode.REST_ADMIN_REQUIRED)
    assert (await ok(app, "get_devices", {"UserID": "rn_a"}))["Devices"] == []
    unknown = await app.rest(SVC, "bind_token", {})
    assert unknown["ErrorCode"] == ErrorCode.REST_RESOURCE
