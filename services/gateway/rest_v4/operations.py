"""Operations commands (Tencent's 运营管理): openconfigsvr/getappinfo, open_msg_svc/get_history
and ConfigSvc/GetIPList (reference: cloud.tencent.com/document/product/269/4193, 269/1650 and
269/45438).

getappinfo: Tencent answers `Result`, one row per day of the last 30 days, every value a string,
and `RequestField` names the fields wanted (all when absent). Tidings answers a row for each day
of the last 30 from the first one its statistics (services/common/store/stats_report.py) have
anything for, through today, oldest first; with nothing yet, one row for today. Its days are
UTC days (the statistics' days), `Date` written YYYYMMDD. The fields:
- `AppId`, `AppName`; `Company` is "" (Tidings keeps no customer name);
- from the day's statistics: `ActiveUserNum` (active users), `RegistUserNumOneDay` (accounts
  imported), `UpMsgNum`, `C2CUpMsgNum`, `GroupUpMsgNum` (messages sent), `SendMsgUserNum`
  (senders), `APNSMsgNum` (offline pushes sent), `MaxOnlineNum` (peak online),
  `GroupNewGroupNum`, `GroupDestroyGroupNum`, `GroupAllGroupNum` (groups at the day's end),
  `GroupSendMsgGroupNum` (groups with messages), `CallBackReq` (callbacks made) and
  `CallBackRsp` (those answered);
- today's `RegistUserNumTotal` and `GroupAllGroupNum` are the counts the stores hold now;
  `RegistUserNumTotal` of a past day is "0" (no history of the directory's size is kept);
- "0", as Tidings keeps no figure for them: `LoginTimes`, `LoginUserNum`, `C2CDownMsgNum`,
  `DownMsgNum`, `GroupDownMsgNum`, `C2CSendMsgUserNum`, `GroupSendMsgUserNum`,
  `C2CAPNSMsgNum`, `GroupAPNSMsgNum`, `ChainIncrease`, `ChainDecrease`,
  `GroupJoinGroupTimes`, `GroupQuitGroupTimes`.
`Date` is in every row (it says which day a row is); names Tencent does not list are left out
rather than refused, as a projection would.

get_history: the download of one Beijing hour's C2C or group messages as a gzip file, built from
the archive (services/gateway/history_files.py, history_downloads.py). `ChatType` is "C2C" or
"Group" and `MsgTime` a real Beijing hour written YYYYMMDDHH, both strings. The reply's `File`
holds one file, with Tencent's `URL`, `ExpireTime` (Beijing time), `FileSize`, `FileMD5`,
`GzipSize` and `GzipMD5`; an hour without messages (or one still to come) has none (an empty
`File` list). Tencent serves finished hours, an hour or so late, for 7 days; Tidings also serves
the current hour (up to the time of the request) and any hour the archive still holds.

GetIPList: the addresses callback requests leave from (setting `callback_egress_ips`), for app
servers to allow-list. Tencent's `nettype` query parameter picks SDK or callback addresses by
region; Tidings has one region and knows no SDK addresses of its own (clients reach it where the
operator publishes it), so every nettype answers the callback addresses.

Tencent's references for these commands list no private error codes we could read; a
malformed request answers 90001 (Tencent's "the JSON body is invalid" of its openim family).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import HOUR_MS
from services.common.store.stats_report import DayFigures, daily_report
from services.gateway import history_files
from services.gateway.history_downloads import HistoryFiles
from services.gateway.history_files import FileRef
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.OPENIM_JSON

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

# Tencent's "the last 30 days".
APP_INFO_DAYS = 30


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


def day_values(day: DayFigures) -> dict[str, str]:
    """The getappinfo fields a day's statistics give."""
    figures = {
        "ActiveUserNum": day.active_users,
        "RegistUserNumOneDay": day.new_users,
        "UpMsgNum": day.messages,
        "C2CUpMsgNum": day.c2c_messages,
        "GroupUpMsgNum": day.group_messages,
        "SendMsgUserNum": day.senders,
        "APNSMsgNum": day.pushes_sent,
        "MaxOnlineNum": day.peak_online,
        "GroupNewGroupNum": day.new_groups,
        "GroupDestroyGroupNum": day.destroyed_groups,
        "GroupAllGroupNum": day.groups,
        "GroupSendMsgGroupNum": day.active_groups,
        "CallBackReq": day.callbacks_ok + day.callbacks_failed,
        "CallBackRsp": day.callbacks_ok,
    }
    return {**{k: str(v) for k, v in figures.items()}, "Date": day.day.replace("-", "")}


def has_figures(day: DayFigures) -> bool:
    return any(v for k, v in asdict(day).items() if k not in ("day", "callback_success_rate"))


def days_shown(days: Sequence[DayFigures]) -> list[DayFigures]:
    """From the first day with any figure through the last (today), which is always shown."""
    first = next((i for i, day in enumerate(days) if has_figures(day)), len(days) - 1)
    return list(days[first:])


def app_info_row(wanted: Sequence[str], values: dict[str, str]) -> dict[str, str]:
    """One Result row: the wanted fields, "0" for those with no figure."""
    return {name: values.get(name, "0") for name in wanted}


def parse_msg_time(value: Any) -> int:
    """A get_history MsgTime, a Beijing hour written YYYYMMDDHH: the hour's start in Unix ms."""
    if not isinstance(value, str):
        raise TidingsError(BAD, "MsgTime must be a string YYYYMMDDHH, such as 2015120121")
    try:
        return history_files.parse_hour(value)
    except ValueError:
        raise TidingsError(BAD, f"MsgTime {value!r} is not an hour written YYYYMMDDHH") from None


def chat_type(value: Any) -> str:
    if value not in history_files.CHAT_TYPES:
        raise TidingsError(BAD, 'ChatType must be "C2C" or "Group"')
    return str(value)


def file_base_url(settings_base: str, host: str, port: int) -> str:
    return settings_base.rstrip("/") or f"http://{host}:{port}"


# ---- commands ---------------------------------------------------------------------------------


async def getappinfo(ctx: RestContext, body: dict[str, Any]) -> Reply:
    wanted = requested_fields(fields.raw(body, "RequestField"))
    sdkappid = ctx.app.sdkappid
    stores = ctx.deps.stores
    accounts, groups = await asyncio.gather(
        stores.directory.count_accounts(sdkappid), stores.groups.count_groups(sdkappid, None)
    )
    reports = await daily_report(stores.stats, sdkappid, APP_INFO_DAYS)
    days = days_shown([r.figures for r in reports])
    app = {"AppId": str(sdkappid), "AppName": ctx.app.name, "Company": ""}
    now = {"RegistUserNumTotal": str(accounts), "GroupAllGroupNum": str(groups)}
    rows = [{**app, **day_values(day)} for day in days]
    rows[-1].update(now)
    return {"Result": [app_info_row(wanted, row) for row in rows]}


async def get_history(ctx: RestContext, body: dict[str, Any]) -> Reply:
    chat = chat_type(fields.raw(body, "ChatType"))
    hour_ms = parse_msg_time(fields.raw(body, "MsgTime"))
    settings = ctx.deps.settings
    if not settings.history_file_secret:
        raise TidingsError(
            ErrorCode.OPENIM_INTERNAL, "history files are off: TIDINGS_HISTORY_FILE_SECRET is unset"
        )
    now_ms = int(time.time() * 1000)
    if hour_ms > now_ms:
        return {"File": []}
    until_ms = min(now_ms, hour_ms + HOUR_MS - 1)
    ref = FileRef(ctx.app.sdkappid, chat, hour_ms)
    found = await HistoryFiles(ctx.deps.stores.messages, settings).file(ref, until_ms)
    if found is None:
        return {"File": []}
    expires_s = now_ms // 1000 + settings.history_file_url_ttl_s
    path = history_files.file_path(ref.sdkappid, chat, hour_ms)
    query = history_files.signed_query(
        settings.history_file_secret.encode(), path, until_ms, expires_s
    )
    base = file_base_url(
        settings.history_file_base_url, settings.advertise_host, settings.http_port
    )
    facts = found.facts
    return {
        "File": [
            {
                "URL": f"{base}{path}?{query}",
                "ExpireTime": history_files.expire_time_text(expires_s),
                "FileSize": facts.file_size,
                "FileMD5": facts.file_md5,
                "GzipSize": facts.gzip_size,
                "GzipMD5": facts.gzip_md5,
            }
        ]
    }


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
