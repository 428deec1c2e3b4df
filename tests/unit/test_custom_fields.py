"""The custom-field declarations (services/common/custom_fields.py): names, counts, types,
permissions, what may change afterwards, and the checks the REST commands make."""

from __future__ import annotations

from typing import Any

import pytest

from services.common import custom_fields as cf
from services.common.custom_fields import CustomFieldError, FieldExists, FieldNotFound
from services.common.errors import ErrorCode, TidingsError


def _code(fn: Any, *args: Any) -> int:
    with pytest.raises(TidingsError) as err:
        fn(*args)
    return int(err.value.code)


def test_a_profile_field_is_declared_with_every_permission_by_default() -> None:
    settings: dict[str, object] = {}
    added = cf.add_field(settings, cf.PROFILE, {"name": "Hobby"})
    assert added.doc() == {
        "name": "Hobby",
        "tag": "Tag_Profile_Custom_Hobby",
        "type": "string",
        "app_read": True,
        "app_write": True,
        "admin_read": True,
        "admin_write": True,
    }
    assert cf.view(settings)["profile"] == [added.doc()]
    assert set(cf.declared(settings, cf.PROFILE) or {}) == {"Tag_Profile_Custom_Hobby"}


@pytest.mark.parametrize(
    ("kind", "raw", "says"),
    [
        (cf.PROFILE, {"name": "Hobby1"}, "English letters"),
        (cf.PROFILE, {"name": "Abcdefghi"}, "English letters"),
        (cf.FRIEND, {"name": ""}, "English letters"),
        (cf.GROUP, {"name": "1st"}, "not starting with a digit"),
        (cf.MEMBER, {"name": "a" * 17}, "1 to 16"),
        (cf.GROUP, {"name": "Level"}, "at least one group type"),
        (cf.GROUP, {"name": "Level", "types": {"Private": {}, "Work": {}}}, "given twice"),
        (cf.GROUP, {"name": "Level", "types": {"Room": {}}}, "unknown group type"),
        (cf.GROUP, {"name": "Level", "types": {"Work": {"read": "all"}}}, "types.Work.read"),
        (cf.GROUP, {"name": "Level", "types": {"Work": {"self": "read"}}}, "unknown field"),
        (cf.GROUP, {"name": "Level", "type": "integer", "types": {"Work": {}}}, "type must"),
        (cf.PROFILE, {"name": "Hobby", "app_read": False, "admin_read": False}, "read perm"),
        (cf.PROFILE, {"name": "Hobby", "app_write": False, "admin_write": False}, "write"),
        (cf.PROFILE, {"name": "Hobby", "tag": "Tag_Profile_Custom_Other"}, "tag must be"),
        (cf.FRIEND, {"name": "Tag", "app_read": True}, "unknown field"),
    ],
)
def test_declarations_that_break_a_rule(kind: str, raw: dict[str, Any], says: str) -> None:
    with pytest.raises(CustomFieldError, match=says):
        cf.add_field({}, kind, raw)


def test_counts_and_unique_names() -> None:
    settings: dict[str, object] = {}
    for i in range(5):
        cf.add_field(settings, cf.MEMBER, {"name": f"m{i}", "types": {"Public": {}}})
    with pytest.raises(CustomFieldError, match="at most 5"):
        cf.add_field(settings, cf.MEMBER, {"name": "m5", "types": {"Public": {}}})
    with pytest.raises(FieldExists):
        cf.add_field(settings, cf.MEMBER, {"name": "m0", "types": {"Work": {}}})
    with pytest.raises(CustomFieldError, match="already a member field"):
        cf.add_field(settings, cf.GROUP, {"name": "m1", "types": {"Work": {}}})
    for i in range(20):
        cf.add_field(settings, cf.FRIEND, {"name": "F" + chr(97 + i)})
    with pytest.raises(CustomFieldError, match="at most 20"):
        cf.add_field(settings, cf.FRIEND, {"name": "Fz"})
    with pytest.raises(FieldNotFound):
        cf.add_field(settings, "topic", {"name": "x"})


def test_permissions_change_but_name_type_and_group_types_stay() -> None:
    settings: dict[str, object] = {}
    cf.add_field(settings, cf.PROFILE, {"name": "Hobby", "type": "integer"})
    changed = cf.update_field(settings, cf.PROFILE, "Hobby", {"app_write": False})
    assert changed.permissions == {"app_read", "admin_read", "admin_write"}
    assert changed.type == "integer"
    with pytest.raises(CustomFieldError, match="type cannot change"):
        cf.update_field(settings, cf.PROFILE, "Hobby", {"type": "string"})
    with pytest.raises(CustomFieldError, match="name cannot change"):
        cf.update_field(settings, cf.PROFILE, "Hobby", {"name": "Other"})
    with pytest.raises(CustomFieldError, match="one write"):
        cf.update_field(settings, cf.PROFILE, "Hobby", {"admin_write": False})
    with pytest.raises(FieldNotFound):
        cf.update_field(settings, cf.PROFILE, "Nope", {})

    cf.add_field(settings, cf.MEMBER, {"name": "seat", "types": {"Public": {"read": "everyone"}}})
    member = cf.update_field(
        settings, cf.MEMBER, "seat", {"types": {"Public": {"write": "owner"}, "ChatRoom": {}}}
    )
    assert member.doc()["types"] == {
        "Public": {"read": "everyone", "write": "owner", "self": "read_write"},
        "Meeting": {"read": "member", "write": "admin", "self": "read_write"},
    }
    # A group type left out of a change is kept: none is ever removed.
    kept = cf.update_field(settings, cf.MEMBER, "seat", {"types": {"Work": {"self": "none"}}})
    assert set(kept.rows) == {"Public", "Meeting", "Work"}
    cf.add_field(settings, cf.FRIEND, {"name": "Rank"})
    with pytest.raises(CustomFieldError, match="nothing of it can change"):
        cf.update_field(settings, cf.FRIEND, "Rank", {})


def test_the_legacy_profile_list_is_read_then_replaced() -> None:
    settings: dict[str, object] = {"profile_custom_fields": ["Test", "Tag_Profile_Custom_B", 3]}
    assert set(cf.declared(settings, cf.PROFILE) or {}) == {
        "Tag_Profile_Custom_Test",
        "Tag_Profile_Custom_B",
    }
    assert cf.declared({"profile_custom_fields": "Test"}, cf.PROFILE) == {}
    assert cf.declared({}, cf.PROFILE) is None
    cf.add_field(settings, cf.PROFILE, {"name": "New", "app_read": False})
    assert "profile_custom_fields" not in settings
    assert [f["name"] for f in cf.view(settings)["profile"]] == ["Test", "B", "New"]


def test_friend_items_must_be_declared_and_of_their_type() -> None:
    cf.check_friend_items({}, [{"Tag": "Tag_SNS_Custom_Any", "Value": "x"}])
    settings: dict[str, object] = {}
    cf.add_field(settings, cf.FRIEND, {"name": "Rank", "type": "integer"})
    cf.check_friend_items(
        settings,
        [{"Tag": "Tag_SNS_Custom_Rank", "Value": 3}, {"Tag": "Tag_SNS_IM_Remark", "Value": "r"}],
    )
    bad = ErrorCode.SNS_INVALID_PARAM
    undeclared = [{"Tag": "Tag_SNS_Custom_Other", "Value": "x"}]
    assert _code(cf.check_friend_items, settings, undeclared) == bad
    wrong_type = [{"Tag": "Tag_SNS_Custom_Rank", "Value": "3"}]
    assert _code(cf.check_friend_items, settings, wrong_type) == bad


def test_group_data_must_be_declared_for_the_group_type() -> None:
    cf.check_group_data({}, "Public", {"any": "x"}, [{"any": "y"}])
    settings: dict[str, object] = {}
    cf.add_field(settings, cf.GROUP, {"name": "level", "types": {"Public": {}}})
    cf.check_group_data(settings, "Public", {"level": "1"}, [{"free": "ok"}])
    # Clearing a key is always allowed.
    cf.check_group_data(settings, "Work", {"level": "", "stale": ""})
    bad = ErrorCode.GROUP_INVALID_PARAM
    assert _code(cf.check_group_data, settings, "Work", {"level": "1"}) == bad
    assert _code(cf.check_group_data, settings, "Public", {"other": "1"}) == bad
    cf.add_field(settings, cf.MEMBER, {"name": "seat", "types": {"Private": {}}})
    cf.check_group_data(settings, "Work", {}, [{"seat": "3"}])
    assert _code(cf.check_group_data, settings, "Public", {}, [{}, {"seat": "3"}]) == bad


def test_stored_entries_that_are_not_well_formed_are_skipped() -> None:
    settings: dict[str, object] = {
        "custom_group_fields": [{"name": "ok", "types": {"Work": {}}}, {"name": "9bad"}, 7]
    }
    assert [f.name for f in cf.fields_of(settings, cf.GROUP)] == ["ok"]
