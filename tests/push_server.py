"""A real HTTP server in the test process standing in for a push vendor: hypercorn on
127.0.0.1 and a free port, speaking HTTP/1.1 and, on the same cleartext port, HTTP/2 with
prior knowledge (h2c), which is how the APNs tests speak HTTP/2 without TLS.

    async with local_server(lambda request: (200, {}, b"{}"), http2=True) as server:
        ... aim the adapter at server.url ...
        assert server.requests[0].http_version == "2"

The first argument is either a responder (`Request -> (status, headers, body)`, sync or
async; `server.responder` can be swapped mid-test) or a whole ASGI app; either way every
request is recorded in `server.requests`, in arrival order, before it is answered.
`tls=TlsFiles(...)` serves HTTPS instead (ALPN h2 and http/1.1), optionally demanding a
client certificate.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.embedded.launchers import free_port

Response = tuple[int, Mapping[str, str], bytes]
Responder = Callable[["Request"], Response | Awaitable[Response]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    # Lower-case names; a header sent twice keeps its last value.
    headers: dict[str, str]
    body: bytes
    # "1.1" or "2", as hypercorn reports it in the ASGI scope.
    http_version: str

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> Response:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(doc).encode()


@dataclass(frozen=True)
class TlsFiles:
    """Serve HTTPS (ALPN h2 and http/1.1); with `ca_certs`, the TLS handshake fails for a
    client that does not show a certificate signed by that CA (hypercorn does not pass the
    certificate on to the app, so the handshake is what a test checks)."""

    certfile: str
    keyfile: str
    ca_certs: str | None = None


@dataclass
class LocalServer:
    url: str
    responder: Responder
    requests: list[Request] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        """The first `count` requests, once they have arrived (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    async def _record(self, request: Request) -> None:
        async with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()


def _is_asgi_app(app_or_handler: AsgiApp | Responder) -> bool:
    return len(inspect.signature(app_or_handler).parameters) == 3


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _recording_app(server: LocalServer, http2_only: bool, inner: AsgiApp | None) -> AsgiApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await _read_body(receive)
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            http_version=scope["http_version"],
        )
        await server._record(request)
        response: Response
        if http2_only and request.http_version != "2":
            # What a real HTTP/2-only vendor does to an HTTP/1.1 client, roughly; the point is
            # that a test aimed at an HTTP/2 server cannot pass over HTTP/1.1 by accident.
            response = 505, {}, b"HTTP/2 required"
        elif inner is not None:
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await inner(scope, replay, send)
            return
        else:
            outcome = server.responder(request)
            response = await outcome if inspect.isawaitable(outcome) else outcome
        status, headers, payload = response
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def _default_responder(_: Request) -> Response:
    return json_response(200, {})


@asynccontextmanager
async def local_server(
    app_or_handler: AsgiApp | Responder | None = None,
    *,
    http2: bool = False,
    tls: TlsFiles | None = None,
) -> AsyncIterator[LocalServer]:
    """Serve until the block ends. `http2=True` answers 505 to anything but HTTP/2."""
    inner: AsgiApp | None = None
    responder: Responder = _default_responder
    if app_or_handler is not None:
        if _is_asgi_app(app_or_handler):
            inner = app_or_handler  # type: ignore[assignment]
        else:
            responder = app_or_handler  # type: ignore[assignment]

    port = free_port()
    # Listening before hypercorn starts, so that a client never races the server's start-up:
    # its connection waits in the backlog.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)

    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.insecure_bind = []
    config.accesslog = None
    config.loglevel = "WARNING"
    config.graceful_timeout = 1.0
    if tls is not None:
        config.certfile = tls.certfile
        config.keyfile = tls.keyfile
        if tls.ca_certs is not None:
            config.ca_certs = tls.ca_certs
            config.verify_mode = ssl.CERT_REQUIRED
    scheme = "https" if tls is not None else "http"

    server = LocalServer(url=f"{scheme}://127.0.0.1:{port}", responder=responder)
    stopping = asyncio.Event()
    task = asyncio.create_task(
        serve(_recording_app(server, http2, inner), config, shutdown_trigger=stopping.wait)  # type: ignore[arg-type]
    )
    try:
        yield server
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)
