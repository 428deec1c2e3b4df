"""Device logs on demand (Easemob's 设备日志): the admin API asks a user's connected clients to
upload their logs (admin/device_logs.py); each client uploads over HTTP, here.

A log is bigger than a WebSocket frame may be, so the client answers the `upload_log_request`
frame with POST /v1/device-logs?sdkappid=&identifier=&usersig=&request_id=&conn_id=, its body
the log as text/plain or application/gzip (stored as uploaded, never decompressed here).

Everything but the body is checked first, before a byte of it is read: the UserSig (Tencent's
700xx codes, as REST v4), the content type, a declared length over `device_log_max_bytes`
(413), and the request: one the admin API issued for this user and this connection, not yet
answered. A pending request is a Redis hash per request id ("user", and one "conn:<id>" field
per connection asked, holding its platform) that expires after `device_log_request_ttl_s`;
an upload claims its connection's field (HDEL) once the body is in, so each connection uploads
once. A body sent without a length is cut off as soon as it passes the limit.

Answers are JSON in REST v4's shape ({"ActionStatus", "ErrorCode", "ErrorInfo"}, and
"upload_id" on success) with a real HTTP status: 400 bad parameters, 401 UserSig, 404 no such
pending request, 413 too large, 415 wrong content type.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.common import keys
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.redis_state import SessionInfo, text
from services.common.store.device_logs import (
    CONTENT_TYPES,
    GZIP,
    DeviceLogInfo,
    DeviceLogStore,
    new_upload_id,
)
from services.gateway import ids
from services.gateway.auth import Authenticator
from services.gateway.bounds import SDKAPPID, parse_decimal
from services.gateway.rest_v4 import reply_body

log = get_logger(__name__)

UPLOAD_PATH = "/v1/device-logs"
# The frame op that asks a client for its log (docs/PROTOCOL.md).
REQUEST_OP = "upload_log_request"

_USER_FIELD = "user"
_CONN_PREFIX = "conn:"
# Request ids are 24 hex digits; conn ids the gateway's (32 hex digits), bounded here anyway.
_MAX_ID_CHARS = 64
_GZIP_MAGIC = b"\x1f\x8b"


class UploadRefused(Exception):
    def __init__(self, status: int, code: ErrorCode, info: str) -> None:
        super().__init__(info)
        self.status = status
        self.code = code
        self.info = info


@dataclass(frozen=True, slots=True)
class UploadParams:
    sdkappid: int
    identifier: str
    usersig: str
    request_id: str
    conn_id: str


def _short_id(query: Mapping[str, str], name: str) -> str:
    value = query.get(name) or ""
    if not value or len(value) > _MAX_ID_CHARS or not value.isascii() or not value.isprintable():
        raise UploadRefused(
            400, ErrorCode.REST_HTTP_PARSE, f"{name} must be 1 to {_MAX_ID_CHARS} ASCII characters"
        )
    return value


def upload_params(query: Mapping[str, str]) -> UploadParams:
    """The upload's query parameters, each checked for presence and size."""
    raw_app = query.get("sdkappid") or ""
    if not raw_app:
        raise UploadRefused(400, ErrorCode.REST_SDKAPPID_REQUIRED, "sdkappid is required")
    try:
        sdkappid = parse_decimal(raw_app, "sdkappid", SDKAPPID, ErrorCode.REST_SDKAPPID_REQUIRED)
    except TidingsError as err:
        raise UploadRefused(400, ErrorCode(err.code), err.info) from None
    identifier = query.get("identifier") or ""
    usersig = query.get("usersig") or ""
    if not identifier or not usersig:
        raise UploadRefused(
            400, ErrorCode.REST_ACCOUNT_OR_SIG, "identifier and usersig are required in the url"
        )
    problem = ids.user_id_problem(identifier)
    if problem:
        raise UploadRefused(400, ErrorCode.REST_ACCOUNT_OR_SIG, f"identifier {problem}")
    return UploadParams(
        sdkappid, identifier, usersig, _short_id(query, "request_id"), _short_id(query, "conn_id")
    )


def content_type_of(header: str | None) -> str:
    """text/plain or application/gzip (parameters such as a charset dropped); 415 otherwise."""
    media = (header or "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise UploadRefused(
            415,
            ErrorCode.REST_HTTP_PARSE,
            f"Content-Type must be one of {', '.join(CONTENT_TYPES)}",
        )
    return media


def declared_size(header: str | None, limit: int) -> int | None:
    """The declared Content-Length, None without one; 413 over `limit`, 400 malformed."""
    if header is None:
        return None
    if not header.isdigit():
        raise UploadRefused(400, ErrorCode.REST_HTTP_PARSE, "malformed Content-Length")
    size = int(header)
    if size > limit:
        raise too_large(limit)
    return size


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(413, ErrorCode.BODY_TOO_LARGE, f"a device log is at most {limit} bytes")


def check_body(body: bytes, content_type: str) -> None:
    if not body:
        raise UploadRefused(400, ErrorCode.REST_HTTP_PARSE, "the log is empty")
    if content_type == GZIP and not body.startswith(_GZIP_MAGIC):
        raise UploadRefused(400, ErrorCode.REST_HTTP_PARSE, "the body is not gzip data")


def refusal_status(code: int) -> int:
    """The HTTP status of a TidingsError from the UserSig check: 401, the app unknown included."""
    return 401 if 70000 <= code < 71000 else 400


def request_key(sdkappid: int, request_id: str) -> str:
    return keys.redis_key("devlog", sdkappid, keys.escape(request_id))


def conn_field(conn_id: str) -> str:
    return _CONN_PREFIX + conn_id


class DeviceLogRequests:
    """The admin API's pending requests for device logs, in Redis."""

    def __init__(self, client: aioredis.Redis, ttl_s: int) -> None:
        self._redis = client
        self._ttl_s = ttl_s

    async def open(self, sdkappid: int, user: str, sessions: Mapping[str, SessionInfo]) -> str:
        """A new request id, pending for each of these connections of `user`."""
        request_id = secrets.token_hex(12)
        key = request_key(sdkappid, request_id)
        # One field per connection asked, which its upload claims.
        items = [_USER_FIELD, user]
        for conn_id, session in sessions.items():
            items += [conn_field(conn_id), session.platform]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, items=items)
            pipe.expire(key, self._ttl_s)
            await pipe.execute()
        return request_id

    async def pending(self, sdkappid: int, request_id: str, user: str, conn_id: str) -> str | None:
        """The platform of the connection asked, if the request is pending for this user and
        connection; None otherwise (unknown, expired, another user's, or answered)."""
        owner, platform = await self._redis.hmget(
            request_key(sdkappid, request_id), [_USER_FIELD, conn_field(conn_id)]
        )
        if owner is None or platform is None or text(owner) != user:
            return None
        return text(platform)

    async def claim(self, sdkappid: int, request_id: str, conn_id: str) -> bool:
        """Mark the connection's answer given: True once, for the first upload to get here."""
        removed = await self._redis.hdel(request_key(sdkappid, request_id), conn_field(conn_id))
        return bool(removed)


async def _read_capped(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, code: ErrorCode | int, info: str, upload_id: str = "") -> Response:
    extra = {"upload_id": upload_id} if upload_id else None
    return Response(reply_body(code, info, extra), status, media_type="application/json")


def build_upload_router(
    auth: Authenticator, requests: DeviceLogRequests, store: DeviceLogStore, max_bytes: int
) -> APIRouter:
    router = APIRouter(tags=["device logs"])

    @router.post(
        UPLOAD_PATH,
        summary="A client uploads its log, answering an upload_log_request frame",
        response_class=Response,
    )
    async def upload(request: Request) -> Response:
        try:
            params = upload_params(request.query_params)
            try:
                await auth.verify(params.sdkappid, params.identifier, params.usersig)
            except TidingsError as err:
                raise UploadRefused(
                    refusal_status(err.code), ErrorCode(err.code), err.info
                ) from None
            content_type = content_type_of(request.headers.get("content-type"))
            declared_size(request.headers.get("content-length"), max_bytes)
            platform = await requests.pending(
                params.sdkappid, params.request_id, params.identifier, params.conn_id
            )
            if platform is None:
                raise UploadRefused(
                    404,
                    ErrorCode.REST_RESOURCE,
                    "no pending log request of this id for this user and connection "
                    "(unknown, expired, or answered already)",
                )
            body = await _read_capped(request, max_bytes)
            check_body(body, content_type)
            if not await requests.claim(params.sdkappid, params.request_id, params.conn_id):
                raise UploadRefused(
                    404, ErrorCode.REST_RESOURCE, "this log request was answered already"
                )
            uploaded_ms = int(time.time() * 1000)
            info = DeviceLogInfo(
                sdkappid=params.sdkappid,
                upload_id=new_upload_id(uploaded_ms),
                request_id=params.request_id,
                user=params.identifier,
                platform=platform,
                conn_id=params.conn_id,
                content_type=content_type,
                size=len(body),
                uploaded_ms=uploaded_ms,
            )
        except UploadRefused as refused:
            return _answer(refused.status, refused.code, refused.info)
        await store.add(info, body)
        log.info(
            "device log uploaded",
            sdkappid=info.sdkappid,
            user=info.user,
            request_id=info.request_id,
            size=info.size,
        )
        return _answer(200, ErrorCode.OK, "", info.upload_id)

    return router
