"""get_history's files, built from the message store, and the route that serves them.

A finished hour's file is built once and kept under data_dir/history_files (written whole, then
renamed into place); the same messages build the same bytes, so a gateway that has not kept it
builds it again with the same sizes and MD5s. The current hour's file is built on demand, up to
the `until` its URL carries, and kept as that snapshot until its URL has expired: the archive may
still store a message of that time after get_history answered, and the download must be the
bytes whose sizes and MD5s the answer gave. The route checks the URL's signature and expiry
before it reads anything: the signature is the only credential (no UserSig).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from pathlib import Path

from fastapi import APIRouter, Query, Response

from services.common.config import Settings
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.ports import HOUR_MS, MessageStore, hour_position
from services.gateway import history_files
from services.gateway.history_files import PAGE, FileRef, HourFile

log = get_logger(__name__)

# Time the archive has to store an hour's last messages before its file is kept for good.
ARCHIVE_GRACE_MS = 5 * 60 * 1000
# The most messages one hour's file holds (Tencent splits a large hour over several files;
# Tidings cuts it here and logs it).
MAX_FILE_MESSAGES = 200_000


class HistoryFiles:
    def __init__(self, messages: MessageStore, settings: Settings) -> None:
        self._messages = messages
        self._dir = settings.data_dir / "history_files"
        self._url_ttl_ms = settings.history_file_url_ttl_s * 1000

    def _kept(self, ref: FileRef, until_ms: int | None = None) -> Path:
        """A finished hour's file, or (with until_ms) a snapshot of the current hour's."""
        hour = history_files.hour_text(ref.hour_ms)
        name = f"{hour}.json.gz" if until_ms is None else f"{hour}.until-{until_ms}.json.gz"
        return self._dir / str(ref.sdkappid) / ref.chat_type / name

    async def file(self, ref: FileRef, until_ms: int) -> HourFile | None:
        """The file of an hour's messages up to until_ms; None when there are none."""
        keep = history_files.finished(ref.hour_ms, int(time.time() * 1000), ARCHIVE_GRACE_MS)
        keep = keep and until_ms >= ref.hour_ms + HOUR_MS - 1
        path = self._kept(ref) if keep else self._kept(ref, until_ms)
        if path.exists():
            gz = await asyncio.to_thread(path.read_bytes)
            return HourFile(gzip.decompress(gz), gz)
        built = history_files.build_file(await self._read(ref, until_ms), ref.chat_type)
        if built is not None:
            await asyncio.to_thread(_write_whole, path, built.gz)
            if not keep:
                await asyncio.to_thread(self._drop_expired_snapshots, ref)
        return built

    def _drop_expired_snapshots(self, ref: FileRef) -> None:
        """Snapshots whose URLs have expired (a URL's `until` is when it was issued)."""
        oldest = int(time.time() * 1000) - self._url_ttl_ms
        hour = history_files.hour_text(ref.hour_ms)
        for snapshot in self._kept(ref).parent.glob(f"{hour}.until-*.json.gz"):
            until = snapshot.name.removeprefix(f"{hour}.until-").removesuffix(".json.gz")
            if until.isdigit() and int(until) < oldest:
                snapshot.unlink(missing_ok=True)

    async def _read(self, ref: FileRef, until_ms: int) -> list[Message]:
        out: list[Message] = []
        after = ""
        while len(out) < MAX_FILE_MESSAGES:
            page = await self._messages.by_hour(
                ref.sdkappid, ref.chat_type, ref.hour_ms, after, PAGE
            )
            out += [m for m in page if history_files.in_file(m, until_ms)]
            if len(page) < PAGE or page[-1].server_time_ms > until_ms:
                return out
            after = hour_position(page[-1])
        log.warning("history file cut", app=ref.sdkappid, chat_type=ref.chat_type, at=len(out))
        return out[:MAX_FILE_MESSAGES]


def _write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{time.time_ns()}.part")
    partial.write_bytes(data)
    partial.replace(path)


def build_router(files: HistoryFiles, secret: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    key = secret.encode()

    @router.get(history_files.PATH_PREFIX + "/{sdkappid}/{chat_type}/{hour_file}")
    async def download(
        sdkappid: str,
        chat_type: str,
        hour_file: str,
        # Absent: a URL that was not signed, refused below as any bad signature is.
        until: int = Query(default=0, ge=0, lt=2**63),
        expires: int = Query(default=0, ge=0, lt=2**63),
        sig: str = Query(default="", max_length=64),
    ) -> Response:
        try:
            ref = history_files.parse_file_path(sdkappid, chat_type, hour_file)
        except ValueError as exc:
            return Response(f"{exc}\n", status_code=404, media_type="text/plain")
        path = history_files.file_path(ref.sdkappid, ref.chat_type, ref.hour_ms)
        now_s = int(time.time())
        if not key or not history_files.valid_signature(key, path, until, expires, sig, now_s):
            return Response("bad or expired signature\n", status_code=403, media_type="text/plain")
        found = await files.file(ref, until)
        if found is None:
            return Response("no messages in this hour\n", status_code=404, media_type="text/plain")
        return Response(found.gz, media_type="application/gzip")

    return router
