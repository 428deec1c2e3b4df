"""Tencent's group rules, without I/O."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway import group_rules as rules


def _code(exc: pytest.ExceptionInfo[TidingsError]) -> ErrorCode:
    return exc.value.code


def test_types_accept_old_and_new_names() -> None:
    assert rules.canonical_type("Private") == rules.canonical_type("Work") == "Work"
    assert rules.canonical_type("ChatRoom") == rules.canonical_type("Meeting") == "Meeting"
    for name in ("Public", "AVChatRoom", "Community"):
        assert rules.canonical_type(name) == name
    assert rules.canonical_type("BChatRoom") is None
    with pytest.raises(TidingsError) as err:
        rules.require_type("work")
    assert _code(err) == ErrorCode.GROUP_INVALID_PARAM and "Work" in err.value.info


def test_join_option_defaults_and_restrictions() -> None:
    defaults = {t: rules.resolve_apply_join_option(t, None) for t in rules.GROUP_TYPES}
    assert defaults == {
        "Work": "DisableApply",
        "Public": "NeedPermission",
        "Meeting": "FreeAccess",
        "AVChatRoom": "FreeAccess",
        "Community": "FreeAccess",
    }
    assert rules.resolve_apply_join_option("Work", "NeedPermission") == "NeedPermission"
    for bad_type, bad_value in (("Public", "Anyone"), ("AVChatRoom", "NeedPermission")):
        with pytest.raises(TidingsError) as err:
            rules.resolve_apply_join_option(bad_type, bad_value)
        assert _code(err) == ErrorCode.GROUP_INVALID_PARAM

    assert rules.resolve_invite_join_option("Work", None) == "FreeAccess"
    assert rules.resolve_invite_join_option("Public", None) == "DisableInvite"
    assert rules.resolve_invite_join_option("Meeting", "NeedPermission") == "NeedPermission"
    assert rules.resolve_invite_join_option("Community", "DisableInvite") == "DisableInvite"
    with pytest.raises(TidingsError):
        rules.resolve_invite_join_option("AVChatRoom", "FreeAccess")
    with pytest.raises(TidingsError):
        rules.resolve_invite_join_option("Public", "DisableApply")


def test_capacity_by_type_and_edition() -> None:
    assert rules.member_capacity("Public", "Developer") == 20
    assert rules.member_capacity("Work", "Developer") == 20
    assert rules.member_capacity("Public", "Standard") == 200
    assert rules.member_capacity("Work", "Standard") == 2000
    assert rules.member_capacity("Meeting", "Premium") == 2000
    # The Premium group-member add-on (an app setting) lifts it to 6,000; other editions ignore it.
    assert rules.member_capacity("Meeting", "Premium", addon=True) == 6000
    assert rules.member_capacity("Public", "Standard", addon=True) == 200
    assert rules.member_capacity("Community", "Developer") == 100_000
    assert rules.member_capacity("AVChatRoom", "Premium") is None

    assert rules.resolve_max_members("Public", "Standard", None) == 200
    assert rules.resolve_max_members("Public", "Standard", 50) == 50
    assert rules.resolve_max_members("AVChatRoom", "Standard", 10) == 0
    with pytest.raises(TidingsError) as err:
        rules.resolve_max_members("Public", "Standard", 201)
    assert _code(err) == ErrorCode.GROUP_MEMBER_LIMIT
    with pytest.raises(TidingsError) as err:
        rules.resolve_max_members("Public", "Standard", 0)
    assert _code(err) == ErrorCode.GROUP_INVALID_PARAM
    with pytest.raises(TidingsError) as err:
        rules.resolve_max_members("Public", "Standard", 5, current_members=6)
    assert _code(err) == ErrorCode.GROUP_INVALID_PARAM


def test_room_quota_and_request_sizes() -> None:
    rules.check_room(10, 8, 2)
    rules.check_room(0, 10**6, 1)
    with pytest.raises(TidingsError) as err:
        rules.check_room(10, 9, 2)
    assert _code(err) == ErrorCode.GROUP_FULL

    rules.check_join_quota({"a": 49, "b": 0}, 50)
    with pytest.raises(TidingsError) as err:
        rules.check_join_quota({"a": 49, "b": 50, "c": 51}, 50)
    assert _code(err) == ErrorCode.GROUP_JOINED_LIMIT and "b, c" in err.value.info

    rules.check_account_count(500, 500, "Members_Account")
    with pytest.raises(TidingsError) as err:
        rules.check_account_count(501, 500, "Members_Account")
    assert _code(err) == ErrorCode.GROUP_TOO_MANY_ACCOUNTS


def test_roles_and_mutes() -> None:
    rules.check_role_change("Member", "Admin")
    rules.check_role_change("Admin", "Member")
    for current, new in (("Owner", "Member"), ("Member", "Owner"), ("Member", "admin")):
        with pytest.raises(TidingsError) as err:
            rules.check_role_change(current, new)
        assert _code(err) == ErrorCode.GROUP_INVALID_PARAM

    assert rules.mute_until(1000, 0) == 0
    assert rules.mute_until(1000, 60) == 1060
    assert rules.mute_until(1000, rules.PERMANENT_MUTE) == rules.PERMANENT_MUTE
    assert rules.is_muted(1060, 1000) and not rules.is_muted(1000, 1000)
    with pytest.raises(TidingsError) as err:
        rules.require_mutable_members("Work")
    assert _code(err) == ErrorCode.GROUP_NO_PERMISSION
    rules.require_mutable_members("Public")
    with pytest.raises(TidingsError) as err:
        rules.require_transferable("AVChatRoom")
    assert _code(err) == ErrorCode.GROUP_NO_PERMISSION
    with pytest.raises(TidingsError) as err:
        rules.require_member_list("AVChatRoom", "add_group_member")
    assert _code(err) == ErrorCode.GROUP_NO_PERMISSION
    assert not rules.counts_against_join_quota("AVChatRoom")
    assert rules.counts_against_join_quota("Work")


def test_group_id_formats() -> None:
    assert rules.is_well_formed_group_id("MyFirstGroup")
    assert rules.is_well_formed_group_id("with space ~")
    assert not rules.is_well_formed_group_id("")
    assert not rules.is_well_formed_group_id("x" * 49)
    assert not rules.is_well_formed_group_id("群")
    assert not rules.is_well_formed_group_id("tab\there")
    with pytest.raises(TidingsError) as err:
        rules.require_group_id("x" * 49)
    assert _code(err) == ErrorCode.GROUP_INVALID_ID

    rules.check_custom_group_id("MyFirstGroup", "Public")
    rules.check_custom_group_id("@TGS#_mine", "Community")
    for group_id, group_type in (
        ("@TGS#2ABCDEF", "Public"),
        ("mine", "Community"),
        ("@TGS#_", "Community"),
        ("群组", "Work"),
        ("x" * 49, "Work"),
    ):
        with pytest.raises(TidingsError) as err:
            rules.check_custom_group_id(group_id, group_type)
        assert _code(err) == ErrorCode.GROUP_INVALID_PARAM

    body = rules.random_id_body()
    assert len(body) == 10 and body.isalnum() and body.upper() == body
    assert rules.generated_group_id("Public", "ABC") == "@TGS#2ABC"
    assert rules.generated_group_id("Work", "ABC") == "@TGS#1ABC"
    assert rules.generated_group_id("Meeting", "ABC") == "@TGS#3ABC"
    assert rules.generated_group_id("AVChatRoom", "ABC") == "@TGS#aABC"
    community = rules.generated_group_id("Community", body)
    assert community.startswith("@TGS#_@TGS#c") and rules.is_well_formed_group_id(community)
    rules.check_custom_group_id(community, "Community")


def test_custom_fields() -> None:
    parsed = rules.parse_defined_data(
        [{"Key": "Level", "Value": "3"}, {"Key": "_zone2", "Value": ""}], "AppDefinedData", 10, 512
    )
    assert parsed == {"Level": "3", "_zone2": ""}
    assert rules.without_empty(parsed) == {"Level": "3"}
    assert rules.parse_defined_data(None, "AppDefinedData", 10, 512) == {}
    bad_inputs = [
        {"Key": "Level"},
        [{"Key": "2nd", "Value": "x"}],
        [{"Key": "x" * 17, "Value": "x"}],
        [{"Key": "bad-key", "Value": "x"}],
        [{"Key": "K", "Value": 3}],
        [{"Key": "K", "Value": "x" * 65}],
        [{"Key": f"K{n}", "Value": "x"} for n in range(6)],
        ["K"],
    ]
    for raw in bad_inputs:
        with pytest.raises(TidingsError) as err:
            rules.parse_defined_data(raw, "AppMemberDefinedData", 5, 64)
        assert _code(err) == ErrorCode.GROUP_INVALID_PARAM

    merged = rules.merge_defined_data({"A": "1", "B": "2"}, {"A": "", "C": "3"}, "X", 2)
    assert merged == {"B": "2", "C": "3"}
    with pytest.raises(TidingsError):
        rules.merge_defined_data({"A": "1", "B": "2"}, {"C": "3"}, "X", 2)


def test_joined_group_listing_and_paging() -> None:
    assert not rules.listed_in_joined_groups("AVChatRoom", 5, False, True)
    assert rules.listed_in_joined_groups("AVChatRoom", 0, True, False)
    assert not rules.listed_in_joined_groups("Work", 0, True, False)
    assert rules.listed_in_joined_groups("Work", 0, False, True)
    assert rules.listed_in_joined_groups("Work", 1_700_000_000, False, False)
    assert rules.listed_in_joined_groups("Public", 0, False, False)
    assert rules.page([1, 2, 3, 4], 1, 2) == [2, 3]
    assert rules.page([1, 2, 3, 4], 1, None) == [2, 3, 4]
    assert rules.page([1, 2], 5, 1) == []
