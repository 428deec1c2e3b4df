"""What every push vendor adapter shares: the notification it is given, the outcome it maps
the vendor's answer to, and the contract it keeps.

An adapter sends one notification to one device token and either returns (the vendor took it)
or raises `VendorError` with the vendor's own code and what the push service should do about
it: retry later (`retryable`, with the vendor's `retry_after_s` if it gave one), or drop the
token (`token_invalid`: unregistered, expired, or not of this app), or give up on this one
notification (neither). The push service, not the adapter, decides about retries, backoff and
removing tokens; adapters do no I/O but their own HTTP calls, and hold no state but their
cached access tokens.

Every adapter takes its endpoint as a setting (`base_url`), so that tests aim it at a local
server; the defaults are the vendors' production endpoints (and APNs' sandbox one when the
credentials say sandbox).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import httpx


class Priority(Enum):
    HIGH = "high"
    NORMAL = "normal"


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification for one device, already rendered (templates are not the adapter's)."""

    token: str
    title: str
    body: str
    # The same id for every try of the same notification, so that a device shows it once
    # (APNs apns-collapse-id, FCM collapse_key, the Chinese vendors' notify id / request id).
    collapse_id: str
    # The badge to show (the unread total), None to leave it.
    badge: int | None = None
    # The app's payload (Tencent's OfflinePushInfo Ext, and the conversation to open).
    data: Mapping[str, str] = field(default_factory=dict)
    # How long the vendor may keep it for an offline device.
    ttl_s: int = 24 * 3600
    priority: Priority = Priority.HIGH
    # Per-vendor extras from Tencent's OfflinePushInfo (e.g. ApnsInfo.Sound, AndroidInfo
    # channel ids), by the adapter's own key names.
    extras: Mapping[str, str] = field(default_factory=dict)


class VendorError(Exception):
    """The vendor refused, or could not be reached."""

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        token_invalid: bool = False,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{vendor} {code}: {message}")
        self.vendor = vendor
        self.code = code
        self.message = message
        self.retryable = retryable
        self.token_invalid = token_invalid
        self.retry_after_s = retry_after_s
        self.status = status


class VendorAdapter(Protocol):
    """One vendor, one app's credentials."""

    vendor: str

    async def send(self, notification: Notification) -> None:
        """Deliver to the vendor, or raise VendorError."""
        ...

    async def close(self) -> None: ...


def unreachable(vendor: str, exc: Exception) -> VendorError:
    """A network failure or timeout: worth another try."""
    return VendorError(vendor, "unreachable", f"{type(exc).__name__}: {exc}", retryable=True)


def retry_after(value: str | None) -> float | None:
    """An HTTP Retry-After in seconds (the date form is not used by these vendors)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An OAuth-style access token a vendor issued, and when to ask for the next one."""

    value: str
    # On the monotonic clock.
    refresh_at: float

    def fresh(self, now: float) -> bool:
        return now < self.refresh_at


class TokenCache:
    """The access token an adapter sends with, shared by its concurrent sends: fetched (one
    fetch at a time) when there is none, when it is due for refresh, or when the vendor refused
    it. A refusal names the token refused, so a newer one another send fetched meanwhile is
    kept."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def get(self, rejected: str | None = None) -> str:
        async with self._lock:
            cached = self._token
            if cached is not None and cached.value != rejected and cached.fresh(self._clock()):
                return cached.value
            self._token = await self._fetch()
            return self._token.value


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def oauth_access_token(
    vendor: str,
    refresh_margin_s: float,
    status: int,
    doc: Any,
    retry_after_header: str | None,
    now: float,
) -> AccessToken:
    """An OAuth 2.0 token endpoint's answer (RFC 6749 §5: access_token, expires_in; error,
    error_description, and Huawei's sub_error), or the VendorError it amounts to. The token
    is renewed `refresh_margin_s` before it expires, so no request leaves with a lapsing one."""
    if status == 200 and isinstance(doc, dict):
        value = doc.get("access_token")
        expires_in = doc.get("expires_in")
        if isinstance(value, str) and value and isinstance(expires_in, int | float):
            return AccessToken(value, now + float(expires_in) - refresh_margin_s)
    fields = doc if isinstance(doc, dict) else {}
    error, sub_error = fields.get("error"), fields.get("sub_error")
    retryable = status == 429 or status >= 500
    code = f"oauth:{error}" if error is not None else f"oauth:HTTP_{status}"
    if sub_error is not None:
        code += f"/{sub_error}"
    raise VendorError(
        vendor,
        code,
        str(fields.get("error_description", "")) or f"token endpoint answered HTTP {status}",
        retryable=retryable,
        retry_after_s=retry_after(retry_after_header) if retryable else None,
        status=status,
    )


async def fetch_oauth_token(
    vendor: str,
    refresh_margin_s: float,
    client: httpx.AsyncClient,
    url: str,
    form: Mapping[str, str],
) -> AccessToken:
    """POST a token request form to `url` and read the answer as `oauth_access_token` does."""
    try:
        response = await client.post(url, data=dict(form))
    except httpx.HTTPError as exc:
        raise unreachable(vendor, exc) from exc
    return oauth_access_token(
        vendor,
        refresh_margin_s,
        response.status_code,
        json_or_none(response),
        response.headers.get("retry-after"),
        time.monotonic(),
    )


async def post_for_json(
    vendor: str, client: httpx.AsyncClient, url: str, **request: Any
) -> tuple[int, Mapping[str, Any]]:
    """POST `url` and return (HTTP status, the JSON object answered), for the vendors that
    answer every request with a JSON object: a network failure, HTTP 429 or 5xx is retryable
    (with Retry-After); an answer that is no JSON object is a permanent failure."""
    try:
        response = await client.post(url, **request)
    except httpx.HTTPError as exc:
        raise unreachable(vendor, exc) from exc
    status = response.status_code
    if status == 429 or status >= 500:
        raise VendorError(
            vendor,
            f"http_{status}",
            response.text[:200],
            retryable=True,
            retry_after_s=retry_after(response.headers.get("Retry-After")),
            status=status,
        )
    reply = json_or_none(response)
    if not isinstance(reply, Mapping):
        raise VendorError(vendor, f"http_{status}", response.text[:200], status=status)
    return status, reply
