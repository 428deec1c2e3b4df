"""Device logs on demand (Easemob's 设备日志): a client's log, uploaded when the operator asked
for it, kept RETENTION_MS (7 days) and then gone.

An upload is its metadata (`DeviceLogInfo`, what a listing shows) and its bytes, stored as
uploaded (text, or gzip: never decompressed here). Upload ids sort by upload time, so newest
first is descending id order and a page ends at an id. Every adapter hides uploads older than
RETENTION_MS whether or not their rows are gone yet, and stores nothing for one already that
old.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Protocol

import orjson

RETENTION_MS = 7 * 86400 * 1000
TEXT = "text/plain"
GZIP = "application/gzip"
CONTENT_TYPES: tuple[str, ...] = (TEXT, GZIP)


def new_upload_id(uploaded_ms: int) -> str:
    return f"{uploaded_ms:013d}-{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class DeviceLogInfo:
    sdkappid: int
    upload_id: str
    # The admin API's request that the client answered.
    request_id: str
    user: str
    platform: str
    # The WebSocket connection that was asked (the client's conn_id).
    conn_id: str
    content_type: str
    size: int
    uploaded_ms: int

    def to_doc(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_doc(cls, doc: str | bytes) -> DeviceLogInfo:
        return cls(**orjson.loads(doc))

    def expired(self, now_ms: int) -> bool:
        return self.uploaded_ms <= now_ms - RETENTION_MS


@dataclass(frozen=True, slots=True)
class DeviceLog:
    info: DeviceLogInfo
    body: bytes


def page(
    infos: Iterable[DeviceLogInfo], user: str | None, before_id: str, limit: int, now_ms: int
) -> list[DeviceLogInfo]:
    """Newest first, not expired, optionally of one user, ids below `before_id` ("" for the
    first page), at most `limit`."""
    return [
        i
        for i in sorted(infos, key=lambda i: i.upload_id, reverse=True)
        if not i.expired(now_ms)
        and (not before_id or i.upload_id < before_id)
        and (user is None or i.user == user)
    ][:limit]


class DeviceLogStore(Protocol):
    async def add(self, info: DeviceLogInfo, body: bytes) -> None:
        """Keep an upload until RETENTION_MS after its uploaded_ms (nothing if that is past)."""

    async def list(
        self, sdkappid: int, user: str | None, before_id: str, limit: int
    ) -> list[DeviceLogInfo]:
        """The app's uploads, newest first, optionally of one user, with ids below before_id
        ("" for the first page), at most limit."""

    async def get(self, sdkappid: int, upload_id: str) -> DeviceLog | None: ...
