"""Apple Push Notification service (APNs): the HTTP/2 provider API, with token-based (JWT)
or certificate-based authentication.

What this follows, from Apple's developer documentation (User Notifications):
- "Sending notification requests to APNs": HTTP/2 over TLS to api.push.apple.com:443
  (production) or api.sandbox.push.apple.com:443 (development); `POST /3/device/<token>`;
  headers `authorization: bearer <provider token>` (token auth only), `apns-push-type`,
  `apns-id` (a canonical lower-case UUID), `apns-expiration` (UNIX seconds, `0`: try once,
  do not store), `apns-priority` (10 at once, 5 by the device's power considerations),
  `apns-topic` (the bundle id), `apns-collapse-id` (at most 64 bytes); the JSON payload at
  most 4096 bytes.
- "Establishing a token-based connection to APNs": a JWT with header {alg: ES256, kid: the
  10-character key id} and claims {iss: the 10-character team id, iat: seconds since the
  epoch}, signed with the .p8 key (ECDSA P-256, SHA-256); "Refresh your token no more than
  once every 20 minutes and no less than once every 60 minutes"; a token more than an hour
  old gets 403 ExpiredProviderToken, a new token more often than every 20 minutes on the
  same connection 429 TooManyProviderTokenUpdates.
- "Establishing a certificate-based connection to APNs": the provider certificate is the
  TLS client certificate; no authorization header.
- "Handling notification responses from APNs": 200 and an empty body on success, else a JSON
  body {"reason": ..., "timestamp": ...} (timestamp in milliseconds, 410 only) with the
  reason strings of its table (BadDeviceToken, DeviceTokenNotForTopic, Unregistered,
  ExpiredToken, ExpiredProviderToken, InvalidProviderToken, TooManyRequests, ...).
- "Generating a remote notification": {"aps": {"alert": {"title", "subtitle", "body"},
  "badge", "sound", "mutable-content": 1, "content-available": 1}} with the app's own keys
  as peers of "aps"; a background notification carries content-available and no alert,
  badge or sound, with apns-push-type background and apns-priority 5.

Readings taken where the documents leave room:
- Apple documents no Retry-After; if a 429 or 5xx answer carries one, it is passed on.
- 403 ExpiredProviderToken or InvalidProviderToken: the provider token is made again (even
  within 20 minutes: Apple has refused the one we have) and the request sent once more;
  a second refusal is permanent, since the key, team id or clock is wrong and another try
  of the same notification will not fix it.
- BadDeviceToken and DeviceTokenNotForTopic mark the device token invalid, as Apple's table
  describes them; note that a wrong `sandbox` flag or bundle id makes APNs give these for
  every token of the app.
- 400 IdleTimeout is about the connection, not the notification: retryable.
- A collapse id longer than 64 bytes is replaced by its SHA-256 in hex (64 characters), so
  that every try of one notification still carries the same id.
- Provider tokens are shared by every adapter with the same team, key id and key (a module
  level cache), because adapters for several apps of one team, or an adapter made again
  after a settings change, can share one HTTP/2 connection, and a new token on a
  connection within 20 minutes is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import certifi
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from services.common.push_credentials import (
    ApnsCertificateCredentials,
    ApnsCredentials,
    ApnsTokenCredentials,
    load_signing_key,
)
from services.push.vendors.base import (
    Notification,
    Priority,
    VendorError,
    retry_after,
    unreachable,
)

VENDOR = "apns"
PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"

# Between Apple's bounds (no more often than every 20 minutes, at least every 60), with room
# for clock skew and for a request in flight when the token turns an hour old.
TOKEN_REFRESH_AFTER_S = 40 * 60
COLLAPSE_ID_MAX_BYTES = 64

# Keys of Notification.extras this adapter reads (Tencent's OfflinePushInfo.ApnsInfo
# Sound, SubTitle and MutableContent).
EXTRA_SOUND = "sound"  # absent: "default" (the system sound); "": silent
EXTRA_SUBTITLE = "subtitle"
EXTRA_MUTABLE_CONTENT = "mutable_content"  # "1": pass through the service extension

TOKEN_INVALID_REASONS = frozenset(
    {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"}
)
PROVIDER_TOKEN_REFUSED_REASONS = frozenset({"ExpiredProviderToken", "InvalidProviderToken"})
RETRYABLE_REASONS = frozenset(
    {
        "TooManyRequests",
        "TooManyProviderTokenUpdates",
        "IdleTimeout",
        "InternalServerError",
        "ServiceUnavailable",
        "Shutdown",
    }
)


def endpoint(credentials: ApnsCredentials) -> str:
    return SANDBOX_URL if credentials.sandbox else PRODUCTION_URL


def bad_credentials(message: str) -> VendorError:
    return VendorError(VENDOR, "BadCredentials", message)


# ---- provider tokens (token-based authentication) -------------------------------------


def make_provider_token(
    team_id: str, key_id: str, key: ec.EllipticCurvePrivateKey, issued_at: int
) -> str:
    # Header exactly as Apple shows it: alg and kid, no typ.
    return jwt.encode(
        {"iss": team_id, "iat": issued_at},
        key,
        algorithm="ES256",
        headers={"kid": key_id, "typ": None},
    )


@dataclass
class _IssuedToken:
    token: str
    issued_at: float


class ProviderTokens:
    """Provider tokens by (team id, key id, key), made again after TOKEN_REFRESH_AFTER_S or
    when APNs refuses the current one."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._issued: dict[tuple[str, str, str], _IssuedToken] = {}
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    @staticmethod
    def _cache_key(credentials: ApnsTokenCredentials) -> tuple[str, str, str]:
        key_digest = hashlib.sha256(credentials.private_key_pem.encode()).hexdigest()
        return credentials.team_id, credentials.key_id, key_digest

    def current(self, credentials: ApnsTokenCredentials) -> str:
        """The token to send now. VendorError (permanent) if the key is unusable."""
        cache_key = self._cache_key(credentials)
        issued = self._issued.get(cache_key)
        now = self._clock()
        if issued is None or now - issued.issued_at >= TOKEN_REFRESH_AFTER_S:
            issued = self._issue(credentials, cache_key, now)
        return issued.token

    def refused(self, credentials: ApnsTokenCredentials, token: str) -> None:
        """APNs refused `token`: make a new one, unless another request already has."""
        cache_key = self._cache_key(credentials)
        issued = self._issued.get(cache_key)
        if issued is not None and issued.token == token:
            self._issue(credentials, cache_key, self._clock())

    def _issue(
        self, credentials: ApnsTokenCredentials, cache_key: tuple[str, str, str], now: float
    ) -> _IssuedToken:
        key = self._keys.get(cache_key[2])
        if key is None:
            try:
                key = load_signing_key(credentials.private_key_pem)
            except (ValueError, TypeError) as exc:
                raise bad_credentials(f"the signing key cannot be used: {exc}") from exc
            self._keys[cache_key[2]] = key
        issued = _IssuedToken(
            make_provider_token(credentials.team_id, credentials.key_id, key, int(now)), now
        )
        self._issued[cache_key] = issued
        return issued


SHARED_PROVIDER_TOKENS = ProviderTokens()


# ---- certificate-based authentication ---------------------------------------------------


def tls_context(credentials: ApnsCertificateCredentials) -> ssl.SSLContext:
    """A client TLS context presenting the provider certificate. ssl loads a certificate
    chain only from files, so the PEMs go through a private temporary directory that is gone
    when this returns. ValueError if they do not load."""
    context = ssl.create_default_context(cafile=certifi.where())
    with tempfile.TemporaryDirectory(prefix="apns-") as directory:
        cert_path = os.path.join(directory, "cert.pem")
        key_path = os.path.join(directory, "key.pem")
        for path, pem in ((cert_path, credentials.cert_pem), (key_path, credentials.key_pem)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(pem)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ValueError(f"the provider certificate or key does not load: {exc}") from exc
    return context


def http2_client(verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """APNs speaks HTTP/2 only: no HTTP/1.1 fallback (over cleartext, as in tests, this is
    HTTP/2 with prior knowledge)."""
    return httpx.AsyncClient(http1=False, http2=True, verify=verify, timeout=10.0)


# ---- the request --------------------------------------------------------------------------


def collapse_id(value: str) -> str:
    if len(value.encode()) <= COLLAPSE_ID_MAX_BYTES:
        return value
    return hashlib.sha256(value.encode()).hexdigest()


def is_background(notification: Notification) -> bool:
    return not notification.title and not notification.body


def build_payload(notification: Notification) -> dict[str, Any]:
    """The JSON body: the app's data as peers of "aps" (a data key "aps" cannot replace it)."""
    aps: dict[str, Any]
    if is_background(notification):
        aps = {"content-available": 1}
    else:
        alert = {"title": notification.title, "body": notification.body}
        if subtitle := notification.extras.get(EXTRA_SUBTITLE):
            alert["subtitle"] = subtitle
        aps = {"alert": alert}
        if notification.badge is not None:
            aps["badge"] = notification.badge
        sound = notification.extras.get(EXTRA_SOUND, "default")
        if sound:
            aps["sound"] = sound
        if notification.extras.get(EXTRA_MUTABLE_CONTENT) == "1":
            aps["mutable-content"] = 1
    return {**notification.data, "aps": aps}


def build_headers(
    notification: Notification, bundle_id: str, apns_id: str, now: float
) -> dict[str, str]:
    """The apns-* headers (authorization is added per try)."""
    background = is_background(notification)
    high = notification.priority is Priority.HIGH and not background
    headers = {
        "apns-topic": bundle_id,
        "apns-push-type": "background" if background else "alert",
        "apns-priority": "10" if high else "5",
        # 0 asks APNs to try once and not store; else the last moment worth delivering.
        "apns-expiration": str(int(now) + notification.ttl_s if notification.ttl_s > 0 else 0),
        "apns-id": apns_id,
    }
    if notification.collapse_id:
        headers["apns-collapse-id"] = collapse_id(notification.collapse_id)
    return headers


def device_path(token: str) -> str:
    return "/3/device/" + quote(token, safe="")


def error_reason(status: int, body: bytes) -> tuple[str, Mapping[str, Any]]:
    """The reason string of an error answer (or HTTP<status> when there is none), and the
    whole JSON document."""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    reason = document.get("reason")
    return (reason if isinstance(reason, str) and reason else f"HTTP{status}"), document


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], apns_id: str = ""
) -> VendorError:
    reason, document = error_reason(status, body)
    message = f"status {status}"
    if apns_id:
        message += f", apns-id {apns_id}"
    if "timestamp" in document:
        message += f", token inactive since {document['timestamp']} (ms)"
    if reason in TOKEN_INVALID_REASONS or status == 410:
        return VendorError(VENDOR, reason, message, token_invalid=True, status=status)
    if reason in RETRYABLE_REASONS or status == 429 or status >= 500:
        return VendorError(
            VENDOR,
            reason,
            message,
            retryable=True,
            retry_after_s=retry_after(headers.get("retry-after")),
            status=status,
        )
    return VendorError(VENDOR, reason, message, status=status)


# ---- the adapter --------------------------------------------------------------------------


class ApnsAdapter:
    """One app's APNs credentials. With certificate credentials and a shared client, that
    client must present the certificate (see tls_context); without a shared client, the
    adapter makes its own HTTP/2 client on first use and closes it in close()."""

    vendor = VENDOR

    def __init__(
        self,
        credentials: ApnsCredentials,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        tokens: ProviderTokens = SHARED_PROVIDER_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.base_url = (base_url or endpoint(credentials)).rstrip("/")
        self._client = client
        self._owns_client = client is None
        self._tokens = tokens
        self._clock = clock

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            verify: ssl.SSLContext | bool = True
            if isinstance(self.credentials, ApnsCertificateCredentials):
                try:
                    verify = tls_context(self.credentials)
                except ValueError as exc:
                    raise bad_credentials(str(exc)) from exc
            self._client = http2_client(verify)
        return self._client

    async def send(self, notification: Notification) -> None:
        client = self._http()
        url = self.base_url + device_path(notification.token)
        apns_id = str(uuid.uuid4())
        headers = build_headers(notification, self.credentials.bundle_id, apns_id, self._clock())
        body = json.dumps(build_payload(notification), ensure_ascii=False, separators=(",", ":"))
        content = body.encode()

        credentials = self.credentials
        for attempt in (1, 2):
            token = ""
            if isinstance(credentials, ApnsTokenCredentials):
                token = self._tokens.current(credentials)
                headers["authorization"] = f"bearer {token}"
            try:
                response = await client.post(url, content=content, headers=headers)
            except httpx.TransportError as exc:
                raise unreachable(VENDOR, exc) from exc
            if 200 <= response.status_code < 300:
                return
            error = error_from_response(
                response.status_code, response.content, response.headers, apns_id
            )
            if (
                attempt == 1
                and isinstance(credentials, ApnsTokenCredentials)
                and error.code in PROVIDER_TOKEN_REFUSED_REASONS
            ):
                self._tokens.refused(credentials, token)
                continue
            raise error

    async def close(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
