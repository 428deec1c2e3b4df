"""The relationship chain's pure rules: field formats, add decisions, relations, paging."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.sns import Friend
from services.gateway import sns_rules as rules
from services.gateway.rest_v4.sns_common import allow_type_of

BAD = ErrorCode.SNS_INVALID_PARAM


def _code(exc: pytest.ExceptionInfo[TidingsError]) -> int:
    return int(exc.value.code)


# ---- field formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["AddSource_Type_Android", "AddSource_Type_Web", "AddSource_Type_abcdefgh"]
)
def test_add_source_accepts_prefix_and_letters(value: str) -> None:
    assert rules.add_source(value) == value


@pytest.mark.parametrize(
    "value",
    [None, 3, "Android", "AddSource_Type_", "AddSource_Type_abcdefghi", "AddSource_Type_Web2"],
)
def test_add_source_refuses_other_shapes(value: object) -> None:
    with pytest.raises(TidingsError) as exc:
        rules.add_source(value)
    assert _code(exc) == BAD and "AddSource" in exc.value.info


def test_bounded_text_counts_bytes() -> None:
    assert rules.bounded_text(None, "Remark", 96) == ""
    assert rules.bounded_text("备" * 32, "Remark", 96) == "备" * 32
    with pytest.raises(TidingsError, match="longer than 96 bytes"):
        rules.bounded_text("备" * 33, "Remark", 96)
    with pytest.raises(TidingsError, match="must be a string"):
        rules.bounded_text(5, "Remark", 96)


def test_group_names_rules() -> None:
    assert rules.group_names("同学", "GroupName") == ("同学",)
    assert rules.group_names(["a", "b", "a"], "GroupName") == ("a", "b")
    for bad in ([""], ["x" * 31], [1], "", 7):
        with pytest.raises(TidingsError) as exc:
            rules.group_names(bad, "GroupName")
        assert _code(exc) == BAD
    with pytest.raises(TidingsError) as exc:
        rules.group_names([f"g{i}" for i in range(33)], "GroupName")
    assert _code(exc) == ErrorCode.SNS_GROUP_LIMIT


def test_custom_field_rules() -> None:
    assert rules.custom_field("Tag_SNS_Custom_Test", "x") == ("Tag_SNS_Custom_Test", "x")
    assert rules.custom_field("Tag_SNS_Custom_Num", 0) == ("Tag_SNS_Custom_Num", 0)
    for tag, value in [
        ("Tag_SNS_IM_Remark", "x"),
        ("Tag_SNS_Custom_", "x"),
        ("Tag_SNS_Custom_TooLongNm", "x"),
        ("Tag_SNS_Custom_A1", "x"),
        ("Tag_SNS_Custom_Ok", True),
        ("Tag_SNS_Custom_Ok", ["x"]),
        ("Tag_SNS_Custom_Ok", "x" * 501),
    ]:
        with pytest.raises(TidingsError) as exc:
            rules.custom_field(tag, value)
        assert _code(exc) == BAD


def test_custom_fields_at_most_twenty() -> None:
    names = [chr(ord("A") + i) for i in range(21)]
    items = [{"Tag": f"Tag_SNS_Custom_{n}", "Value": "v"} for n in names]
    assert len(rules.custom_fields(items[:20], "CustomItem")) == 20
    with pytest.raises(TidingsError, match="at most 20"):
        rules.custom_fields(items, "CustomItem")
    with pytest.raises(TidingsError):
        rules.custom_fields("nope", "CustomItem")


def test_user_ids_and_lists() -> None:
    assert rules.user_ids(["a", "b", "a"], "To_Account") == ["a", "b"]
    assert rules.user_ids(None, "To_Account", required=False) == []
    for bad in (None, [], "a", [1], [""], ["x" * 33], ["u"] * 0):
        with pytest.raises(TidingsError) as exc:
            rules.user_ids(bad, "To_Account")
        assert _code(exc) == BAD
    with pytest.raises(TidingsError, match="more than 1000"):
        rules.user_ids([f"u{i}" for i in range(1001)], "To_Account")
    with pytest.raises(TidingsError, match="non-empty array"):
        rules.object_list([], "AddFriendItem")
    with pytest.raises(TidingsError, match="objects"):
        rules.object_list(["x"], "AddFriendItem")


def test_choice_defaults_and_refuses_unknown_values() -> None:
    allowed = (rules.ADD_TYPE_SINGLE, rules.ADD_TYPE_BOTH)
    assert (
        rules.choice(None, "AddType", allowed, default=rules.ADD_TYPE_BOTH) == rules.ADD_TYPE_BOTH
    )
    assert rules.choice("Add_Type_Single", "AddType", allowed) == rules.ADD_TYPE_SINGLE
    with pytest.raises(TidingsError, match="AddType must be one of"):
        rules.choice("Add_Type_Whatever", "AddType", allowed)
    with pytest.raises(TidingsError, match="CheckType is required"):
        rules.choice(None, "CheckType", (rules.CHECK_TYPE_BOTH,))


# ---- friend_update items ---------------------------------------------------------------------


def test_apply_sns_items_updates_standard_and_custom_fields() -> None:
    friend = Friend("a", "b", add_time=1, custom={"Tag_SNS_Custom_Old": "o"})
    updated = rules.apply_sns_items(
        friend,
        [
            {"Tag": "Tag_SNS_IM_Remark", "Value": "Bobby"},
            {"Tag": "Tag_SNS_IM_Group", "Value": ["g1", "g2"]},
            {"Tag": "Tag_SNS_IM_AddWording", "Value": "hey"},
            {"Tag": "Tag_SNS_Custom_Test", "Value": "t"},
        ],
        now=99,
    )
    assert updated == replace(
        friend,
        remark="Bobby",
        remark_time=99,
        groups=("g1", "g2"),
        add_wording="hey",
        custom={"Tag_SNS_Custom_Old": "o", "Tag_SNS_Custom_Test": "t"},
    )


@pytest.mark.parametrize(
    "items",
    [
        None,
        [],
        ["x"],
        [{"Tag": "Tag_SNS_IM_AddTime", "Value": 5}],
        [{"Tag": "Tag_SNS_IM_AddSource", "Value": "AddSource_Type_X"}],
        [{"Tag": "Tag_SNS_IM_Remark", "Value": 5}],
        [{"Tag": "Tag_SNS_IM_Remark", "Value": "r" * 97}],
        [{"Tag": "Tag_Unknown", "Value": "x"}],
    ],
)
def test_apply_sns_items_refuses_bad_items(items: object) -> None:
    with pytest.raises(TidingsError) as exc:
        rules.apply_sns_items(Friend("a", "b"), items, now=1)
    assert _code(exc) == BAD


# ---- friend_add and friend_import decisions --------------------------------------------------


def _facts(**overrides: object) -> rules.AddFacts:
    base = rules.AddFacts(
        is_self=False,
        exists=True,
        a_blocked_b=False,
        b_blocked_a=False,
        a_has_b=False,
        b_has_a=False,
        both=True,
        forced=False,
        b_allow_type=rules.ALLOW_TYPE_ANY,
        a_friend_count=0,
        b_friend_count=0,
        friend_limit=20,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({}, None),
        ({"is_self": True}, BAD),
        ({"exists": False}, ErrorCode.SNS_ACCOUNT_NOT_FOUND),
        ({"a_has_b": True, "b_has_a": True}, BAD),
        ({"a_has_b": True, "both": False}, BAD),
        # Both: A already has B but B lacks A, so B's side is still added.
        ({"a_has_b": True}, None),
        ({"a_blocked_b": True}, ErrorCode.SNS_IN_SELF_BLACKLIST),
        ({"b_blocked_a": True}, ErrorCode.SNS_IN_PEER_BLACKLIST),
        ({"b_blocked_a": True, "forced": True}, ErrorCode.SNS_IN_PEER_BLACKLIST),
        ({"b_allow_type": rules.ALLOW_TYPE_DENY_ANY}, ErrorCode.SNS_ALLOW_TYPE_DENY_ANY),
        ({"b_allow_type": rules.ALLOW_TYPE_NEED_CONFIRM}, ErrorCode.SNS_ALLOW_TYPE_NEED_CONFIRM),
        ({"b_allow_type": rules.ALLOW_TYPE_DENY_ANY, "forced": True}, None),
        ({"b_allow_type": rules.ALLOW_TYPE_NEED_CONFIRM, "forced": True}, None),
        ({"a_friend_count": 20}, ErrorCode.SNS_FRIEND_LIMIT),
        ({"a_friend_count": 19}, None),
        ({"b_friend_count": 20}, ErrorCode.SNS_PEER_FRIEND_LIMIT),
        ({"b_friend_count": 20, "both": False}, None),
        ({"b_friend_count": 20, "b_has_a": True}, None),
    ],
)
def test_add_refusal(overrides: dict[str, object], code: ErrorCode | None) -> None:
    refusal = rules.add_refusal(_facts(**overrides))
    assert (refusal[0] if refusal else None) == code


def test_friend_exist_has_tencents_result_info() -> None:
    refusal = rules.add_refusal(_facts(a_has_b=True, b_has_a=True))
    assert refusal == (BAD, "Err_SNS_FriendAdd_Friend_Exist")


def test_import_refusal() -> None:
    def refusal(
        *, is_self: bool = False, exists: bool = True, a_has_b: bool = False, count: int = 0
    ) -> int | None:
        got = rules.import_refusal(
            is_self=is_self,
            exists=exists,
            a_has_b=a_has_b,
            a_friend_count=count,
            friend_limit=3000,
        )
        return int(got[0]) if got else None

    assert refusal() is None
    assert refusal(is_self=True) == BAD
    assert refusal(exists=False) == ErrorCode.SNS_ACCOUNT_NOT_FOUND
    assert refusal(a_has_b=True) == BAD
    assert refusal(count=3000) == ErrorCode.SNS_FRIEND_LIMIT


# ---- relations, reading, paging --------------------------------------------------------------


@pytest.mark.parametrize(
    ("a_has_b", "b_has_a", "both", "relation"),
    [
        (True, True, True, "CheckResult_Type_BothWay"),
        (True, False, True, "CheckResult_Type_AWithB"),
        (False, True, True, "CheckResult_Type_BWithA"),
        (False, False, True, "CheckResult_Type_NoRelation"),
        (True, True, False, "CheckResult_Type_AWithB"),
        (False, True, False, "CheckResult_Type_NoRelation"),
    ],
)
def test_friend_relation(a_has_b: bool, b_has_a: bool, both: bool, relation: str) -> None:
    assert rules.friend_relation(a_has_b, b_has_a, both) == relation


@pytest.mark.parametrize(
    ("a_blocked_b", "b_blocked_a", "both", "relation"),
    [
        (True, True, True, "BlackCheckResult_Type_BothWay"),
        (True, False, True, "BlackCheckResult_Type_AWithB"),
        (False, True, True, "BlackCheckResult_Type_BWithA"),
        (False, False, True, "BlackCheckResult_Type_NO"),
        (True, True, False, "BlackCheckResult_Type_AWithB"),
        (False, True, False, "BlackCheckResult_Type_NO"),
    ],
)
def test_black_relation(a_blocked_b: bool, b_blocked_a: bool, both: bool, relation: str) -> None:
    assert rules.black_relation(a_blocked_b, b_blocked_a, both) == relation


def test_value_items_leave_out_unset_fields_and_split_standard_from_custom() -> None:
    friend = Friend(
        "a",
        "b",
        groups=("g",),
        add_source="AddSource_Type_IOS",
        add_time=7,
        custom={"Tag_SNS_Custom_Z": "z", "Tag_SNS_Custom_A": 0},
    )
    assert rules.value_items(friend, standard=True, custom=True) == [
        {"Tag": "Tag_SNS_IM_AddSource", "Value": "AddSource_Type_IOS"},
        {"Tag": "Tag_SNS_IM_Group", "Value": ["g"]},
        {"Tag": "Tag_SNS_IM_AddTime", "Value": 7},
        {"Tag": "Tag_SNS_Custom_A", "Value": 0},
        {"Tag": "Tag_SNS_Custom_Z", "Value": "z"},
    ]
    assert rules.value_items(friend, standard=False, custom=True) == [
        {"Tag": "Tag_SNS_Custom_A", "Value": 0},
        {"Tag": "Tag_SNS_Custom_Z", "Value": "z"},
    ]
    assert rules.value_items(friend, standard=False, custom=False) == []
    assert rules.sns_value(friend, "Tag_SNS_IM_Remark") is None
    assert rules.sns_value(friend, "Tag_SNS_Custom_None") is None


def test_page() -> None:
    items = list(range(5))
    assert rules.page(items, 0, 2) == ([0, 1], 2)
    assert rules.page(items, 2, 2) == ([2, 3], 4)
    assert rules.page(items, 4, 2) == ([4], 0)
    assert rules.page(items, 0, 5) == ([0, 1, 2, 3, 4], 0)
    assert rules.page(items, 9, 2) == ([], 0)


def test_batch_reply_lists_failures_only_when_some_failed() -> None:
    ok = rules.result_item("a")
    assert rules.batch_reply([ok]) == {"ResultItem": [ok]}
    failed = rules.result_item("b", ErrorCode.SNS_ACCOUNT_NOT_FOUND, "x")
    assert rules.batch_reply([ok, failed], key="InfoItem") == {
        "InfoItem": [ok, {"To_Account": "b", "ResultCode": 30003, "ResultInfo": "x"}],
        "Fail_Account": ["b"],
    }


def test_merge_groups_keeps_order() -> None:
    assert rules.merge_groups(("b", "a"), ["c", "a", "d"]) == ("b", "a", "c", "d")


# ---- the AllowType port ----------------------------------------------------------------------


async def test_allow_type_defaults_to_the_apps_default() -> None:
    any_, confirm = rules.ALLOW_TYPE_ANY, rules.ALLOW_TYPE_NEED_CONFIRM
    assert await allow_type_of(None, 1, "u", any_) == rules.ALLOW_TYPE_ANY

    async def unset(sdkappid: int, user: str) -> str | None:
        return None

    async def deny(sdkappid: int, user: str) -> str | None:
        return rules.ALLOW_TYPE_DENY_ANY

    async def garbage(sdkappid: int, user: str) -> str | None:
        return "AllowType_Type_Bogus"

    assert await allow_type_of(unset, 1, "u", any_) == rules.ALLOW_TYPE_ANY
    assert await allow_type_of(unset, 1, "u", confirm) == rules.ALLOW_TYPE_NEED_CONFIRM
    assert await allow_type_of(deny, 1, "u", confirm) == rules.ALLOW_TYPE_DENY_ANY
    assert await allow_type_of(garbage, 1, "u", confirm) == rules.ALLOW_TYPE_NEED_CONFIRM
