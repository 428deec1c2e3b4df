"""Pure rules of the account, profile, presence and no-speaking commands, and the
gateway's no-speaking cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from services.common import custom_fields
from services.common.errors import ErrorCode, TidingsError
from services.common.store.profiles import FOREVER, CachedNoSpeakingStore, NoSpeaking
from services.gateway import profiles

BAD = ErrorCode.ACCOUNT_INVALID_PARAM


def _code(fn: Any, *args: Any) -> int:
    with pytest.raises(TidingsError) as err:
        fn(*args)
    return int(err.value.code)


# ---- accounts -------------------------------------------------------------------------------


def test_user_ids_are_non_empty_strings_of_at_most_32_bytes() -> None:
    assert profiles.user_id("a" * 32, "UserID", BAD) == "a" * 32
    for bad in ("", "a" * 33, "中" * 11, 7, None):
        assert _code(profiles.user_id, bad, "UserID", BAD) == BAD


def test_user_list_dedupes_and_bounds() -> None:
    assert profiles.user_list(["a", "b", "a"], "To_Account", 3, BAD) == ["a", "b"]
    for bad in (None, [], "a", ["a", 1], ["a"] * 4):
        assert _code(profiles.user_list, bad, "To_Account", 3, BAD) == BAD


def test_user_items_read_userid_objects() -> None:
    raw = [{"UserID": "a"}, {"UserID": "b"}, {"UserID": "a"}]
    assert profiles.user_items(raw, "DeleteItem", 100, BAD) == ["a", "b"]
    for bad in (None, [], [{}], ["a"], [{"UserID": 1}], [{"UserID": "a"}] * 101):
        assert _code(profiles.user_items, bad, "DeleteItem", 100, BAD) == BAD


def test_import_entry_keeps_absent_fields_absent() -> None:
    assert profiles.import_entry({"UserID": "a"}, BAD) == profiles.ImportEntry("a")
    assert profiles.import_entry({"Identifier": "a", "Nick": "N"}, BAD) == profiles.ImportEntry(
        "a", "N", None
    )
    assert profiles.import_entry({"UserID": "a", "FaceUrl": ""}, BAD).face_url == ""
    assert _code(profiles.import_entry, {"UserID": "a", "Nick": 3}, BAD) == BAD
    assert _code(profiles.import_entry, {"UserID": "a", "Nick": "x" * 501}, BAD) == BAD


def test_multi_import_old_and_new_forms() -> None:
    old = profiles.multi_import({"Accounts": ["a", "", "b" * 33, "a", "c"]}, 100, BAD)
    assert [e.user_id for e in old.entries] == ["a", "c"]
    assert old.rejected == ["", "b" * 33]
    new = profiles.multi_import(
        {
            "AccountList": [
                {"UserID": "a", "Nick": "one"},
                {"UserID": "b", "FaceUrl": "http://x"},
                {"UserID": "a", "Nick": "two"},
            ]
        },
        100,
        BAD,
    )
    assert new.entries == [
        profiles.ImportEntry("a", "two", None),
        profiles.ImportEntry("b", None, "http://x"),
    ]
    assert new.rejected == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"Accounts": []},
        {"Accounts": "a"},
        {"Accounts": ["a", 1]},
        {"Accounts": ["u"] * 101},
        {"AccountList": ["a"]},
        {"AccountList": [{"Nick": "x"}]},
        {"AccountList": [{"UserID": "a", "Nick": 1}]},
    ],
)
def test_multi_import_refuses_malformed_requests(body: dict[str, Any]) -> None:
    assert _code(profiles.multi_import, body, 100, BAD) == BAD


# ---- profile fields -------------------------------------------------------------------------


def test_custom_tag_names_are_letters_only_and_short() -> None:
    assert profiles.is_custom_tag("Tag_Profile_Custom_Test")
    assert profiles.is_custom_tag("Tag_Profile_Custom_abcdEFGH")
    for bad in ("Tag_Profile_Custom_", "Tag_Profile_Custom_abcdefghi", "Tag_Profile_Custom_a1"):
        assert not profiles.is_custom_tag(bad)
    assert not profiles.is_custom_tag("Tag_Profile_IM_Nick")


def test_declared_custom_fields_setting() -> None:
    assert profiles.declared_custom_fields({}) is None
    assert set(
        profiles.declared_custom_fields(
            {"profile_custom_fields": ["Test", "Tag_Profile_Custom_Hobby", "bad name", 3]}
        )
        or {}
    ) == {"Tag_Profile_Custom_Test", "Tag_Profile_Custom_Hobby"}
    assert profiles.declared_custom_fields({"profile_custom_fields": "Test"}) == {}


def test_profile_items_accept_every_standard_tag() -> None:
    items = [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "MyNickName"},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Female"},
        {"Tag": "Tag_Profile_IM_BirthDay", "Value": 20190419},
        {"Tag": "Tag_Profile_IM_Location", "Value": "Shenzhen"},
        {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "hi"},
        {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_DenyAny"},
        {"Tag": "Tag_Profile_IM_Language", "Value": 2},
        {"Tag": "Tag_Profile_IM_Image", "Value": "http://x/a.png"},
        {"Tag": "Tag_Profile_IM_MsgSettings", "Value": 1},
        {"Tag": "Tag_Profile_IM_AdminForbidType", "Value": "AdminForbid_Type_SendOut"},
        {"Tag": "Tag_Profile_IM_Level", "Value": 0},
        {"Tag": "Tag_Profile_IM_Role", "Value": 4294967295},
        {"Tag": "Tag_Profile_Custom_Test", "Value": "x" * 500},
    ]
    values = profiles.profile_items(items, None)
    assert values == {i["Tag"]: i["Value"] for i in items}
    assert set(profiles.STANDARD_TAGS) <= set(values)


def test_a_repeated_tag_keeps_the_last_value() -> None:
    items = [
        {"Tag": "Tag_Profile_IM_Level", "Value": 1},
        {"Tag": "Tag_Profile_IM_Level", "Value": 2},
    ]
    assert profiles.profile_items(items, None) == {"Tag_Profile_IM_Level": 2}


@pytest.mark.parametrize(
    ("items", "code"),
    [
        (None, ErrorCode.PROFILE_INVALID_PARAM),
        ([], ErrorCode.PROFILE_INVALID_PARAM),
        ([{"Value": "x"}], ErrorCode.PROFILE_INVALID_PARAM),
        ([{"Tag": "Tag_Profile_IM_Nick"}], ErrorCode.PROFILE_INVALID_PARAM),
        (["Tag_Profile_IM_Nick"], ErrorCode.PROFILE_INVALID_PARAM),
        ([{"Tag": "Tag_Profile_IM_Bogus", "Value": "x"}], ErrorCode.PROFILE_TAG_NOT_FOUND),
        (
            [{"Tag": "Tag_Profile_Custom_TooLongName", "Value": "x"}],
            ErrorCode.PROFILE_TAG_NOT_FOUND,
        ),
        ([{"Tag": "Nick", "Value": "x"}], ErrorCode.PROFILE_TAG_NOT_FOUND),
        ([{"Tag": "Tag_Profile_IM_Nick", "Value": 5}], ErrorCode.PROFILE_VALUE_TYPE),
        ([{"Tag": "Tag_Profile_IM_Level", "Value": "5"}], ErrorCode.PROFILE_VALUE_TYPE),
        ([{"Tag": "Tag_Profile_IM_Level", "Value": True}], ErrorCode.PROFILE_VALUE_TYPE),
        ([{"Tag": "Tag_Profile_IM_Level", "Value": 1.5}], ErrorCode.PROFILE_VALUE_TYPE),
        ([{"Tag": "Tag_Profile_Custom_Test", "Value": 1}], ErrorCode.PROFILE_VALUE_TYPE),
        ([{"Tag": "Tag_Profile_IM_Nick", "Value": "x" * 501}], ErrorCode.PROFILE_VALUE_TOO_LONG),
        ([{"Tag": "Tag_Profile_IM_Nick", "Value": "字" * 167}], ErrorCode.PROFILE_VALUE_TOO_LONG),
        (
            [{"Tag": "Tag_Profile_Custom_Test", "Value": "x" * 501}],
            ErrorCode.PROFILE_VALUE_TOO_LONG,
        ),
        ([{"Tag": "Tag_Profile_IM_Gender", "Value": "Male"}], ErrorCode.PROFILE_VALUE_ERROR),
        ([{"Tag": "Tag_Profile_IM_AllowType", "Value": ""}], ErrorCode.PROFILE_VALUE_ERROR),
        ([{"Tag": "Tag_Profile_IM_Level", "Value": -1}], ErrorCode.PROFILE_VALUE_ERROR),
        ([{"Tag": "Tag_Profile_IM_BirthDay", "Value": 2**32}], ErrorCode.PROFILE_VALUE_ERROR),
    ],
)
def test_profile_items_refusals(items: Any, code: ErrorCode) -> None:
    assert _code(profiles.profile_items, items, None) == code


def _declared(*names: str, **spec: object) -> profiles.Declared:
    settings: dict[str, object] = {}
    for name in names:
        custom_fields.add_field(settings, custom_fields.PROFILE, {"name": name, **spec})
    return profiles.declared_custom_fields(settings)


def test_declared_custom_fields_limit_the_custom_tags() -> None:
    declared = _declared("Test")
    ok = [{"Tag": "Tag_Profile_Custom_Test", "Value": "x"}]
    assert profiles.profile_items(ok, declared) == {"Tag_Profile_Custom_Test": "x"}
    other = [{"Tag": "Tag_Profile_Custom_Other", "Value": "x"}]
    assert _code(profiles.profile_items, other, declared) == ErrorCode.PROFILE_TAG_NOT_FOUND
    assert _code(profiles.tag_list, ["Tag_Profile_Custom_Other"], declared) == 40009


def test_declared_permissions_and_types() -> None:
    declared = _declared("Test", admin_write=False, app_read=False)
    item = [{"Tag": "Tag_Profile_Custom_Test", "Value": "x"}]
    assert _code(profiles.profile_items, item, declared) == ErrorCode.PROFILE_NO_PERMISSION
    assert profiles.profile_items(item, declared, "app_write") == {"Tag_Profile_Custom_Test": "x"}
    assert profiles.tag_list(["Tag_Profile_Custom_Test"], declared) == ["Tag_Profile_Custom_Test"]
    code = _code(profiles.tag_list, ["Tag_Profile_Custom_Test"], declared, "app_read")
    assert code == ErrorCode.PROFILE_NO_PERMISSION
    number = _declared("Score", type="integer")
    assert profiles.profile_items([{"Tag": "Tag_Profile_Custom_Score", "Value": 7}], number) == {
        "Tag_Profile_Custom_Score": 7
    }
    text = [{"Tag": "Tag_Profile_Custom_Score", "Value": "7"}]
    code = _code(profiles.profile_items, text, number)
    assert code == ErrorCode.PROFILE_VALUE_TYPE


def test_tag_list() -> None:
    tags = ["Tag_Profile_IM_Nick", "Tag_Profile_Custom_Test", "Tag_Profile_IM_Nick"]
    assert profiles.tag_list(tags, None) == ["Tag_Profile_IM_Nick", "Tag_Profile_Custom_Test"]
    for bad in (None, [], "Tag_Profile_IM_Nick", [1]):
        assert _code(profiles.tag_list, bad, None) == ErrorCode.PROFILE_INVALID_PARAM
    assert _code(profiles.tag_list, ["Tag_Profile_IM_X"], None) == ErrorCode.PROFILE_TAG_NOT_FOUND


def test_at_most_twenty_custom_tags_without_declared_fields() -> None:
    known = {f"Tag_Profile_Custom_{chr(65 + i)}" for i in range(19)}
    assert profiles.new_custom_tags(
        ["Tag_Profile_Custom_Z", "Tag_Profile_IM_Nick", "Tag_Profile_Custom_A"], known, None
    ) == ["Tag_Profile_Custom_Z"]
    full = known | {"Tag_Profile_Custom_Z"}
    assert profiles.new_custom_tags(["Tag_Profile_Custom_A"], full, None) == []
    code = _code(profiles.new_custom_tags, ["Tag_Profile_Custom_Y"], full, None)
    assert code == ErrorCode.PROFILE_TAG_NOT_FOUND
    # Declared fields are the app's own list: no counting.
    declared = _declared("Y")
    assert profiles.new_custom_tags(["Tag_Profile_Custom_Y"], full, declared) == [
        "Tag_Profile_Custom_Y"
    ]


def test_unset_tags_read_as_their_defaults() -> None:
    tags = [
        "Tag_Profile_IM_Nick",
        "Tag_Profile_IM_Gender",
        "Tag_Profile_IM_AllowType",
        "Tag_Profile_IM_AdminForbidType",
        "Tag_Profile_IM_Level",
        "Tag_Profile_Custom_Test",
    ]
    got = profiles.profile_item_list(tags, {"Tag_Profile_IM_Level": 3})
    assert got == [
        {"Tag": "Tag_Profile_IM_Nick", "Value": ""},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Unknown"},
        {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_NeedConfirm"},
        {"Tag": "Tag_Profile_IM_AdminForbidType", "Value": "AdminForbid_Type_None"},
        {"Tag": "Tag_Profile_IM_Level", "Value": 3},
        {"Tag": "Tag_Profile_Custom_Test", "Value": ""},
    ]


# ---- presence -------------------------------------------------------------------------------


def test_presence() -> None:
    assert profiles.presence([], need_detail=True) == {"Status": "Offline"}
    sessions = ["Web", "Windows", "iPhone"]
    assert profiles.presence(sessions, need_detail=False) == {"Status": "Online"}
    assert profiles.presence(sessions, need_detail=True) == {
        "Status": "Online",
        "Detail": [
            {"Platform": "PC", "Status": "Online"},
            {"Platform": "Web", "Status": "Online"},
            {"Platform": "iPhone", "Status": "Online"},
        ],
    }


# ---- global no-speaking ---------------------------------------------------------------------


def test_no_speaking_deadlines() -> None:
    now = 1_700_000_000
    assert profiles.no_speaking_deadline(0, now) == 0
    assert profiles.no_speaking_deadline(7200, now) == now + 7200
    assert profiles.no_speaking_deadline(4294967295, now) == FOREVER
    assert profiles.no_speaking_remaining(0, now) == 0
    assert profiles.no_speaking_remaining(now + 7200, now + 4) == 7196
    assert profiles.no_speaking_remaining(now - 1, now) == 0
    assert profiles.no_speaking_remaining(FOREVER, now) == 4294967295
    # 4294967294 seconds is a long, but finite, mute.
    assert profiles.no_speaking_remaining(profiles.no_speaking_deadline(4294967294, now), now) == (
        4294967294
    )


class _MemoryNoSpeaking:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], NoSpeaking] = {}
        self.reads = 0
        self.hold_reads: asyncio.Event | None = None

    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        old = self.rows.get((sdkappid, user_id), NoSpeaking())
        self.rows[(sdkappid, user_id)] = NoSpeaking(
            old.c2c_until if c2c_until is None else c2c_until,
            old.group_until if group_until is None else group_until,
        )

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        self.reads += 1
        state = self.rows.get((sdkappid, user_id), NoSpeaking())
        if self.hold_reads is not None:
            await self.hold_reads.wait()
        return state

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        for u in user_ids:
            self.rows.pop((sdkappid, u), None)


async def test_cached_no_speaking_reads_once_per_ttl_and_sees_its_own_writes() -> None:
    inner = _MemoryNoSpeaking()
    cache = CachedNoSpeakingStore(inner, ttl_s=60)
    for _ in range(5):
        assert await cache.get(1, "u") == NoSpeaking()
    assert inner.reads == 1
    await cache.set(1, "u", c2c_until=100, group_until=None)
    assert await cache.get(1, "u") == NoSpeaking(100, 0)
    await cache.delete_users(1, ["u"])
    assert await cache.get(1, "u") == NoSpeaking()
    assert await cache.get(2, "u") == NoSpeaking()
    assert inner.reads == 4


async def test_cached_no_speaking_sees_other_writers_after_the_ttl() -> None:
    inner = _MemoryNoSpeaking()
    cache = CachedNoSpeakingStore(inner, ttl_s=0.05)
    other_node = CachedNoSpeakingStore(inner, ttl_s=0.05)
    assert await cache.get(1, "u") == NoSpeaking()
    await other_node.set(1, "u", c2c_until=FOREVER, group_until=None)
    assert await cache.get(1, "u") == NoSpeaking()
    await asyncio.sleep(0.06)
    assert (await cache.get(1, "u")).c2c_muted(0)


async def test_a_read_overlapping_a_write_is_not_cached() -> None:
    inner = _MemoryNoSpeaking()
    cache = CachedNoSpeakingStore(inner, ttl_s=60)
    inner.hold_reads = asyncio.Event()
    stale_read = asyncio.ensure_future(cache.get(1, "u"))
    await asyncio.sleep(0)
    await cache.set(1, "u", c2c_until=FOREVER, group_until=None)
    inner.hold_reads.set()
    assert await stale_read == NoSpeaking()
    inner.hold_reads = None
    assert (await cache.get(1, "u")).c2c_muted(0)
