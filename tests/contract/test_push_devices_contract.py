"""PushDeviceStore contract: tokens belong to one user at a time, a user keeps at most
MAX_DEVICES, settings default until written, mutes end when they say."""

from __future__ import annotations

from services.common.store.ports import Stores
from services.common.store.push_devices import MAX_DEVICES, Device, PushSettings

APP_A = 1400000301
APP_B = 1400000302


async def test_register_lists_devices_oldest_first(stores: Stores) -> None:
    s = stores.push_devices
    assert await s.devices(APP_A, ["u1"]) == {}
    await s.register(APP_A, "u1", "fcm", "tok-2", 200)
    await s.register(APP_A, "u1", "apns", "tok-1", 100)
    await s.register(APP_B, "u1", "fcm", "tok-2", 300)
    assert await s.devices(APP_A, ["u1", "u2"]) == {
        "u1": [Device("apns", "tok-1", 100), Device("fcm", "tok-2", 200)]
    }
    assert await s.devices(APP_B, ["u1"]) == {"u1": [Device("fcm", "tok-2", 300)]}
    assert await s.devices(APP_A, []) == {}


async def test_reregister_refreshes_the_time(stores: Stores) -> None:
    s = stores.push_devices
    await s.register(APP_A, "u1", "fcm", "t", 100)
    await s.register(APP_A, "u1", "fcm", "t", 500)
    assert await s.devices(APP_A, ["u1"]) == {"u1": [Device("fcm", "t", 500)]}


async def test_token_moves_to_the_new_user(stores: Stores) -> None:
    s = stores.push_devices
    await s.register(APP_A, "u1", "huawei", "phone", 100)
    await s.register(APP_A, "u1", "apns", "tablet", 110)
    await s.register(APP_A, "u2", "huawei", "phone", 200)
    assert await s.devices(APP_A, ["u1", "u2"]) == {
        "u1": [Device("apns", "tablet", 110)],
        "u2": [Device("huawei", "phone", 200)],
    }
    # The same token string under another vendor is another device.
    await s.register(APP_A, "u1", "xiaomi", "phone", 300)
    assert await s.devices(APP_A, ["u2"]) == {"u2": [Device("huawei", "phone", 200)]}


async def test_at_most_max_devices_the_oldest_dropped(stores: Stores) -> None:
    s = stores.push_devices
    for i in range(MAX_DEVICES + 2):
        await s.register(APP_A, "u1", "fcm", f"t{i:02}", 1000 + i)
    got = (await s.devices(APP_A, ["u1"]))["u1"]
    assert [d.token for d in got] == [f"t{i:02}" for i in range(2, MAX_DEVICES + 2)]
    # A dropped token is free: another user may take it and keeps it.
    await s.register(APP_A, "u2", "fcm", "t00", 5000)
    assert await s.devices(APP_A, ["u2"]) == {"u2": [Device("fcm", "t00", 5000)]}


async def test_unregister_only_the_holder(stores: Stores) -> None:
    s = stores.push_devices
    await s.register(APP_A, "u1", "oppo", "t", 100)
    await s.unregister(APP_A, "u2", "oppo", "t")
    assert await s.devices(APP_A, ["u1"]) == {"u1": [Device("oppo", "t", 100)]}
    await s.unregister(APP_A, "u1", "oppo", "t")
    assert await s.devices(APP_A, ["u1"]) == {}
    await s.unregister(APP_A, "u1", "oppo", "never")


async def test_remove_token_whoever_holds_it(stores: Stores) -> None:
    s = stores.push_devices
    await s.register(APP_A, "u1", "vivo", "bad", 100)
    await s.register(APP_A, "u1", "meizu", "good", 110)
    await s.remove_token(APP_A, "vivo", "bad")
    await s.remove_token(APP_A, "vivo", "unknown")
    assert await s.devices(APP_A, ["u1"]) == {"u1": [Device("meizu", "good", 110)]}


async def test_settings_default_then_round_trip(stores: Stores) -> None:
    s = stores.push_devices
    assert await s.get_settings(APP_A, ["u1", "u2"]) == {
        "u1": PushSettings(),
        "u2": PushSettings(),
    }
    quiet = PushSettings(
        enabled=True, dnd_start_min=22 * 60, dnd_end_min=7 * 60, timezone="Asia/Shanghai"
    )
    await s.put_settings(APP_A, "u1", quiet)
    await s.put_settings(APP_B, "u1", PushSettings(enabled=False))
    assert await s.get_settings(APP_A, ["u1", "u2"]) == {"u1": quiet, "u2": PushSettings()}
    assert await s.get_settings(APP_B, ["u1"]) == {"u1": PushSettings(enabled=False)}
    await s.put_settings(APP_A, "u1", PushSettings(enabled=False))
    assert await s.get_settings(APP_A, ["u1"]) == {"u1": PushSettings(enabled=False)}


async def test_mutes_forever_until_and_unmute(stores: Stores) -> None:
    s = stores.push_devices
    conv = "g:team"
    await s.mute(APP_A, "u1", conv, 0)
    await s.mute(APP_A, "u2", conv, 2000)
    await s.mute(APP_A, "u3", "g:other", 0)
    await s.mute(APP_B, "u4", conv, 0)
    users = ["u1", "u2", "u3", "u4"]
    assert await s.muted(APP_A, users, conv, 1000) == {"u1", "u2"}
    assert await s.muted(APP_A, users, conv, 2000) == {"u1"}
    await s.mute(APP_A, "u2", conv, 0)
    await s.unmute(APP_A, "u1", conv)
    await s.unmute(APP_A, "u9", conv)
    assert await s.muted(APP_A, users, conv, 9000) == {"u2"}
    assert await s.muted(APP_A, [], conv, 0) == set()
