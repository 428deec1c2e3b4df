"""What the gateway's HTTP app checks before any route reads a request body.

FastAPI reads a whole body before it runs a route's dependencies, so the operator token check
on /admin and a route's own body limit came after an unauthenticated caller had been made to
wait for, or had uploaded, hundreds of megabytes. This pure ASGI middleware runs first:

- under /admin, the operator bearer token (`token_refusal`, as `operator_check` on the routers,
  which stays for the OpenAPI security scheme): 401 in the admin envelope; or, without an
  Authorization header, the web console's session cookie and, on a changing request, its CSRF
  token (services/gateway/console_auth.py): 401, or 403 `csrf`; the console user goes on in
  the request scope for the routers' policy check;
- on every route, a declared Content-Length over `max_http_body_bytes` is refused at once: 413
  `payload_too_large` in the admin envelope, and Tencent's always-200 envelope with 60003 on
  /v4/; a malformed one is 400 `bad_request` / 60003;
- a body without a Content-Length (chunked) is read here, before the app runs, and refused the
  same way as soon as it passes the limit, so no more than about the limit is held.

Paths in `self_bounded` pass untouched: their routes check the caller, then bound and read the
body themselves, with a limit of their own (device log uploads: services/gateway/device_logs.py).

An unauthenticated admin request is answered and its connection closed: nothing more it sends
is worth reading. A body over the limit is answered without closing, so that a client that
writes its whole body before reading (most HTTP clients) still gets the answer; uvicorn then
discards the rest, holding none of it, until its keep-alive timeout closes the connection.
"""

from __future__ import annotations

from collections import deque

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.config import Settings
from services.common.errors import ErrorCode
from services.gateway.admin import PREFIX as ADMIN_PREFIX
from services.gateway.admin.base import CONSOLE_USER, AdminError, envelope, token_refusal
from services.gateway.console_auth import COOKIE, ConsoleAuth
from services.gateway.rest_v4 import reply_body

REST_PREFIX = "/v4/"


def _headers(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, None without one; ValueError when it is not one
    non-negative decimal number (several different values included)."""
    values = set(_headers(scope, b"content-length"))
    if not values:
        return None
    value = values.pop()
    if values or not value.isdigit():
        raise ValueError("malformed Content-Length")
    return int(value)


def bearer_token(scope: Scope) -> str:
    """The credentials of an `Authorization: Bearer` header, "" without one (as HTTPBearer)."""
    values = _headers(scope, b"authorization")
    scheme, _, credentials = (values[0].decode("latin-1") if values else "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _is_admin(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def _refusal(path: str, status: int, code: str, message: str) -> Response:
    """A refusal in the envelope of the route: Tencent's (always HTTP 200) on REST v4, the
    admin one elsewhere."""
    if path.startswith(REST_PREFIX):
        return Response(
            reply_body(ErrorCode.REST_JSON_PARSE, message), media_type="application/json"
        )
    return JSONResponse(envelope(code, message), status)


def _too_large(path: str, limit: int) -> Response:
    return _refusal(path, 413, "payload_too_large", f"request body over {limit} bytes")


async def _read_capped(receive: Receive, limit: int) -> list[Message] | None:
    """The request's body messages as received, or None once they pass `limit` bytes (the
    rest is not read)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` first, then what the server sends (a disconnect)."""
    pending = deque(messages)

    async def replayed() -> Message:
        return pending.popleft() if pending else await receive()

    return replayed


class HttpLimits:
    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        self_bounded: frozenset[str] = frozenset(),
        console: ConsoleAuth | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.self_bounded = self_bounded
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.self_bounded:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        unauthorized = await self._unauthorized(scope) if _is_admin(path) else None
        if unauthorized is not None:
            await unauthorized(scope, receive, send)
            return
        limit = self.settings.max_http_body_bytes
        try:
            declared = declared_length(scope)
        except ValueError as err:
            await _refusal(path, 400, "bad_request", str(err))(scope, receive, send)
            return
        if declared is not None:
            # The server reads no more than the declared length, so that bound is enough.
            if declared > limit:
                await _too_large(path, limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        messages = await _read_capped(receive, limit)
        if messages is None:
            await _too_large(path, limit)(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _unauthorized(self, scope: Scope) -> Response | None:
        refused: AdminError | None
        if (
            self.console is not None
            and not _headers(scope, b"authorization")
            and any(COOKIE.encode() in v for v in _headers(scope, b"cookie"))
        ):
            found = await self.console.admin_caller(scope["method"], scope["headers"])
            if not isinstance(found, AdminError):
                scope[CONSOLE_USER] = found
                return None
            if found.status == 403:
                return JSONResponse(envelope(found.code, found.message), found.status)
            refused = found
        else:
            refused = token_refusal(self.settings, bearer_token(scope))
        if refused is None:
            return None
        headers = {"WWW-Authenticate": "Bearer", "Connection": "close"}
        return JSONResponse(
            envelope(refused.code, refused.message), refused.status, headers=headers
        )
