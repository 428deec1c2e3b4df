"""Operations commands through the stack: getappinfo with Tencent's request examples (the
counts the stores hold, the day's statistics, 0 for the figures Tidings does not keep),
get_history's request checks and an hour long gone (no file: tests/e2e/test_rest_history_files.py
downloads files) and GetIPList, with their error paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.gateway.rest_v4.operations import APP_INFO_FIELDS
from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack

OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
# The fields no statistic of Tidings gives.
NO_FIGURE = {
    "LoginTimes",
    "LoginUserNum",
    "C2CDownMsgNum",
    "DownMsgNum",
    "GroupDownMsgNum",
    "C2CSendMsgUserNum",
    "GroupSendMsgUserNum",
    "C2CAPNSMsgNum",
    "GroupAPNSMsgNum",
    "ChainIncrease",
    "ChainDecrease",
    "GroupJoinGroupTimes",
    "GroupQuitGroupTimes",
}


def stats_date() -> str:
    """Today as the statistics count days (UTC)."""
    return datetime.now(UTC).strftime("%Y%m%d")


async def test_getappinfo_all_fields(app: AppUnderTest) -> None:
    await app.import_accounts("ops1", "ops2", "ops3")
    await make_group(app, "ops1", ["ops2"])
    before = stats_date()
    reply = await app.rest("openconfigsvr", "getappinfo", {})
    after = stats_date()
    assert {k: reply[k] for k in OK} == OK, reply
    # A new app: its statistics start today.
    [row] = reply["Result"]
    assert list(row) == list(APP_INFO_FIELDS)
    assert all(isinstance(v, str) for v in row.values()), row
    assert row["AppId"] == str(app.sdkappid)
    assert row["AppName"] == "test"
    assert row["Company"] == ""
    assert row["RegistUserNumTotal"] == "3"
    assert row["GroupAllGroupNum"] == "1"
    assert row["Date"] in (before, after)
    assert {row[name] for name in NO_FIGURE} == {"0"}

    # The count follows the directory.
    deleted = await app.rest(
        "im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": "ops3"}]}
    )
    assert deleted["ErrorCode"] == 0, deleted
    again = await app.rest("openconfigsvr", "getappinfo", {})
    assert again["Result"][0]["RegistUserNumTotal"] == "2"


async def test_getappinfo_request_field(app: AppUnderTest) -> None:
    before = stats_date()
    reply = await app.rest(
        "openconfigsvr", "getappinfo", {"RequestField": ["ChainIncrease", "ChainDecrease"]}
    )
    after = stats_date()
    assert reply["ErrorCode"] == 0, reply
    [row] = reply["Result"]
    assert {k: v for k, v in row.items() if k != "Date"} == {
        "ChainIncrease": "0",
        "ChainDecrease": "0",
    }
    assert row["Date"] in (before, after)

    reply = await app.rest("openconfigsvr", "getappinfo", {"RequestField": ["RegistUserNumTotal"]})
    assert reply["Result"][0]["RegistUserNumTotal"] == "0"


@pytest.mark.parametrize(
    "body", [{"RequestField": "ChainIncrease"}, {"RequestField": [1]}, {"RequestField": {}}]
)
async def test_getappinfo_malformed(app: AppUnderTest, body: dict[str, Any]) -> None:
    reply = await app.rest("openconfigsvr", "getappinfo", body)
    assert reply["ErrorCode"] == ErrorCode.OPENIM_JSON, reply
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


@pytest.mark.parametrize("chat_type", ["C2C", "Group"])
async def test_get_history_of_an_hour_long_gone(app: AppUnderTest, chat_type: str) -> None:
    # Tencent's request example: the archive holds nothing of 2015.
    reply = await app.rest(
        "open_msg_svc", "get_history", {"ChatType": chat_type, "MsgTime": "2015120121"}
    )
    assert reply == {**OK, "File": []}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"MsgTime": "2015120121"},
        {"ChatType": "C2C"},
        {"ChatType": "c2c", "MsgTime": "2015120121"},
        {"ChatType": "C2C", "MsgTime": 2015120121},
        {"ChatType": "C2C", "MsgTime": "20151201"},
        {"ChatType": "C2C", "MsgTime": "2015120124"},
        {"ChatType": "Group", "MsgTime": "2015023121"},
    ],
)
async def test_get_history_malformed(app: AppUnderTest, body: dict[str, Any]) -> None:
    reply = await app.rest("open_msg_svc", "get_history", body)
    assert reply["ErrorCode"] == ErrorCode.OPENIM_JSON, reply
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def test_get_ip_list(app: AppUnderTest) -> None:
    # The stack sets no callback egress addresses.
    assert await app.rest("ConfigSvc", "GetIPList", {}) == {**OK, "IPList": []}
    assert await app.rest("ConfigSvc", "GetIPList", {}, nettype=5) == {**OK, "IPList": []}
