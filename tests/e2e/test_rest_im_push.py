"""all_member_push im_push through the running stack: the job is answered with a TaskId at once,
and the push service delivers one C2C message to each selected account, once."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
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


async def newest(app: AppUnderTest, sender: str, users: tuple[str, ...], text: str) -> None:
    """Wait until `text` from `sender` is the newest message of each of `users`."""

    async def check() -> bool:
        for u in users:
            latest = await app.roam(sender, u, max_cnt=1)
            if not latest or latest[0]["MsgBody"][0]["MsgContent"]["Text"] != text:
                return False
        return True

    assert await eventually(check)


async def jobs_published(app: AppUnderTest, users: tuple[str, ...], tag: str, random: int) -> None:
    """A barrier for the app's im_push jobs: two pushes from the admin to every account, each
    waited for. One app's jobs share a partition of im.events, and the push service runs a batch
    of jobs side by side and takes the next batch only once every job of it is published. The
    first push shows up only once its batch is taken, which holds or follows every job queued
    before it; the second, queued after that, runs in a later batch, so after those jobs were
    published in full. Each of its messages follows theirs in its conversation (one partition
    of im.inbound, sequenced in order): once every account has it, what they sent is in history.
    The two messages are "<tag> 1" and "<tag> 2"."""
    for n in (1, 2):
        await push(app, {"MsgRandom": random + n, "MsgBody": body(f"{tag} {n}")})
        await newest(app, ADMIN, users, f"{tag} {n}")


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
    await jobs_published(app, USERS, "marker", 215)

    for user in USERS:
        texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam(ADMIN, user)]
        expected = ["marker 2", "marker 1"]
        expected += ["hi, vip"] if user in ("a1", "a2", "a3") else []
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
    got = await received(app, "notice", ("a1", "a2", "a3"))
    # The job "by attribute" was taken before "to all" was queued, so "to all" runs in a later
    # batch, once "by attribute" is published in full; in each conversation it follows.
    await push(app, {"From_Account": "notice", "MsgRandom": 9, "MsgBody": body("to all")})
    await newest(app, "notice", USERS, "to all")
    for user in USERS:
        texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("notice", user)]
        expected = ["to all", "by attribute"] if user in ("a1", "a2", "a3") else ["to all"]
        assert texts == expected, (user, texts, got)
    # The sender is one of the app's accounts, but not a target of its own push. "by attribute"
    # was published in full before "to all" ran (above), so before this note to self, in the
    # same conversation.
    note = await app.rest(
        "openim",
        "sendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": "notice",
            "To_Account": "notice",
            "MsgRandom": 10,
            "MsgBody": body("note to self"),
        },
    )
    assert note["ErrorCode"] == 0, note
    texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("notice", "notice")]
    assert texts == ["note to self"]


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
    # Had the refused request queued a job, it would be ahead of the barrier's.
    await jobs_published(app, ("a1",), "barrier", 100)
    texts = [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam(ADMIN, "a1")]
    assert texts == ["barrier 2", "barrier 1"]
