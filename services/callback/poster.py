"""POST one signed callback to an app server, through one shared httpx client.

Every request is bounded by one deadline (resolution, connect, send and answer together), and
goes to an address checked by the SSRF guard: the host is resolved here, every address it has
must be allowed, and the connection is pinned to the checked address (Host header and TLS SNI
keep the name), so a DNS answer that changes between the check and the connect cannot redirect
it. Redirects are not followed and proxy variables are ignored, for the same reason. An IP
literal is read as the configuration check read it (`host_address`, `canonical_url`), so the
address checked when the URL was stored is the one connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from services.callback.signing import callback_url, query_params
from services.callback.tracing import callback_trace, url_host
from services.common.callback_config import (
    CallbackConfig,
    canonical_url,
    host_address,
    ip_allowed,
)
from services.common.metrics import CALLBACK_LATENCY
from services.common.trace import (
    CALLBACK_ADDRESS,
    CALLBACK_TIMEOUT,
    CALLBACK_TOO_LARGE,
    CALLBACK_UNREACHABLE,
    Tracer,
)

# An app server's answer is a small JSON object (a rewritten body is at most 12 KB).
MAX_REPLY_BYTES = 1024 * 1024
_DNS_TTL_S = 30.0
_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Tidings-Callback/1"}


class CallbackFailure(Exception):
    """No usable answer: `outcome` is "timeout" or "failed" (the metric's outcome label);
    `code` the HTTP status, or a CALLBACK_* code of services/common/trace.py."""

    def __init__(
        self, outcome: Literal["timeout", "failed"], detail: str, code: int | None = None
    ) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        if code is None:
            code = CALLBACK_TIMEOUT if outcome == "timeout" else CALLBACK_UNREACHABLE
        self.code = code


@dataclass(frozen=True, slots=True)
class Request:
    sdkappid: int
    command: str
    body: dict[str, Any]
    client_ip: str = ""
    platform: str = ""
    # Which try of its delivery this is (traced): 1 for a before-callback's only one.
    attempt: int = 1


class Poster:
    def __init__(
        self, allow_private: bool, max_connections: int = 512, tracer: Tracer | None = None
    ) -> None:
        self._allow_private = allow_private
        # Each try is traced (im.trace) when given one.
        self._tracer = tracer
        self._client = httpx.AsyncClient(
            timeout=None,  # one deadline per request instead, see post()
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections // 4
            ),
        )
        self._dns: dict[tuple[str, int], tuple[float, str]] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def post(self, config: CallbackConfig, req: Request, timeout_s: float) -> bytes:
        """The body of the app server's 2xx answer; CallbackFailure otherwise."""
        params = query_params(
            req.sdkappid, req.command, req.client_ip, req.platform, config.token, int(time.time())
        )
        return await self._timed(req, timeout_s, config.url, params)

    async def post_plain(
        self,
        url: str,
        body: dict[str, Any],
        label: str,
        timeout_s: float,
        *,
        sdkappid: int,
        attempt: int = 1,
    ) -> bytes:
        """The same, to a URL taken as it is (Easemob-style rules sign inside the body);
        `label` names the request in the latency metric and the trace."""
        req = Request(sdkappid, label, body, attempt=attempt)
        return await self._timed(req, timeout_s, url, [])

    async def _timed(
        self, req: Request, timeout_s: float, url: str, params: list[tuple[str, str]]
    ) -> bytes:
        started = time.perf_counter()
        content = b""
        failure: CallbackFailure | None = None
        try:
            async with asyncio.timeout(timeout_s):
                content = await self._post(url, params, req.body)
        except CallbackFailure as exc:
            failure = exc
        except TimeoutError:
            failure = CallbackFailure("timeout", f"no answer within {timeout_s:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = CallbackFailure("failed", f"{type(exc).__name__}: {exc}")
        except OSError as exc:
            failure = CallbackFailure("failed", f"cannot resolve or reach the URL: {exc}")
        finally:
            elapsed_s = time.perf_counter() - started
            CALLBACK_LATENCY.labels(req.command).observe(elapsed_s)
        if self._tracer is not None:
            self._tracer.trace(
                callback_trace(
                    req.sdkappid,
                    req.command,
                    req.body,
                    code=0 if failure is None else failure.code,
                    description="" if failure is None else failure.detail,
                    latency_ms=int(elapsed_s * 1000),
                    client_ip=req.client_ip,
                    platform=req.platform,
                    target_host=url_host(url),
                    attempt=req.attempt,
                )
            )
        if failure is not None:
            raise failure
        return content

    async def _post(self, base: str, params: list[tuple[str, str]], body: dict[str, Any]) -> bytes:
        url = httpx.URL(canonical_url(base))
        pinned, extensions = await self._pin(url)
        headers = {**_HEADERS, "Host": url.netloc.decode("ascii")}
        async with self._client.stream(
            "POST",
            callback_url(str(pinned), params),
            content=orjson.dumps(body),
            headers=headers,
            extensions=extensions,
        ) as resp:
            if not 200 <= resp.status_code < 300:
                raise CallbackFailure(
                    "failed", f"the app server answered HTTP {resp.status_code}", resp.status_code
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise CallbackFailure(
                        "failed", f"answer larger than {MAX_REPLY_BYTES} bytes", CALLBACK_TOO_LARGE
                    )
                chunks.append(chunk)
            return b"".join(chunks)

    async def _pin(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, Any]]:
        """The URL with its host replaced by a checked address, and the TLS name to send."""
        host = url.raw_host.decode("ascii")
        literal = host_address(host)
        if literal is not None:
            if not ip_allowed(literal, self._allow_private):
                raise CallbackFailure("failed", f"address {host} is not allowed", CALLBACK_ADDRESS)
            # Connect to the address as checked, whatever spelling the URL used.
            return url.copy_with(host=str(literal)), {}
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await self._resolve(host, port)
        extensions: dict[str, Any] = {"sni_hostname": host} if url.scheme == "https" else {}
        return url.copy_with(host=address), extensions

    async def _resolve(self, host: str, port: int) -> str:
        now = time.monotonic()
        hit = self._dns.get((host, port))
        if hit is not None and hit[0] > now:
            return hit[1]
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # IPv4 first: one address is pinned, and "localhost" often lists ::1 before 127.0.0.1
        # while servers commonly listen on IPv4 only.
        ordered = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in ordered))
        if not addresses:
            raise CallbackFailure("failed", f"{host} has no address")
        # Every address must pass: a name with one public and one private address could
        # otherwise be steered to the private one.
        refused = [
            a for a in addresses if not ip_allowed(ipaddress.ip_address(a), self._allow_private)
        ]
        if refused:
            raise CallbackFailure(
                "failed",
                f"{host} resolves to {refused[0]}, a loopback/link-local/private address",
                CALLBACK_ADDRESS,
            )
        self._dns[(host, port)] = (now + _DNS_TTL_S, addresses[0])
        return addresses[0]
