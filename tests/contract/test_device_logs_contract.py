"""DeviceLogStore contract: uploads per app, newest first, filtered by user, paged by id,
downloaded byte for byte, and never returned once older than the 7 days kept."""

from __future__ import annotations

import gzip
import time
from dataclasses import replace

from services.common.store.device_logs import (
    GZIP,
    RETENTION_MS,
    TEXT,
    DeviceLogInfo,
    new_upload_id,
)
from services.common.store.ports import Stores

APP_A = 1400000501
APP_B = 1400000502


def upload(
    sdkappid: int, uploaded_ms: int, user: str = "alice", body: bytes = b""
) -> DeviceLogInfo:
    return DeviceLogInfo(
        sdkappid=sdkappid,
        upload_id=new_upload_id(uploaded_ms),
        request_id=f"req-{uploaded_ms}",
        user=user,
        platform="Android",
        conn_id=f"conn-{uploaded_ms}",
        content_type=TEXT,
        size=len(body),
        uploaded_ms=uploaded_ms,
    )


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_uploads_listed_newest_first_by_user_and_paged(stores: Stores) -> None:
    s = stores.device_logs
    start = now_ms() - 60_000
    made = [upload(APP_A, start + i, user="alice" if i % 2 == 0 else "bob") for i in range(5)]
    for info in made:
        await s.add(info, b"line %d\n" % info.uploaded_ms)
    await s.add(upload(APP_B, start + 9), b"other app")
    newest = list(reversed(made))
    first = await s.list(APP_A, None, "", 3)
    assert first == newest[:3]  # every field round-trips
    rest = await s.list(APP_A, None, first[-1].upload_id, 3)
    assert rest == newest[3:]
    alice = await s.list(APP_A, "alice", "", 10)
    assert [i.upload_id for i in alice] == [made[4].upload_id, made[2].upload_id, made[0].upload_id]
    assert len(await s.list(APP_B, None, "", 10)) == 1
    assert await s.list(APP_B, "alice", made[0].upload_id, 10) == []


async def test_download_returns_the_bytes_as_uploaded(stores: Stores) -> None:
    s = stores.device_logs
    raw = bytes(range(256)) * 4096  # 1 MiB, every byte value
    packed = gzip.compress(b"2026-12-06 login ok\n" * 1000)
    text_info = upload(APP_A, now_ms() - 1000, body=raw)
    gzip_info = replace(
        text_info,
        upload_id=new_upload_id(text_info.uploaded_ms + 1),
        platform="iOS",
        content_type=GZIP,
        size=len(packed),
        uploaded_ms=text_info.uploaded_ms + 1,
    )
    await s.add(text_info, raw)
    await s.add(gzip_info, packed)
    got = await s.get(APP_A, text_info.upload_id)
    assert got is not None and got.info == text_info and got.body == raw
    zipped = await s.get(APP_A, gzip_info.upload_id)
    assert zipped is not None and zipped.info.content_type == GZIP and zipped.body == packed
    assert await s.get(APP_B, text_info.upload_id) is None
    assert await s.get(APP_A, new_upload_id(now_ms())) is None


async def test_uploads_past_seven_days_are_never_returned(stores: Stores) -> None:
    s = stores.device_logs
    now = now_ms()
    old = upload(APP_A, now - RETENTION_MS - 1000)
    kept = upload(APP_A, now - RETENTION_MS + 60_000)
    await s.add(old, b"old")
    await s.add(kept, b"kept")
    assert await s.list(APP_A, None, "", 10) == [kept]
    assert await s.get(APP_A, old.upload_id) is None
    got = await s.get(APP_A, kept.upload_id)
    assert got is not None and got.body == b"kept"
