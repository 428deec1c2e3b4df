"""Device log uploads (services/gateway/device_logs.py): the checks, and the upload route behind
the gateway's HTTP limits, with in-memory stand-ins for the UserSig check, the pending requests
and the store. Everything but the body is checked before a byte of it is pulled."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from services.common.config import Settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.device_logs import (
    GZIP,
    RETENTION_MS,
    TEXT,
    DeviceLogInfo,
    new_upload_id,
    page,
)
from services.gateway import device_logs as dl
from services.gateway.http_limits import HttpLimits

APP = 1400000777
SIG = "good-sig"
LIMIT = 4096
CHUNK = 512


@dataclass
class FakeAuth:
    async def verify(self, sdkappid: int, identifier: str, sig: str) -> None:
        if sig != SIG:
            raise TidingsError(ErrorCode.SIG_WRONG_KEY)


@dataclass
class FakeRequests:
    """Pending requests: (app, request id) -> (user, {conn_id: platform})."""

    pending_of: dict[tuple[int, str], tuple[str, dict[str, str]]] = field(default_factory=dict)

    async def pending(self, sdkappid: int, request_id: str, user: str, conn_id: str) -> str | None:
        owner, conns = self.pending_of.get((sdkappid, request_id), ("", {}))
        return conns.get(conn_id) if owner == user else None

    async def claim(self, sdkappid: int, request_id: str, conn_id: str) -> bool:
        _, conns = self.pending_of.get((sdkappid, request_id), ("", {}))
        return conns.pop(conn_id, None) is not None


@dataclass
class FakeStore:
    added: list[tuple[DeviceLogInfo, bytes]] = field(default_factory=list)

    async def add(self, info: DeviceLogInfo, body: bytes) -> None:
        self.added.append((info, body))


@dataclass
class Body:
    """A request body in CHUNK-byte pieces that counts how many were pulled."""

    chunks: int
    pulled: int = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * CHUNK


@dataclass
class Gateway:
    requests: FakeRequests
    store: FakeStore
    asgi: HttpLimits


def gateway() -> Gateway:
    requests = FakeRequests({(APP, "req1"): ("alice", {"c1": "iOS", "c2": "Android"})})
    store = FakeStore()
    app = FastAPI()
    app.include_router(dl.build_upload_router(FakeAuth(), requests, store, LIMIT))  # type: ignore[arg-type]
    # The gateway's own limit is smaller: uploads bound their body themselves.
    settings = Settings(admin_token="t", max_http_body_bytes=1024)
    asgi = HttpLimits(app, settings, self_bounded=frozenset({dl.UPLOAD_PATH}))
    return Gateway(requests, store, asgi)


def params(**changes: str) -> dict[str, str]:
    base = {
        "sdkappid": str(APP),
        "identifier": "alice",
        "usersig": SIG,
        "request_id": "req1",
        "conn_id": "c1",
    }
    return {**base, **changes}


async def upload(
    gw: Gateway,
    query: dict[str, str],
    content: Body | bytes,
    content_type: str = "text/plain; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=gw.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        return await http.post(
            dl.UPLOAD_PATH,
            params=query,
            content=content,
            headers={"Content-Type": content_type, **(headers or {})},
        )


def outcome(r: httpx.Response) -> tuple[int, int]:
    return r.status_code, r.json()["ErrorCode"]


async def test_an_upload_is_stored_once_per_connection() -> None:
    gw = gateway()
    r = await upload(gw, params(), b"line 1\nline 2\n")
    assert outcome(r) == (200, 0)
    ((info, body),) = gw.store.added
    assert body == b"line 1\nline 2\n"
    assert (info.upload_id, info.user, info.platform, info.conn_id) == (
        r.json()["upload_id"],
        "alice",
        "iOS",
        "c1",
    )
    assert (info.request_id, info.content_type, info.size) == ("req1", TEXT, 14)
    assert outcome(await upload(gw, params(), b"again")) == (404, ErrorCode.REST_RESOURCE)
    # The user's other session answers the same request once too.
    packed = gzip.compress(b"android log")
    r = await upload(gw, params(conn_id="c2"), packed, GZIP)
    assert outcome(r) == (200, 0)
    assert gw.store.added[-1][0].content_type == GZIP
    assert gw.store.added[-1][1] == packed


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        (params(usersig="forged"), 401, ErrorCode.SIG_WRONG_KEY),
        (params(sdkappid=""), 400, ErrorCode.REST_SDKAPPID_REQUIRED),
        (params(sdkappid="14x"), 400, ErrorCode.REST_SDKAPPID_REQUIRED),
        (params(identifier=""), 400, ErrorCode.REST_ACCOUNT_OR_SIG),
        (params(identifier="a" * 33), 400, ErrorCode.REST_ACCOUNT_OR_SIG),
        (params(request_id=""), 400, ErrorCode.REST_HTTP_PARSE),
        (params(request_id="r" * 65), 400, ErrorCode.REST_HTTP_PARSE),
        (params(conn_id=""), 400, ErrorCode.REST_HTTP_PARSE),
        (params(request_id="other"), 404, ErrorCode.REST_RESOURCE),
        (params(identifier="bob"), 404, ErrorCode.REST_RESOURCE),
        (params(conn_id="c3"), 404, ErrorCode.REST_RESOURCE),
    ],
)
async def test_refused_before_the_body_is_read(
    query: dict[str, str], status: int, code: ErrorCode
) -> None:
    gw = gateway()
    body = Body(chunks=4)
    r = await upload(gw, query, body, headers={"Content-Length": str(4 * CHUNK)})
    assert outcome(r) == (status, code)
    assert r.json()["ActionStatus"] == "FAIL"
    assert (body.pulled, gw.store.added) == (0, [])


async def test_a_wrong_content_type_is_415_before_the_body() -> None:
    gw = gateway()
    body = Body(chunks=2)
    r = await upload(gw, params(), body, "application/json")
    assert outcome(r) == (415, ErrorCode.REST_HTTP_PARSE)
    assert body.pulled == 0


async def test_a_declared_length_over_the_limit_is_413_at_once() -> None:
    gw = gateway()
    body = Body(chunks=LIMIT // CHUNK + 1)
    r = await upload(gw, params(), body, headers={"Content-Length": str(LIMIT + CHUNK)})
    assert outcome(r) == (413, ErrorCode.BODY_TOO_LARGE)
    assert (body.pulled, gw.store.added) == (0, [])
    # The request is still pending: a smaller log may answer it.
    assert outcome(await upload(gw, params(), b"short")) == (200, 0)


async def test_a_chunked_body_is_cut_off_past_the_limit() -> None:
    gw = gateway()
    body = Body(chunks=100)
    r = await upload(gw, params(), body)
    assert outcome(r) == (413, ErrorCode.BODY_TOO_LARGE)
    assert body.pulled <= LIMIT // CHUNK + 2
    assert gw.store.added == []


async def test_a_body_up_to_the_limit_passes_the_gateway_limit() -> None:
    gw = gateway()
    r = await upload(gw, params(), b"y" * LIMIT)
    assert outcome(r) == (200, 0)
    assert gw.store.added[0][0].size == LIMIT


@pytest.mark.parametrize(("content", "content_type"), [(b"", "text/plain"), (b"not gzip", GZIP)])
async def test_empty_or_false_gzip_bodies_are_refused(content: bytes, content_type: str) -> None:
    gw = gateway()
    r = await upload(gw, params(), content, content_type)
    assert outcome(r) == (400, ErrorCode.REST_HTTP_PARSE)
    assert gw.store.added == []


def test_checks() -> None:
    assert dl.content_type_of("Text/Plain; charset=utf-8") == TEXT
    assert dl.content_type_of("application/gzip") == GZIP
    for bad in (None, "", "application/octet-stream", "text/html"):
        with pytest.raises(dl.UploadRefused) as refused:
            dl.content_type_of(bad)
        assert refused.value.status == 415
    assert dl.declared_size(None, 10) is None
    assert dl.declared_size("10", 10) == 10
    with pytest.raises(dl.UploadRefused) as refused:
        dl.declared_size("11", 10)
    assert (refused.value.status, refused.value.code) == (413, ErrorCode.BODY_TOO_LARGE)
    for malformed in ("-1", "1e3", " 5", ""):
        with pytest.raises(dl.UploadRefused) as refused:
            dl.declared_size(malformed, 10)
        assert refused.value.status == 400
    assert dl.refusal_status(ErrorCode.SIG_EXPIRED) == 401
    assert dl.refusal_status(ErrorCode.SIG_SDKAPPID_UNKNOWN) == 401
    # Request ids of any content stay inside their app's key.
    assert dl.request_key(APP, "a:{b}") == "devlog:{1400000777:a%3A%7Bb%7D}"


def info(uploaded_ms: int, user: str = "alice") -> DeviceLogInfo:
    return DeviceLogInfo(
        APP, new_upload_id(uploaded_ms), "r", user, "iOS", "c", TEXT, 1, uploaded_ms
    )


def test_page_is_newest_first_unexpired_and_filtered() -> None:
    now = 1_800_000_000_000
    old = info(now - RETENTION_MS)
    a1, b1, a2 = info(now - 3000), info(now - 2000, "bob"), info(now - 1000)
    infos = [a1, old, a2, b1]
    assert page(infos, None, "", 10, now) == [a2, b1, a1]
    assert page(infos, "alice", "", 10, now) == [a2, a1]
    assert page(infos, None, a2.upload_id, 1, now) == [b1]
    assert page(infos, None, a1.upload_id, 10, now) == []
