"""openim_dirty_words get, add and delete, with Tencent's fields, limits and codes."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack

SVC = "openim_dirty_words"


async def test_add_get_delete(app: AppUnderTest, stack: Stack) -> None:
    assert await app.rest(SVC, "get", {}) == {
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
        "DirtyWordsList": [],
    }
    reply = await app.rest(SVC, "add", {"DirtyWordsList": ["韩国代购", "发票"]})
    assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    await app.rest(SVC, "add", {"DirtyWordsList": ["发票", "Spam"]})
    got = await app.rest(SVC, "get", {})
    assert got["DirtyWordsList"] == sorted(["韩国代购", "发票", "Spam"])

    other = await new_app(stack)
    assert (await other.rest(SVC, "get", {}))["DirtyWordsList"] == []

    reply = await app.rest(SVC, "delete", {"DirtyWordsList": ["发票", "never-added"]})
    assert reply["ErrorCode"] == 0
    assert (await app.rest(SVC, "get", {}))["DirtyWordsList"] == sorted(["韩国代购", "Spam"])


@pytest.mark.parametrize(
    ("command", "body"),
    [
        ("add", {}),
        ("add", {"DirtyWordsList": []}),
        ("add", {"DirtyWordsList": "发票"}),
        ("add", {"DirtyWordsList": [f"w{i}" for i in range(51)]}),
        ("add", {"DirtyWordsList": ["x" * 201]}),
        ("add", {"DirtyWordsList": ["   "]}),
        ("add", {"DirtyWordsList": [7]}),
        ("delete", {"DirtyWordsList": [f"w{i}" for i in range(51)]}),
        ("delete", {}),
    ],
)
async def test_bad_lists_get_10004(
    app: AppUnderTest, command: str, body: dict[str, object]
) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply["ErrorCode"] == ErrorCode.GROUP_INVALID_PARAM, reply
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def test_limits_are_per_request_and_words_up_to_200_bytes(app: AppUnderTest) -> None:
    batch = [f"word{i}" for i in range(50)]
    assert (await app.rest(SVC, "add", {"DirtyWordsList": batch}))["ErrorCode"] == 0
    more = [f"more{i}" for i in range(50)]
    assert (await app.rest(SVC, "add", {"DirtyWordsList": more}))["ErrorCode"] == 0
    # 66 three-byte characters: 198 bytes.
    assert (await app.rest(SVC, "add", {"DirtyWordsList": ["脏" * 66]}))["ErrorCode"] == 0
    assert len((await app.rest(SVC, "get", {}))["DirtyWordsList"]) == 101


async def test_only_app_admins_manage_words(app: AppUnderTest) -> None:
    await app.import_accounts("plain")
    reply = await app.rest(SVC, "get", {}, identifier="plain", usersig=app.sig("plain"))
    assert reply["ErrorCode"] == ErrorCode.REST_ADMIN_REQUIRED
