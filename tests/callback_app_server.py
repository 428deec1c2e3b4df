"""A real HTTP server standing in for an app server in callback tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from services.embedded.launchers import free_port


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    at: float
    host: str


# What the app server answers: (HTTP status, JSON body), or None to never answer in time.
Behaviour = Callable[[Hit], tuple[int, dict[str, Any]] | None]


def answer(code: int, **extra: Any) -> Behaviour:
    return lambda _: (200, {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": code, **extra})


class AppServer:
    """A real HTTP server standing in for an app server; it can be stopped and started again
    on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[Hit] = []
        self.behaviour: Behaviour = answer(0)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/im/callback?tenant=t1"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hit = Hit(
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    json.loads(raw),
                    time.time(),
                    self.headers.get("Host", ""),
                )
                outer.hits.append(hit)
                result = outer.behaviour(hit)
                if result is None:
                    time.sleep(5)
                    return
                status, doc = result
                payload = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, *args: Any) -> None:
                pass  # a caller that gave up closes the socket under a hanging handler

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of(self, command: str, app: int | None = None) -> list[Hit]:
        return [
            h
            for h in self.hits
            if h.query.get("CallbackCommand") == command
            and (app is None or h.query.get("SdkAppid") == str(app))
        ]
