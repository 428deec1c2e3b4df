"""REST open_msg_svc/get_history through the stack: the current hour's C2C and group files,
downloaded from the gateway through their signed URLs, match the reply's sizes and MD5s and
hold the messages sent; an altered or expired URL answers 403; an hour without messages has no
file."""

from __future__ import annotations

import gzip
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import pytest

from services.common.store.ports import hour_of as hour_start
from services.gateway import history_files
from tests.conftest import AppUnderTest, eventually, http_client
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


def hour_of(time_s: int) -> str:
    return history_files.hour_text(hour_start(time_s * 1000))


async def _file_holding(app: AppUnderTest, chat_type: str, hour: str, count: int) -> Any:
    """The hour's File entry once the archive holds `count` messages of it (the archive
    consumer stores them after the send is acknowledged)."""

    async def archived() -> dict[str, Any] | None:
        reply = await app.rest(
            "open_msg_svc", "get_history", {"ChatType": chat_type, "MsgTime": hour}
        )
        assert reply["ErrorCode"] == 0, reply
        if not reply["File"]:
            return None
        [entry] = reply["File"]
        return (
            entry if entry["FileSize"] and _count(await _download(entry["URL"])) == count else None
        )

    return await eventually(archived)


async def _download(url: str, status: int = 200) -> bytes:
    async with http_client(timeout=30) as http:
        r = await http.get(url)
    assert r.status_code == status, r.text
    return r.content


def _count(gz: bytes) -> int:
    return len(orjson.loads(gzip.decompress(gz))["MsgList"])


async def test_current_hour_files_download_and_match(app: AppUnderTest) -> None:
    await app.import_accounts("hf1", "hf2", "hf3")
    c2c_times: dict[str, list[int]] = {}
    for n, (a, b) in enumerate([("hf1", "hf2"), ("hf2", "hf1"), ("hf1", "hf3")]):
        sent = await app.rest(
            "openim",
            "sendmsg",
            {"From_Account": a, "To_Account": b, "MsgRandom": n, "MsgBody": text(f"c{n}")},
        )
        assert sent["ErrorCode"] == 0, sent
        c2c_times.setdefault(hour_of(sent["MsgTime"]), []).append(n)
    group_id = await make_group(app, "hf1", ["hf2"])
    posted = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "From_Account": "hf2", "Random": 5, "MsgBody": text("g0")},
    )
    assert posted["ErrorCode"] == 0, posted

    # The sends may straddle an hour: each hour's file holds that hour's messages.
    for hour, sent_in_hour in c2c_times.items():
        entry = await _file_holding(app, "C2C", hour, len(sent_in_hour))
        gz = await _download(entry["URL"])
        data = gzip.decompress(gz)
        assert (entry["GzipSize"], entry["GzipMD5"]) == (len(gz), hashlib.md5(gz).hexdigest())
        assert (entry["FileSize"], entry["FileMD5"]) == (len(data), hashlib.md5(data).hexdigest())
        items = orjson.loads(data)["MsgList"]
        assert [i["MsgRandom"] for i in items] == sent_in_hour
        first = items[0]
        assert (first["From_Account"], first["MsgBody"]) == (
            ["hf1", "hf2", "hf1"][sent_in_hour[0]],
            text(f"c{sent_in_hour[0]}"),
        )
        assert {"To_Account", "MsgTimestamp", "MsgSeq", "MsgKey", "CloudCustomData"} <= set(first)
        assert entry["ExpireTime"] > time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())

    group_hour = hour_of(posted["MsgTime"])
    entry = await _file_holding(app, "Group", group_hour, 1)
    [item] = orjson.loads(gzip.decompress(await _download(entry["URL"])))["MsgList"]
    assert (item["GroupId"], item["From_Account"], item["MsgSeq"], item["MsgRandom"]) == (
        group_id,
        "hf2",
        posted["MsgSeq"],
        5,
    )
    assert item["MsgBody"] == text("g0")

    # Altered or expired URLs are refused before any file is read.
    url = urlsplit(entry["URL"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}

    def with_query(path: str, **changes: str) -> str:
        return f"{url.scheme}://{url.netloc}{path}?{urlencode({**query, **changes})}"

    await _download(with_query(url.path, sig="0" * 64), 403)
    await _download(f"{url.scheme}://{url.netloc}{url.path}", 403)
    await _download(with_query(url.path, until=str(int(query["until"]) + 1)), 403)
    await _download(with_query(url.path.replace("/Group/", "/C2C/")), 403)
    # Signed with the stack's secret, but past its expiry.
    secret = app.stack.history_file_secret.encode()
    expired = history_files.signed_query(
        secret, url.path, int(query["until"]), int(time.time()) - 1
    )
    await _download(f"{url.scheme}://{url.netloc}{url.path}?{expired}", 403)
    renewed = history_files.signed_query(
        secret, url.path, int(query["until"]), int(time.time()) + 60
    )
    assert await _download(f"{url.scheme}://{url.netloc}{url.path}?{renewed}")


async def test_hour_without_messages_has_no_file(app: AppUnderTest) -> None:
    ok = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    for chat_type in ("C2C", "Group"):
        reply = await app.rest(
            "open_msg_svc",
            "get_history",
            {"ChatType": chat_type, "MsgTime": hour_of(int(time.time()))},
        )
        assert reply == {**ok, "File": []}
