"""Operations commands (Tencent's 运营管理): openconfigsvr/getappinfo, open_msg_svc/get_history
and ConfigSvc/GetIPList (reference: cloud.tencent.com/document/product/269/4193, 269/1650 and
269/45438).

getappinfo: Tencent answers `Result`, one row per day of the last 30 days (Beijing time), every
value a string, and `RequestField` names the fields wanted (all when absent). Tidings keeps no
statistics yet (a later issue builds them), so it answers one row, dated today in Beijing time,
with what its stores know now:
- real: `AppId` (the SDKAppID), `AppName` (the app's name), `Date`, `RegistUserNumTotal` (the
  accounts imported and not deleted, now) and `GroupAllGroupNum` (the groups that exist now);
- `Company` is "" (Tidings keeps no customer name);
- 0 until the statistics issue: every other field (`ActiveUserNum`, `RegistUserNumOneDay`,
  `LoginTimes`, `LoginUserNum`, `UpMsgNum`, `SendMsgUserNum`, `APNSMsgNum`, `C2CUpMsgNum`,
  `C2CDownMsgNum`, `C2CSendMsgUserNum`, `C2CAPNSMsgNum`, `MaxOnlineNum`, `DownMsgNum`,
  `ChainIncrease`, `ChainDecrease`, `GroupUpMsgNum`, `GroupDownMsgNum`, `GroupSendMsgUserNum`,
  `GroupAPNSMsgNum`, `GroupSendMsgGroupNum`, `GroupJoinGroupTimes`, `GroupQuitGroupTimes`,
  `GroupNewGroupNum`, `GroupDestroyGroupNum`, `CallBackReq`, `CallBackRsp`).
`Date` is in every row (it says which day a row is); names Tencent does not list are left out
rather than refused, as a projection would.

get_history: Tencent's hourly archive files. Tidings writes none, so a valid request answers an
empty `File` list: the answer for an hour without a file. `ChatType` is "C2C" or "Group" and
`MsgTime` a real Beijing hour written YYYYMMDDHH, both strings as in Tencent's reference.

GetIPList: the addresses callback requests leave from (setting `callback_egress_ips`), for app
servers to allow-list. Tencent's `nettype` query parameter picks SDK or callback addresses by
region; Tidings has one region and knows no SDK addresses of its own (clients reach it where the
operator publishes it), so every nettype answers the callback addresses.

Tencent's references for these commands list no private error codes we could read; a
malformed request answers 90001 (Tencent's "the JSON body is invalid" of its openim family).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.OPENIM_JSON
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# Tencent's operations data fields, in its reference's order.
APP_INFO_FIELDS: tuple[str, ...] = (
    "AppName",
    "AppId",
    "Company",
    "ActiveUserNum",
    "RegistUserNumOneDay",
    "RegistUserNumTotal",
    "LoginTimes",
    "LoginUserNum",
    "UpMsgNum",
    "SendMsgUserNum",
    "APNSMsgNum",
    "C2CUpMsgNum",
    "C2CDownMsgNum",
    "C2CSendMsgUserNum",
    "C2CAPNSMsgNum",
    "MaxOnlineNum",
    "DownMsgNum",
    "ChainIncrease",
    "ChainDecrease",
    "GroupUpMsgNum",
    "GroupDownMsgNum",
    "GroupSendMsgUserNum",
    "GroupAPNSMsgNum",
    "GroupSendMsgGroupNum",
    "GroupJoinGroupTimes",
    "GroupQuitGroupTimes",
    "GroupNewGroupNum",
    "GroupAllGroupNum",
    "GroupDestroyGroupNum",
    "CallBackReq",
    "CallBackRsp",
    "Date",
)
# More names than Tencent has, even with each named twice, is not a field list.
MAX_REQUEST_FIELDS = 2 * len(APP_INFO_FIELDS)

CHAT_TYPES = ("C2C", "Group")
_HOUR = re.compile(r"[0-9]{10}")


# ---- pure rules -------------------------------------------------------------------------------


def requested_fields(raw: Any) -> list[str]:
    """The fields a getappinfo row holds: those named in RequestField that Tencent lists, in
    Tencent's order, with Date; every field when RequestField is absent (or null)."""
    if raw is None:
        return list(APP_INFO_FIELDS)
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise TidingsError(BAD, "RequestField must be an array of field names")
    if len(raw) > MAX_REQUEST_FIELDS:
        raise TidingsError(BAD, f"RequestField names at most {MAX_REQUEST_FIELDS} fields")
    wanted = set(raw) | {"Date"}
    return [name for name in APP_INFO_FIELDS if name in wanted]


def app_info_row(wanted: Sequence[str], known: dict[str, str], now: datetime) -> dict[str, str]:
    """One Result row: the known values, "0" for the fields with no statistics yet, and the
    Beijing date of `now`."""
    values = {**known, "Date": now.astimezone(BEIJING).strftime("%Y%m%d")}
    return {name: values.get(name, "0") for name in wanted}


def parse_msg_time(value: Any) -> datetime:
    """A get_history MsgTime: a Beijing hour written YYYYMMDDHH."""
    if not isinstance(value, str) or not _HOUR.fullmatch(value):
        raise TidingsError(BAD, "MsgTime must be a string YYYYMMDDHH, such as 2015120121")
    try:
        return datetime.strptime(value, "%Y%m%d%H").replace(tzinfo=BEIJING)
    except ValueError:
        raise TidingsError(BAD, f"MsgTime {value!r} is not an hour of a date") from None


def chat_type(value: Any) -> str:
    if value not in CHAT_TYPES:
        raise TidingsError(BAD, 'ChatType must be "C2C" or "Group"')
    return str(value)


# ---- commands ---------------------------------------------------------------------------------


async def getappinfo(ctx: RestContext, body: dict[str, Any]) -> Reply:
    wanted = requested_fields(fields.raw(body, "RequestField"))
    sdkappid = ctx.app.sdkappid
    stores = ctx.deps.stores
    accounts, groups = await asyncio.gather(
        stores.directory.count_accounts(sdkappid), stores.groups.count_groups(sdkappid, None)
    )
    known = {
        "AppId": str(sdkappid),
        "AppName": ctx.app.name,
        "Company": "",
        "RegistUserNumTotal": str(accounts),
        "GroupAllGroupNum": str(groups),
    }
    return {"Result": [app_info_row(wanted, known, datetime.now(UTC))]}


async def get_history(ctx: RestContext, body: dict[str, Any]) -> Reply:
    chat_type(fields.raw(body, "ChatType"))
    parse_msg_time(fields.raw(body, "MsgTime"))
    return {"File": []}


async def get_ip_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    return {"IPList": list(ctx.deps.settings.callback_egress_ips)}


OPENCONFIGSVR_COMMANDS: dict[str, Handler] = {"getappinfo": getappinfo}
OPEN_MSG_SVC_COMMANDS: dict[str, Handler] = {"get_history": get_history}
CONFIG_SVC_COMMANDS: dict[str, Handler] = {"GetIPList": get_ip_list}


# ---- OpenAPI request bodies (documentation; the handlers check every field) ------------------


class GetAppInfoRequest(BaseModel):
    RequestField: list[str] | None = Field(
        default=None, description="the fields wanted (every field when absent)"
    )


class GetHistoryRequest(BaseModel):
    ChatType: Literal["C2C", "Group"]
    MsgTime: str = Field(pattern=r"^[0-9]{10}$", description="a Beijing hour, YYYYMMDDHH")


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "getappinfo": GetAppInfoRequest,
    "get_history": GetHistoryRequest,
}
