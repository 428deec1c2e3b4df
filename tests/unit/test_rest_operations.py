"""The pure rules of the operations commands: getappinfo's field list and rows, get_history's
ChatType and MsgTime, and the callback egress addresses GetIPList answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.config import Settings
from services.common.errors import ErrorCode, TidingsError
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
    # 17:30 UTC is already the next day in Beijing.
    now = datetime(2016, 6, 6, 17, 30, tzinfo=UTC)
    row = operations.app_info_row(
        wanted, {"AppId": "1400000001", "Company": "", "RegistUserNumTotal": "3"}, now
    )
    assert list(row) == wanted
    assert row["Date"] == "20160607"
    assert (row["AppId"], row["Company"], row["RegistUserNumTotal"]) == ("1400000001", "", "3")
    assert all(isinstance(v, str) for v in row.values())
    unknown = set(wanted) - {"AppId", "Company", "RegistUserNumTotal", "Date"}
    assert {row[name] for name in unknown} == {"0"}


def test_row_of_picked_fields() -> None:
    now = datetime(2016, 6, 7, 1, 0, tzinfo=UTC)
    wanted = operations.requested_fields(["ChainIncrease", "ChainDecrease"])
    assert operations.app_info_row(wanted, {"AppId": "1"}, now) == {
        "ChainIncrease": "0",
        "ChainDecrease": "0",
        "Date": "20160607",
    }


def test_msg_time_is_a_beijing_hour() -> None:
    got = operations.parse_msg_time("2015120121")
    assert got == datetime(2015, 12, 1, 21, tzinfo=operations.BEIJING)
    assert got.astimezone(UTC) == datetime(2015, 12, 1, 13, tzinfo=UTC)
    assert operations.parse_msg_time("2016022900").day == 29


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
