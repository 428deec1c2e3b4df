"""Offline push targets through the SDK: device tokens (moved between users), push settings,
muted conversations, and refusals of bad input. Every write is read back: settings through the
op's own reply, devices and mutes from the stack's store."""

from __future__ import annotations

import time

import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from services.common.store.push_devices import MAX_TOKEN_BYTES
from tests.conftest import AppUnderTest
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack


async def test_tokens_on_two_devices_and_moved_to_another_user(app: AppUnderTest) -> None:
    await app.import_accounts("pa", "pb")
    phone, tablet = await app.connect("pa"), await app.connect("pa", platform="iPad")
    pb = await app.connect("pb")
    try:
        await phone.register_push("fcm", "phone-token")
        await tablet.register_push("apns", "tablet-token")
        async with app.stores() as s:
            got = await s.push_devices.devices(app.sdkappid, ["pa", "pb"])
        assert {(d.vendor, d.token) for d in got["pa"]} == {
            ("fcm", "phone-token"),
            ("apns", "tablet-token"),
        }
        assert "pb" not in got
        # The phone now runs logged in as pb: its token follows.
        await pb.register_push("fcm", "phone-token")
        # pa's logout from the tablet, and a late unregister of the token pa no longer holds.
        await tablet.unregister_push("apns", "tablet-token")
        await phone.unregister_push("fcm", "phone-token")
        async with app.stores() as s:
            got = await s.push_devices.devices(app.sdkappid, ["pa", "pb"])
        assert "pa" not in got
        assert [(d.vendor, d.token) for d in got["pb"]] == [("fcm", "phone-token")]
    finally:
        for c in (phone, tablet, pb):
            await c.close()


async def test_settings_round_trip(app: AppUnderTest) -> None:
    await app.import_accounts("ps")
    c = await app.connect("ps")
    try:
        assert await c.push_settings() == {"enabled": True, "dnd": None, "timezone": "UTC"}
        quiet = {"start": "22:00", "end": "07:00"}
        assert await c.push_settings(dnd=quiet, timezone="Asia/Shanghai") == {
            "enabled": True,
            "dnd": quiet,
            "timezone": "Asia/Shanghai",
        }
        assert await c.push_settings(enabled=False) == {
            "enabled": False,
            "dnd": quiet,
            "timezone": "Asia/Shanghai",
        }
        assert await c.push_settings() == {
            "enabled": False,
            "dnd": quiet,
            "timezone": "Asia/Shanghai",
        }
        assert (await c.push_settings(dnd=None))["dnd"] is None
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"dnd": {"start": "22:00", "end": "24:00"}}, "HH:MM"),
        ({"dnd": {"start": "7:00", "end": "08:00"}}, "HH:MM"),
        ({"dnd": {"start": "22:00", "end": "22:00"}}, "empty"),
        ({"dnd": {"start": "22:00"}}, '{"start": "HH:MM", "end": "HH:MM"}'),
        ({"dnd": "22:00-07:00"}, "'dnd'"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"enabled": "yes"}, "'enabled'"),
    ],
)
async def test_bad_settings_refused_and_nothing_changes(
    app: AppUnderTest, changes: dict[str, object], says: str
) -> None:
    await app.import_accounts("pv")
    c = await app.connect("pv")
    try:
        # The valid timezone beside the bad window is not written either.
        with pytest.raises(TidingsClientError) as err:
            await c.push_settings(**{"timezone": "Europe/Paris", **changes})
        assert err.value.code == ErrorCode.WS_BAD_FRAME
        assert says in err.value.message
        assert await c.push_settings() == {"enabled": True, "dnd": None, "timezone": "UTC"}
    finally:
        await c.close()


async def test_mute_and_unmute(app: AppUnderTest) -> None:
    await app.import_accounts("pm", "pn")
    c = await app.connect("pm")
    try:
        in_an_hour = int(time.time() * 1000) + 3_600_000
        await c.mute(peer="pn", until_ms=in_an_hour)
        await c.mute(group="@TGS#quiet")
        team, chat = conversation.group("@TGS#quiet"), conversation.c2c("pm", "pn")
        now_ms = int(time.time() * 1000)
        async with app.stores() as s:
            assert await s.push_devices.muted(app.sdkappid, ["pm"], team, now_ms) == {"pm"}
            assert await s.push_devices.muted(app.sdkappid, ["pm"], chat, now_ms) == {"pm"}
            assert await s.push_devices.muted(app.sdkappid, ["pm"], chat, in_an_hour) == set()
        await c.unmute(group="@TGS#quiet")
        async with app.stores() as s:
            assert await s.push_devices.muted(app.sdkappid, ["pm"], team, now_ms) == set()
        with pytest.raises(TidingsClientError) as err:
            await c.mute(peer="pn", until_ms=1)
        assert (err.value.code, "past" in err.value.message) == (ErrorCode.WS_BAD_FRAME, True)
        with pytest.raises(TidingsClientError) as err:
            await c.request({"op": "mute_conversation", "peer": "pn", "group": "@TGS#quiet"})
        assert err.value.code == ErrorCode.WS_BAD_FRAME
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("vendor", "token", "says"),
    [
        ("apple", "t", "unknown push vendor"),
        ("fcm", "", "1 to 512 bytes"),
        ("fcm", "x" * (MAX_TOKEN_BYTES + 1), "1 to 512 bytes"),
    ],
)
async def test_bad_vendor_or_token_refused(
    app: AppUnderTest, vendor: str, token: str, says: str
) -> None:
    await app.import_accounts("pt")
    c = await app.connect("pt")
    try:
        with pytest.raises(TidingsClientError) as err:
            await c.register_push(vendor, token)
        assert err.value.code == ErrorCode.WS_BAD_FRAME
        assert says in err.value.message
        async with app.stores() as s:
            assert await s.push_devices.devices(app.sdkappid, ["pt"]) == {}
    finally:
        await c.close()


async def test_push_ops_over_proto_frames(app: AppUnderTest) -> None:
    """Over protobuf frames, the ops read and answer the same fields."""
    await app.import_accounts("pp")
    c = await app.connect("pp", encoding="proto")
    try:
        await c.register_push("huawei", "proto-token")
        assert (await c.push_settings(dnd={"start": "23:30", "end": "06:15"}))["dnd"] == {
            "start": "23:30",
            "end": "06:15",
        }
        async with app.stores() as s:
            got = await s.push_devices.devices(app.sdkappid, ["pp"])
        assert [(d.vendor, d.token) for d in got["pp"]] == [("huawei", "proto-token")]
    finally:
        await c.close()
