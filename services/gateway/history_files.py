"""Hourly message files for REST `open_msg_svc/get_history` (Tencent's 下载最近消息记录,
cloud.tencent.com/document/product/269/1650), and the signed URLs that serve them.

A file is gzip of JSON `{"MsgList": [...]}`: the app's stored messages of one chat type (C2C,
or Group with its Community topics) whose server time is in one Beijing hour, oldest first.
Tencent's reference names no item fields; each item carries the fields of Tencent's message
callbacks and history replies: C2C `From_Account`, `To_Account`, `MsgTimestamp`, `MsgSeq`,
`MsgRandom`, `MsgKey`, `MsgBody`, `CloudCustomData`; Group `GroupId` (and `TopicId` for a
topic's message), `From_Account`, `MsgTimestamp`, `MsgSeq`, `MsgRandom`, `MsgBody`,
`CloudCustomData`. Recalled and deleted messages are left out: the file holds what a reader
can still read.

The gzip header's time is fixed (0) and the JSON is written in one order, so the same messages
make the same bytes: a finished hour keeps its sizes and MD5s however often it is built.

A URL is `/v4-files/history/{sdkappid}/{C2C|Group}/{YYYYMMDDHH}.gz?until=&expires=&sig=`:
`until` (Unix ms) bounds the messages taken, so a file of the current hour, built on demand,
holds what it held when get_history answered; `sig` is HMAC-SHA256 with the server's secret
over the path, until and expires. It is the only credential the URL carries.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from services.common import conversation
from services.common.msgbody import msg_body_json
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.ports import HOUR_MS

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
CHAT_TYPES = ("C2C", "Group")
PATH_PREFIX = "/v4-files/history"
HOUR_FORMAT = "%Y%m%d%H"
_HOUR = re.compile(r"[0-9]{10}")
# SDKAppIDs are unsigned 32-bit.
MAX_SDKAPPID = 2**32 - 1
# Messages read per store page while a file is built.
PAGE = 1000


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What get_history tells of a file: its sizes and MD5s, before and after gzip."""

    file_size: int
    file_md5: str
    gzip_size: int
    gzip_md5: str


@dataclass(frozen=True, slots=True)
class HourFile:
    json: bytes
    gz: bytes

    @property
    def facts(self) -> FileFacts:
        # MD5: Tencent's checksum of the files, not a security measure.
        return FileFacts(
            len(self.json),
            hashlib.md5(self.json).hexdigest(),
            len(self.gz),
            hashlib.md5(self.gz).hexdigest(),
        )


def parse_hour(value: str) -> int:
    """The start (Unix ms) of a Beijing hour written YYYYMMDDHH; ValueError when it is not
    one."""
    if not _HOUR.fullmatch(value):
        raise ValueError(f"{value!r} is not an hour written YYYYMMDDHH")
    start = datetime.strptime(value, HOUR_FORMAT).replace(tzinfo=BEIJING)
    return int(start.timestamp() * 1000)


def hour_text(hour_ms: int) -> str:
    return datetime.fromtimestamp(hour_ms / 1000, BEIJING).strftime(HOUR_FORMAT)


def expire_time_text(expires_s: int) -> str:
    """Tencent's ExpireTime: Beijing time, "YYYY-MM-DD HH:MM:SS"."""
    return datetime.fromtimestamp(expires_s, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def message_item(m: Message, chat_type: str) -> dict[str, Any]:
    common = {
        "From_Account": m.sender,
        "MsgTimestamp": m.server_time_ms // 1000,
        "MsgSeq": m.seq,
        "MsgRandom": m.msg_random,
    }
    body = {"MsgBody": msg_body_json(m.elements), "CloudCustomData": m.cloud_custom_data}
    if chat_type == "C2C":
        return {**common, "To_Account": m.to_user, "MsgKey": m.msg_key, **body}
    _kind, group_id, *topic = conversation.parts(m.conversation)
    where = {"GroupId": group_id, **({"TopicId": topic[0]} if topic else {})}
    return {**where, **common, **body}


def in_file(m: Message, until_ms: int) -> bool:
    return m.server_time_ms <= until_ms and not (m.recalled or m.deleted)


def build_file(messages: Iterable[Message], chat_type: str) -> HourFile | None:
    """The file of these messages (in the order given), or None when there are none: an hour
    without messages has no file."""
    items = [message_item(m, chat_type) for m in messages]
    if not items:
        return None
    data = orjson.dumps({"MsgList": items})
    return HourFile(data, gzip.compress(data, compresslevel=6, mtime=0))


def finished(hour_ms: int, now_ms: int, grace_ms: int) -> bool:
    """Whether an hour is over, with time for the archive to catch up: its file is then built
    once and kept."""
    return now_ms >= hour_ms + HOUR_MS + grace_ms


# ---- signed URLs ------------------------------------------------------------------------------


def file_path(sdkappid: int, chat_type: str, hour_ms: int) -> str:
    return f"{PATH_PREFIX}/{sdkappid}/{chat_type}/{hour_text(hour_ms)}.gz"


def signature(secret: bytes, path: str, until_ms: int, expires_s: int) -> str:
    signed = f"{path}\n{until_ms}\n{expires_s}".encode()
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def signed_query(secret: bytes, path: str, until_ms: int, expires_s: int) -> str:
    sig = signature(secret, path, until_ms, expires_s)
    return f"until={until_ms}&expires={expires_s}&sig={sig}"


def valid_signature(
    secret: bytes, path: str, until_ms: int, expires_s: int, sig: str, now_s: int
) -> bool:
    """An unexpired URL signed with this secret."""
    if expires_s < now_s:
        return False
    return hmac.compare_digest(signature(secret, path, until_ms, expires_s), sig)


@dataclass(frozen=True, slots=True)
class FileRef:
    sdkappid: int
    chat_type: str
    hour_ms: int


def parse_file_path(sdkappid: str, chat_type: str, hour_file: str) -> FileRef:
    """The ids of a file URL's path; ValueError when one is not valid."""
    if not sdkappid.isdigit() or not 0 < int(sdkappid) <= MAX_SDKAPPID:
        raise ValueError("not an SDKAppID")
    if chat_type not in CHAT_TYPES:
        raise ValueError("not a chat type")
    hour, dot, ext = hour_file.partition(".")
    if (dot, ext) != (".", "gz"):
        raise ValueError("not a .gz file")
    return FileRef(int(sdkappid), chat_type, parse_hour(hour))
