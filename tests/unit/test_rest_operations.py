"""The pure rules of the operations commands: getappinfo's field list and rows, get_history's
ChatType and MsgTime, and the callback egress addresses GetIPList answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.config import Settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.stats_report import DayFigures
from services.gateway.history_files import BEIJING
from services.gateway.rest_v4 import operations


def test_every_field_without_request_field() -> None:
    assert operations.requested_fields(None) == list(operations.APP_INFO_FIELDS)
    assert len(operations.APP_INFO_FIELDS) == len(set(operations.APP_INFO_FIELDS)) == 32


def test_request_field_picks_in_tencents_order_with_the_date() -> None:
    # Tencent's example asks for ChainIncrease and ChainDecrease.
    assert operations.requested_fields(["ChainIncrease", "ChainDecrease"]) == [
        "ChainIncrease",
        "ChainDecrease",
        "Date",
    ]
    assert operations.requested_fields(["Date", "AppId", "AppId", "NoSuchField"]) == [
        "AppId",
        "Date",
    ]
    assert operations.requested_fields([]) == ["Date"]


@pytest.mark.parametrize(
    "raw",
    ["ChainIncrease", {"ChainIncrease": 1}, [1], ["AppId", None], ["AppId"] * 65],
)
def test_malformed_request_field(raw: Any) -> None:
    with pytest.raises(TidingsError) as err:
        operations.requested_fields(raw)
    assert err.value.code == ErrorCode.OPENIM_JSON


def test_row_holds_the_known_values_and_zero_for_the_rest() -> None:
    wanted = operations.requested_fields(None)
    day = operations.day_values(DayFigures("2016-06-07", active_users=4, callbacks_ok=2))
    row = operations.app_info_row(wanted, {"AppId": "1400000001", "Company": "", **day})
    assert list(row) == wanted
    assert all(isinstance(v, str) for v in row.values())
    assert (row["Date"], row["AppId"], row["ActiveUserNum"]) == ("20160607", "1400000001", "4")
    assert (row["CallBackReq"], row["CallBackRsp"], row["UpMsgNum"]) == ("2", "2", "0")
    assert row["LoginTimes"] == row["ChainIncrease"] == "0"


def test_row_of_picked_fields() -> None:
    wanted = operations.requested_fields(["ChainIncrease", "ChainDecrease"])
    day = operations.day_values(DayFigures("2016-06-07", messages=3))
    assert operations.app_info_row(wanted, {"AppId": "1", **day}) == {
        "ChainIncrease": "0",
        "ChainDecrease": "0",
        "Date": "20160607",
    }


def test_app_info_days_start_at_the_first_with_figures() -> None:
    quiet, busy, today = (
        DayFigures("2026-12-04"),
        DayFigures("2026-12-05", c2c_messages=3, messages=3),
        DayFigures("2026-12-06"),
    )
    assert operations.days_shown([quiet, busy, today]) == [busy, today]
    assert operations.days_shown([quiet, today]) == [today]


def test_msg_time_is_a_beijing_hour() -> None:
    got = operations.parse_msg_time("2015120121")
    assert got == int(datetime(2015, 12, 1, 13, tzinfo=UTC).timestamp() * 1000)
    leap = datetime.fromtimestamp(operations.parse_msg_time("2016022900") / 1000, BEIJING)
    assert leap.day == 29


@pytest.mark.parametrize(
    "value",
    [
        None,
        2015120121,
        "",
        "201512012",
        "20151201210",
        "2015120124",
        "2015130121",
        "2015022900",
        "2015-12-01",
        "２０１５１２０１２１",
        " 2015120121",
    ],
)
def test_malformed_msg_time(value: Any) -> None:
    with pytest.raises(TidingsError) as err:
        operations.parse_msg_time(value)
    assert err.value.code == ErrorCode.OPENIM_JSON


def test_chat_type_is_c2c_or_group() -> None:
    assert operations.chat_type("C2C") == "C2C"
    assert operations.chat_type("Group") == "Group"
    for value in ("c2c", "GROUP", "", None, 1, ["C2C"]):
        with pytest.raises(TidingsError) as err:
            operations.chat_type(value)
        assert err.value.code == ErrorCode.OPENIM_JSON


def test_callback_egress_ips_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().callback_egress_ips == []
    monkeypatch.setenv("TIDINGS_CALLBACK_EGRESS_IPS", '["203.0.113.7", "198.51.100.0/25"]')
    assert Settings().callback_egress_ips == ["203.0.113.7", "198.51.100.0/25"]
