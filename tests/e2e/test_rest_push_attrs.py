"""all_member_push attribute and tag commands, with Tencent's fields, limits and codes."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack

SVC = "all_member_push"


async def test_attribute_names(app: AppUnderTest, stack: Stack) -> None:
    assert await app.rest(SVC, "im_get_attr_name", {}) == {
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
        "AttrNames": {},
    }
    reply = await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"0": "sex", "1": "city"}})
    assert reply["ErrorCode"] == 0, reply
    await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"2": "country"}})
    got = await app.rest(SVC, "im_get_attr_name", {})
    assert got["AttrNames"] == {"0": "sex", "1": "city", "2": "country"}
    # Another app has its own names.
    other = await new_app(stack)
    assert (await other.rest(SVC, "im_get_attr_name", {}))["AttrNames"] == {}

    for body, code in (
        ({"AttrNames": {"10": "x"}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrNames": {"a": "x"}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrNames": {"3": "x" * 51}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrNames": {"3": ""}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrNames": {"3": "sex"}}, ErrorCode.PUSH_ATTR_INVALID),
        ({"AttrNames": {}}, ErrorCode.OPENIM_JSON),
        ({"AttrNames": ["sex"]}, ErrorCode.OPENIM_JSON),
        ({}, ErrorCode.OPENIM_JSON),
    ):
        reply = await app.rest(SVC, "im_set_attr_name", body)
        assert reply["ErrorCode"] == code, (body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def test_user_attributes(app: AppUnderTest) -> None:
    await app.import_accounts("xiaojun012", "xiaojun013")
    await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"0": "sex", "1": "city"}})
    reply = await app.rest(
        SVC,
        "im_set_attr",
        {
            "UserAttrs": [
                {"To_Account": "xiaojun012", "Attrs": {"sex": "attr1", "city": "attr2"}},
                {"To_Account": "xiaojun013", "Attrs": {"city": "attr3"}},
                {"To_Account": "ghost", "Attrs": {"sex": "x"}},
            ]
        },
    )
    assert reply["ErrorCode"] == 0
    assert reply["ErrorList"] == [
        {"To_Account": "ghost", "ErrorCode": ErrorCode.ACCOUNT_NOT_IMPORTED}
    ]
    got = await app.rest(SVC, "im_get_attr", {"To_Account": ["xiaojun012", "xiaojun013", "ghost"]})
    assert got["UserAttrs"] == [
        {"To_Account": "xiaojun012", "Attrs": {"sex": "attr1", "city": "attr2"}},
        {"To_Account": "xiaojun013", "Attrs": {"city": "attr3"}},
    ]
    assert got["ErrorList"] == [
        {"To_Account": "ghost", "ErrorCode": ErrorCode.ACCOUNT_NOT_IMPORTED}
    ]

    # Values follow their attribute number: renaming attribute 1 relabels them.
    await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"1": "town"}})
    got = await app.rest(SVC, "im_get_attr", {"To_Account": ["xiaojun013"]})
    assert got["UserAttrs"] == [{"To_Account": "xiaojun013", "Attrs": {"town": "attr3"}}]
    assert "ErrorList" not in got

    reply = await app.rest(
        SVC,
        "im_remove_attr",
        {"UserAttrs": [{"To_Account": "xiaojun012", "Attrs": ["sex"]}]},
    )
    assert reply["ErrorCode"] == 0 and "ErrorList" not in reply
    got = await app.rest(SVC, "im_get_attr", {"To_Account": ["xiaojun012"]})
    assert got["UserAttrs"] == [{"To_Account": "xiaojun012", "Attrs": {"town": "attr2"}}]

    too_many = [{"To_Account": f"u{i}", "Attrs": {"sex": "f"}} for i in range(101)]
    for command, body, code in (
        (
            "im_set_attr",
            {"UserAttrs": [{"To_Account": "xiaojun012", "Attrs": {"age": "9"}}]},
            90033,
        ),
        (
            "im_set_attr",
            {"UserAttrs": [{"To_Account": "xiaojun012", "Attrs": {"sex": "x" * 51}}]},
            90033,
        ),
        ("im_set_attr", {"UserAttrs": [{"To_Account": "xiaojun012", "Attrs": {"sex": 1}}]}, 90033),
        ("im_set_attr", {"UserAttrs": too_many}, ErrorCode.PUSH_ACCOUNTS_LIMIT),
        ("im_set_attr", {"UserAttrs": [{"To_Account": "xiaojun012"}]}, ErrorCode.OPENIM_JSON),
        ("im_set_attr", {"UserAttrs": "x"}, ErrorCode.OPENIM_JSON),
        ("im_remove_attr", {"UserAttrs": [{"To_Account": "xiaojun012", "Attrs": ["age"]}]}, 90033),
        ("im_get_attr", {"To_Account": [f"u{i}" for i in range(101)]}, 90018),
        ("im_get_attr", {"To_Account": "xiaojun012"}, ErrorCode.OPENIM_JSON),
    ):
        reply = await app.rest(SVC, command, body)
        assert reply["ErrorCode"] == code, (command, body, reply)


async def test_user_tags(app: AppUnderTest, stack: Stack) -> None:
    await app.import_accounts("xiaojun012", "xiaojun013")
    reply = await app.rest(
        SVC,
        "im_add_tag",
        {
            "UserTags": [
                {"To_Account": "xiaojun012", "Tags": ["a", "b"]},
                {"To_Account": "xiaojun013", "Tags": ["a", "b"]},
                {"To_Account": "ghost", "Tags": ["a"]},
            ]
        },
    )
    assert reply["ErrorCode"] == 0
    assert reply["ErrorList"] == [
        {"To_Account": "ghost", "ErrorCode": ErrorCode.ACCOUNT_NOT_IMPORTED}
    ]
    # SPEC's name for the same command.
    reply = await app.rest(
        SVC, "im_set_tag", {"UserTags": [{"To_Account": "xiaojun013", "Tags": ["c"]}]}
    )
    assert reply["ErrorCode"] == 0
    got = await app.rest(SVC, "im_get_tag", {"To_Account": ["xiaojun012", "xiaojun013"]})
    assert got["UserTags"] == [
        {"To_Account": "xiaojun012", "Tags": ["a", "b"]},
        {"To_Account": "xiaojun013", "Tags": ["a", "b", "c"]},
    ]
    other = await new_app(stack)
    await other.import_accounts("xiaojun012")
    got = await other.rest(SVC, "im_get_tag", {"To_Account": ["xiaojun012"]})
    assert got["UserTags"] == [{"To_Account": "xiaojun012", "Tags": []}]

    reply = await app.rest(
        SVC, "im_remove_tag", {"UserTags": [{"To_Account": "xiaojun013", "Tags": ["b", "zz"]}]}
    )
    assert reply["ErrorCode"] == 0
    got = await app.rest(SVC, "im_get_tag", {"To_Account": ["xiaojun013"]})
    assert got["UserTags"] == [{"To_Account": "xiaojun013", "Tags": ["a", "c"]}]
    reply = await app.rest(SVC, "im_remove_all_tags", {"To_Account": ["xiaojun012", "xiaojun013"]})
    assert reply["ErrorCode"] == 0
    got = await app.rest(SVC, "im_get_tag", {"To_Account": ["xiaojun012", "xiaojun013"]})
    assert [t["Tags"] for t in got["UserTags"]] == [[], []]

    # A user holds at most 100 tags: the 101st is refused for that user only.
    for start in range(0, 100, 10):
        tags = [f"t{i}" for i in range(start, start + 10)]
        reply = await app.rest(
            SVC, "im_add_tag", {"UserTags": [{"To_Account": "xiaojun012", "Tags": tags}]}
        )
        assert reply["ErrorCode"] == 0, reply
    reply = await app.rest(
        SVC,
        "im_add_tag",
        {
            "UserTags": [
                {"To_Account": "xiaojun012", "Tags": ["one-more"]},
                {"To_Account": "xiaojun013", "Tags": ["fine"]},
            ]
        },
    )
    assert reply["ErrorCode"] == 0
    assert [(e["To_Account"], e["ErrorCode"]) for e in reply["ErrorList"]] == [
        ("xiaojun012", ErrorCode.PUSH_TAG_COUNT)
    ]
    got = await app.rest(SVC, "im_get_tag", {"To_Account": ["xiaojun012", "xiaojun013"]})
    assert len(got["UserTags"][0]["Tags"]) == 100 and got["UserTags"][1]["Tags"] == ["fine"]

    for command, body, code in (
        (
            "im_add_tag",
            {"UserTags": [{"To_Account": "xiaojun013", "Tags": [str(i) for i in range(11)]}]},
            ErrorCode.PUSH_TAG_COUNT,
        ),
        (
            "im_add_tag",
            {"UserTags": [{"To_Account": "xiaojun013", "Tags": ["x" * 51]}]},
            ErrorCode.PUSH_TAG_TOO_LONG,
        ),
        (
            "im_add_tag",
            {"UserTags": [{"To_Account": "xiaojun013", "Tags": [""]}]},
            ErrorCode.PUSH_TAG_TOO_LONG,
        ),
        (
            "im_add_tag",
            {"UserTags": [{"To_Account": f"u{i}", "Tags": ["a"]} for i in range(101)]},
            ErrorCode.PUSH_ACCOUNTS_LIMIT,
        ),
        ("im_add_tag", {"UserTags": []}, ErrorCode.OPENIM_JSON),
        ("im_remove_tag", {"UserTags": [{"To_Account": "xiaojun013"}]}, ErrorCode.OPENIM_JSON),
        ("im_get_tag", {"To_Account": []}, ErrorCode.OPENIM_JSON),
        (
            "im_remove_all_tags",
            {"To_Account": [f"u{i}" for i in range(101)]},
            ErrorCode.PUSH_ACCOUNTS_LIMIT,
        ),
    ):
        reply = await app.rest(SVC, command, body)
        assert reply["ErrorCode"] == code, (command, reply)


async def test_only_app_admins_manage_push_targeting(app: AppUnderTest) -> None:
    await app.import_accounts("plain")
    reply = await app.rest(
        SVC, "im_get_attr_name", {}, identifier="plain", usersig=app.sig("plain")
    )
    assert reply["ErrorCode"] == ErrorCode.REST_ADMIN_REQUIRED
