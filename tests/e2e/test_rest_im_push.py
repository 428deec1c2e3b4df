"""all_member_push im_push through the running stack: the job is answered with a TaskId at once,
and the push service delivers one C2C message to each selected account, once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.common.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app

pytestmark = pytest.mark.stack

SVC = "all_member_push"
USERS = ("a1", "a2", "a3", "a4", "a5")
ADMIN = "administrator"


def body(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


async def push(app: AppUnderTest, request: dict[str, Any]) -> str:
    reply = await app.rest(SVC, "im_push", request)
    assert reply["ErrorCode"] == 0 and reply["ActionStatus"] == "OK", reply
    assert isinstance(reply["TaskId"], str) and reply["TaskId"]
    return reply["TaskId"]  # type: ignore[no-any-return]


async def received(app: AppUnderTest, sender: str, users: tuple[str, ...]) -> dict[str, list[str]]:
    """Each user's texts from `sender`, once every user in `users` has one."""

    async def fetch() -> dict[str, list[str]] | None:
        got = {
            u: [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam(sender, u)]
            for u in USERS
        }
        return got if all(got[u] for u in users) else None

    got = await eventually(fetch)
    assert got is not None, f"{users} never all received a push from {sender}"
    return got  # type: ignore[no-any-return]


async def test_im_push_by_tags_reaches_exactly_the_selected_accounts_once(
    app: AppUnderTest, stack: Stack
) -> None:
    await app.import_accounts(*USERS)
    tags = {"a1": ["vip", "sz"], "a2": ["vip", "bj"], "a3": ["vip", "gz"], "a4": ["vip"]}
    tags["a5"] = ["sz"]
    reply = await app.rest(
        SVC, "im_add_tag", {"UserTags": [{"To_Account": u, "Tags": t} for u, t in tags.items()]}
    )
    assert reply["ErrorCode"] == 0, reply
    # Another app with the same UserIDs and tags must get nothing.
    other = await new_app(stack)
    await other.import_accounts(*USERS)
    await other.rest(
        SVC, "im_add_tag", {"UserTags": [{"To_Account": u, "Tags": t} for u, t in tags.items()]}
    )

    request = {
        "MsgRandom": 214,
        "MsgLifeTime": 120,
        "Condition": {"TagsAnd": ["vip"], "TagsOr": ["sz", "bj", "gz"]},
        "MsgBody": body("hi, vip"),
        "OfflinePushInfo": {"PushFlag": 0, "Desc": "offline"},
    }
    task = await push(app, request)
    got = await received(app, ADMIN, ("a1", "a2", "a3"))
    # The same MsgRandom is the same task: a retry gets the same TaskId and sends nothing new.
    assert await push(app, request) == task
    marker = await push(app, {"MsgRandom": 215, "MsgBody": body("marker")})
    assert marker != task
    await received(app, ADMIN, USERS)
    await asyncio.sleep(1.0)

    for user in USERS:
        texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam(ADMIN, user)]
        expected = ["marker", "hi, vip"] if user in ("a1", "a2", "a3") else ["marker"]
        assert texts == expected, (user, texts, got)
    first = (await app.roam(ADMIN, "a1"))[-1]
    assert first["From_Account"] == ADMIN and first["To_Account"] == "a1"
    assert first["MsgRandom"] == 214
    for user in USERS:
        assert await other.roam(ADMIN, user) == []


async def test_im_push_by_attributes_from_an_account(app: AppUnderTest) -> None:
    await app.import_accounts(*USERS, "notice")
    await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"0": "sex", "1": "city"}})
    attrs = {
        "a1": {"sex": "m", "city": "sz"},
        "a2": {"sex": "f", "city": "sz"},
        "a3": {"sex": "m", "city": "bj"},
        "a4": {"sex": "f", "city": "bj"},
    }
    reply = await app.rest(
        SVC, "im_set_attr", {"UserAttrs": [{"To_Account": u, "Attrs": a} for u, a in attrs.items()]}
    )
    assert reply["ErrorCode"] == 0, reply
    await push(
        app,
        {
            "From_Account": "notice",
            "MsgRandom": 3674128,
            "Condition": {"AttrsOr": {"sex": "m", "city": "sz"}},
            "MsgBody": body("by attribute"),
        },
    )
    await received(app, "notice", ("a1", "a2", "a3"))
    await push(app, {"From_Account": "notice", "MsgRandom": 9, "MsgBody": body("to all")})
    got = await received(app, "notice", USERS)
    await asyncio.sleep(1.0)
    for user in USERS:
        texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("notice", user)]
        expected = ["to all", "by attribute"] if user in ("a1", "a2", "a3") else ["to all"]
        assert texts == expected, (user, texts, got)
    # The sender is one of the app's accounts, but not a target of its own push.
    assert await app.roam("notice", "notice") == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"MsgRandom": None}, ErrorCode.OPENIM_NO_MSG_RANDOM),
        ({"MsgRandom": "1"}, ErrorCode.OPENIM_NO_MSG_RANDOM),
        ({"MsgRandom": -1}, ErrorCode.OPENIM_NO_MSG_RANDOM),
        ({"MsgBody": None}, ErrorCode.OPENIM_JSON),
        ({"MsgBody": [{"MsgType": "TIMNope", "MsgContent": {}}]}, ErrorCode.OPENIM_JSON),
        ({"MsgBody": body("x" * 11 * 1024)}, ErrorCode.PUSH_BODY_TOO_LARGE),
        ({"MsgLifeTime": 604801}, ErrorCode.PUSH_LIFETIME_INVALID),
        ({"MsgLifeTime": -1}, ErrorCode.PUSH_LIFETIME_INVALID),
        ({"From_Account": "ghost"}, ErrorCode.OPENIM_NO_FROM_ACCOUNT),
        ({"OfflinePushInfo": "x"}, ErrorCode.OPENIM_JSON),
        ({"Condition": ["vip"]}, ErrorCode.OPENIM_JSON),
        (
            {"Condition": {"TagsAnd": ["a"], "AttrsAnd": {"sex": "m"}}},
            ErrorCode.PUSH_ATTRS_WITH_TAGS,
        ),
        ({"Condition": {"TagsAnd": ["a"], "TagsOr": ["a"]}}, ErrorCode.PUSH_TAGS_OVERLAP),
        ({"Condition": {"TagsOr": [f"t{i}" for i in range(11)]}}, ErrorCode.PUSH_TAG_COUNT),
        ({"Condition": {"TagsOr": [""]}}, ErrorCode.PUSH_TAG_EMPTY),
        ({"Condition": {"TagsOr": ["x" * 51]}}, ErrorCode.PUSH_TAG_TOO_LONG),
        ({"Condition": {"AttrsAnd": {"age": "3"}}}, ErrorCode.PUSH_ATTR_INVALID),
    ],
)
async def test_im_push_errors(app: AppUnderTest, change: dict[str, Any], code: ErrorCode) -> None:
    await app.import_accounts("a1")
    await app.rest(SVC, "im_set_attr_name", {"AttrNames": {"0": "sex"}})
    request = {"MsgRandom": 1, "MsgBody": body("hi"), **change}
    reply = await app.rest(SVC, "im_push", {k: v for k, v in request.items() if v is not None})
    assert reply["ErrorCode"] == code, reply
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"] and "TaskId" not in reply
    await asyncio.sleep(0.5)
    assert await app.roam(ADMIN, "a1") == []
