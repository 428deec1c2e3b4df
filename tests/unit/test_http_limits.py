"""The HTTP limits middleware, around a tiny ASGI app: the operator token on /admin and the body
limit on every route are enforced before the app runs and before a body byte is read; chunked
bodies are cut off once over the limit; each refusal speaks the route's envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from services.common.config import Settings
from services.gateway.http_limits import HttpLimits

TOKEN = "operator-token"
LIMIT = 1000
CHUNK = 300
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class EchoApp:
    """Reads the whole body and answers its length."""

    bodies: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


@dataclass
class Upload:
    """A request body in CHUNK-byte pieces that counts how many were pulled."""

    chunks: int
    pulled: int = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * CHUNK


def limited(app: EchoApp, admin_token: str = TOKEN) -> HttpLimits:
    return HttpLimits(app, Settings(admin_token=admin_token, max_http_body_bytes=LIMIT))


async def call(
    asgi: HttpLimits, path: str, headers: dict[str, str], content: Upload | bytes = b""
) -> httpx.Response:
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        return await http.post(path, headers=headers, content=content)


def admin_error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.mark.parametrize(
    ("headers", "token", "code"),
    [
        ({}, TOKEN, "unauthorized"),
        ({"Authorization": "Bearer wrong"}, TOKEN, "unauthorized"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, TOKEN, "unauthorized"),
        ({"Authorization": f"Basic {TOKEN}"}, TOKEN, "unauthorized"),
        (BEARER, "", "admin_disabled"),
    ],
)
async def test_admin_without_the_token_is_refused_before_the_body(
    headers: dict[str, str], token: str, code: str
) -> None:
    app = EchoApp()
    upload = Upload(chunks=1000)
    r = await call(
        limited(app, token), "/admin/apps", {**headers, "Content-Length": "209715200"}, upload
    )
    assert admin_error(r) == (401, code)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.headers["Connection"] == "close"
    assert (upload.pulled, app.bodies) == (0, [])


async def test_admin_with_the_token_reaches_the_app() -> None:
    app = EchoApp()
    r = await call(limited(app), "/admin/apps", {"Authorization": f"bearer  {TOKEN} "}, b"{}")
    assert (r.status_code, r.text, app.bodies) == (200, "2", [b"{}"])


async def test_other_routes_need_no_token() -> None:
    app = EchoApp()
    assert (await call(limited(app), "/administrator", {}, b"abc")).text == "3"
    assert (await call(limited(app), "/v4/openim/sendmsg", {}, b"abc")).text == "3"


@pytest.mark.parametrize(
    ("path", "headers"), [("/admin/apps", BEARER), ("/openapi.json", {}), ("/healthz", {})]
)
async def test_a_declared_length_over_the_limit_is_413_at_once(
    path: str, headers: dict[str, str]
) -> None:
    app = EchoApp()
    upload = Upload(chunks=1000)
    r = await call(limited(app), path, {**headers, "Content-Length": str(LIMIT + 1)}, upload)
    assert admin_error(r) == (413, "payload_too_large")
    assert r.json()["error"]["message"] == f"request body over {LIMIT} bytes"
    assert (upload.pulled, app.bodies) == (0, [])


async def test_rest_v4_over_the_limit_answers_tencents_envelope() -> None:
    app = EchoApp()
    upload = Upload(chunks=1000)
    r = await call(limited(app), "/v4/openim/sendmsg", {"Content-Length": str(10 * LIMIT)}, upload)
    assert r.status_code == 200
    assert orjson.loads(r.content) == {
        "ActionStatus": "FAIL",
        "ErrorCode": 60003,
        "ErrorInfo": f"request body over {LIMIT} bytes",
    }
    assert (upload.pulled, app.bodies) == (0, [])


async def test_a_body_of_exactly_the_limit_passes() -> None:
    app = EchoApp()
    r = await call(limited(app), "/v4/openim/sendmsg", {}, b"x" * LIMIT)
    assert (r.status_code, r.text) == (200, str(LIMIT))


@pytest.mark.parametrize(
    ("path", "headers"), [("/admin/apps", BEARER), ("/healthz", {}), ("/v4/openim/sendmsg", {})]
)
async def test_a_chunked_body_is_cut_off_once_over_the_limit(
    path: str, headers: dict[str, str]
) -> None:
    app = EchoApp()
    upload = Upload(chunks=1000)
    r = await call(limited(app), path, headers, upload)
    if path.startswith("/v4/"):
        assert (r.status_code, r.json()["ErrorCode"]) == (200, 60003)
    else:
        assert admin_error(r) == (413, "payload_too_large")
    # Reading stopped at the first chunk over the limit; the app never ran.
    assert upload.pulled == LIMIT // CHUNK + 1
    assert app.bodies == []


async def test_a_chunked_body_under_the_limit_reaches_the_app_whole() -> None:
    app = EchoApp()
    r = await call(limited(app), "/admin/apps", BEARER, Upload(chunks=3))
    assert (r.status_code, app.bodies) == (200, [b"x" * 3 * CHUNK])


@dataclass
class Sent:
    messages: list[Message] = field(default_factory=list)

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


@pytest.mark.parametrize(
    "lengths", [[b"abc"], [b"-5"], [b"+5"], [b"1e3"], [b""], [b"5", b"6"], [b"0x10"]]
)
async def test_a_malformed_content_length_is_refused(lengths: list[bytes]) -> None:
    headers = [(b"content-length", v) for v in lengths]
    for path, status in (("/admin/apps", 400), ("/healthz", 400), ("/v4/openim/sendmsg", 200)):
        app = EchoApp()
        sent = Sent()
        scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), *headers],
        }
        await limited(app)(scope, no_body, sent)
        assert sent.status == status
        doc = orjson.loads(sent.body)
        assert (
            (doc["ErrorCode"] == 60003) if status == 200 else doc["error"]["code"] == "bad_request"
        )
        assert app.bodies == []


async def test_the_same_length_twice_is_one_length() -> None:
    app = EchoApp()
    sent = Sent()
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/healthz",
        "headers": [(b"content-length", b"0"), (b"content-length", b"0")],
    }
    await limited(app)(scope, no_body, sent)
    assert (sent.status, app.bodies) == (200, [b""])
