"""The profile and no-speaking store contract, for every adapter."""

from __future__ import annotations

from services.common.store.ports import Stores
from services.common.store.profiles import FOREVER, NoSpeaking

APP_A = 1400000201
APP_B = 1400000202


async def test_profile_values_round_trip_with_their_types(stores: Stores) -> None:
    profiles = stores.profiles
    await profiles.set_values(
        APP_A,
        "u1",
        {
            "Tag_Profile_IM_Gender": "Gender_Type_Male",
            "Tag_Profile_IM_Level": 7,
            "Tag_Profile_Custom_Test": "x",
        },
    )
    await profiles.set_values(APP_A, "u2", {"Tag_Profile_IM_BirthDay": 20190419})
    got = await profiles.get_values(APP_A, ["u1", "u2", "nobody"])
    assert got == {
        "u1": {
            "Tag_Profile_IM_Gender": "Gender_Type_Male",
            "Tag_Profile_IM_Level": 7,
            "Tag_Profile_Custom_Test": "x",
        },
        "u2": {"Tag_Profile_IM_BirthDay": 20190419},
    }
    assert isinstance(got["u1"]["Tag_Profile_IM_Level"], int)
    assert await profiles.get_values(APP_A, []) == {}


async def test_any_text_survives(stores: Stores) -> None:
    odd = ["", 'it\'s "quoted"', "中文 ✓", "i42", "s", "%s ? ; --", "a\nb"]
    for n, text in enumerate(odd):
        await stores.profiles.set_values(APP_A, f"u{n}", {"Tag_Profile_IM_SelfSignature": text})
    got = await stores.profiles.get_values(APP_A, [f"u{n}" for n in range(len(odd))])
    assert [got[f"u{n}"]["Tag_Profile_IM_SelfSignature"] for n in range(len(odd))] == odd


async def test_setting_some_tags_keeps_the_others(stores: Stores) -> None:
    profiles = stores.profiles
    await profiles.set_values(APP_A, "u1", {"Tag_Profile_IM_Level": 1, "Tag_Profile_IM_Role": 2})
    await profiles.set_values(APP_A, "u1", {"Tag_Profile_IM_Level": 5})
    await profiles.set_values(APP_A, "u1", {})
    got = await profiles.get_values(APP_A, ["u1"])
    assert got == {"u1": {"Tag_Profile_IM_Level": 5, "Tag_Profile_IM_Role": 2}}


async def test_profiles_are_per_app_and_deleted_per_user(stores: Stores) -> None:
    profiles = stores.profiles
    await profiles.set_values(APP_A, "u1", {"Tag_Profile_IM_Level": 1})
    await profiles.set_values(APP_A, "u2", {"Tag_Profile_IM_Level": 2})
    await profiles.set_values(APP_B, "u1", {"Tag_Profile_IM_Level": 9})
    await profiles.delete_users(APP_A, ["u1", "u1"])
    await profiles.delete_users(APP_A, [])
    assert await profiles.get_values(APP_A, ["u1", "u2"]) == {"u2": {"Tag_Profile_IM_Level": 2}}
    assert await profiles.get_values(APP_B, ["u1"]) == {"u1": {"Tag_Profile_IM_Level": 9}}


async def test_custom_tags_are_counted_per_app(stores: Stores) -> None:
    profiles = stores.profiles
    assert await profiles.custom_tags(APP_A) == set()
    await profiles.add_custom_tags(APP_A, ["Tag_Profile_Custom_A", "Tag_Profile_Custom_B"])
    await profiles.add_custom_tags(APP_A, ["Tag_Profile_Custom_A", "Tag_Profile_Custom_A"])
    await profiles.add_custom_tags(APP_A, [])
    await profiles.add_custom_tags(APP_B, ["Tag_Profile_Custom_C"])
    assert await profiles.custom_tags(APP_A) == {"Tag_Profile_Custom_A", "Tag_Profile_Custom_B"}
    assert await profiles.custom_tags(APP_B) == {"Tag_Profile_Custom_C"}


async def test_no_speaking_sets_each_deadline_on_its_own(stores: Stores) -> None:
    muted = stores.no_speaking
    assert await muted.get(APP_A, "u1") == NoSpeaking()
    await muted.set(APP_A, "u1", c2c_until=FOREVER, group_until=None)
    assert await muted.get(APP_A, "u1") == NoSpeaking(FOREVER, 0)
    await muted.set(APP_A, "u1", c2c_until=None, group_until=1_700_000_000)
    assert await muted.get(APP_A, "u1") == NoSpeaking(FOREVER, 1_700_000_000)
    await muted.set(APP_A, "u1", c2c_until=0, group_until=None)
    assert await muted.get(APP_A, "u1") == NoSpeaking(0, 1_700_000_000)


async def test_no_speaking_is_per_app_and_deleted_per_user(stores: Stores) -> None:
    muted = stores.no_speaking
    await muted.set(APP_A, "u1", c2c_until=100, group_until=200)
    await muted.set(APP_A, "u2", c2c_until=300, group_until=None)
    await muted.set(APP_B, "u1", c2c_until=None, group_until=400)
    assert await muted.get(APP_B, "u1") == NoSpeaking(0, 400)
    await muted.delete_users(APP_A, ["u1"])
    await muted.delete_users(APP_A, [])
    assert await muted.get(APP_A, "u1") == NoSpeaking()
    assert await muted.get(APP_A, "u2") == NoSpeaking(300, 0)
    assert await muted.get(APP_B, "u1") == NoSpeaking(0, 400)


def test_deadlines_compare_with_now() -> None:
    state = NoSpeaking(c2c_until=100, group_until=FOREVER)
    assert state.c2c_muted(99) and not state.c2c_muted(100)
    assert state.group_muted(2**40)
    assert not NoSpeaking().c2c_muted(0)
