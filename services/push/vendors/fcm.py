"""Firebase Cloud Messaging, HTTP v1 API: one message to one registration token.

What this follows (Firebase and Google documentation):
- "Send a message using FCM HTTP v1 API" and "Authorize send requests"
  (https://firebase.google.com/docs/cloud-messaging/send/v1-api): POST
  https://fcm.googleapis.com/v1/projects/<project_id>/messages:send with
  `Authorization: Bearer <OAuth 2.0 access token>` for the scope
  https://www.googleapis.com/auth/firebase.messaging, derived from a service account.
- "Using OAuth 2.0 for Server to Server Applications"
  (https://developers.google.com/identity/protocols/oauth2/service-account): the access token
  comes from the service account's token_uri (https://oauth2.googleapis.com/token), form
  fields grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and assertion=<JWT>, the JWT
  signed RS256 with the service account's private key, claims iss (client_email), scope, aud
  (the token URI), iat and exp (at most an hour after iat); its header names the key
  (kid = private_key_id), as Google's own auth libraries do. The answer is
  {"access_token", "expires_in", "token_type": "Bearer"}.
- REST reference, projects.messages / Message, AndroidConfig (collapse_key, priority
  NORMAL|HIGH, ttl as a Duration string "<seconds>s"), AndroidNotification
  (notification_count, channel_id), ApnsConfig (headers, payload.aps.badge)
  (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages).
- "FCM error codes" (https://firebase.google.com/docs/cloud-messaging/error-codes) and the
  ErrorCode enum (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode): an error
  is {"error": {"code", "message", "status", "details": [...]}}, the FCM code in the detail
  of @type type.googleapis.com/google.firebase.fcm.v1.FcmError (errorCode). UNREGISTERED
  (404) and SENDER_ID_MISMATCH (403) mean the token is of no use; QUOTA_EXCEEDED (429),
  UNAVAILABLE (503) and INTERNAL (500) are worth a retry, honouring Retry-After;
  THIRD_PARTY_AUTH_ERROR (HTTP 401, about the app's APNs / web push credentials) is a
  permanent failure and no reason for a new access token; any other 401 (UNAUTHENTICATED)
  is: one new token, one more try.
  Observed bodies in bloomberg/pushiko docs/fcm_responses.md.

Reading taken where the documentation is loose: INVALID_ARGUMENT covers both a bad token and
a bad payload (the error-codes page shows both with the same code and status). The token is
dropped only when the error names it: a google.rpc.BadRequest field violation on
`message.token`, or a message about the "registration token"; any other INVALID_ARGUMENT is
a permanent failure of this notification, not of the token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from services.common.push_credentials import FcmCredentials
from services.push.vendors.base import (
    AccessToken,
    Notification,
    Priority,
    TokenCache,
    VendorError,
    fetch_oauth_token,
    json_or_none,
    retry_after,
    unreachable,
)

VENDOR = "fcm"
FCM_BASE_URL = "https://fcm.googleapis.com"
MESSAGING_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600
# An access token is replaced this long before Google says it expires, so that a request
# never leaves with a token that lapses in flight.
REFRESH_MARGIN_S = 60.0
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# APNs refuses an apns-collapse-id longer than this; FCM passes the header on as it is.
APNS_COLLAPSE_ID_MAX_BYTES = 64

# Notification.extras keys this adapter reads.
EXTRA_ANDROID_CHANNEL_ID = "fcm_android_channel_id"
EXTRA_APNS_SOUND = "fcm_apns_sound"

TOKEN_INVALID_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
RETRYABLE_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})


def sign_assertion(credentials: FcmCredentials, audience: str, issued_at: int) -> str:
    """The RS256 JWT that the token endpoint exchanges for an access token."""
    claims = {
        "iss": credentials.client_email,
        "scope": MESSAGING_SCOPE,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME_S,
    }
    try:
        return jwt.encode(
            claims,
            credentials.private_key,
            algorithm="RS256",
            headers={"kid": credentials.private_key_id},
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # The app's key, not this notification, is at fault: no retry would help.
        raise VendorError(VENDOR, "invalid_private_key", f"{type(exc).__name__}: {exc}") from exc


def message_body(notification: Notification, now: float) -> dict[str, Any]:
    """The messages:send request body. `now` (Unix seconds) dates apns-expiration."""
    high = notification.priority is Priority.HIGH

    android_notification: dict[str, Any] = {}
    if notification.badge is not None:
        android_notification["notification_count"] = notification.badge
    if channel_id := notification.extras.get(EXTRA_ANDROID_CHANNEL_ID):
        android_notification["channel_id"] = channel_id
    android: dict[str, Any] = {
        "collapse_key": notification.collapse_id,
        "priority": "HIGH" if high else "NORMAL",
        "ttl": f"{notification.ttl_s}s",
    }
    if android_notification:
        android["notification"] = android_notification

    aps: dict[str, Any] = {}
    if notification.badge is not None:
        aps["badge"] = notification.badge
    if sound := notification.extras.get(EXTRA_APNS_SOUND):
        aps["sound"] = sound
    # APNs reads an expiration of 0 as "deliver now or never", which is what a ttl of 0 means.
    expiration = 0 if notification.ttl_s == 0 else int(now) + notification.ttl_s
    apns_headers = {
        "apns-priority": "10" if high else "5",
        "apns-expiration": str(expiration),
    }
    if len(notification.collapse_id.encode()) <= APNS_COLLAPSE_ID_MAX_BYTES:
        apns_headers["apns-collapse-id"] = notification.collapse_id

    message: dict[str, Any] = {
        "token": notification.token,
        "notification": {"title": notification.title, "body": notification.body},
        "android": android,
        "apns": {"headers": apns_headers, "payload": {"aps": aps}},
    }
    if notification.data:
        message["data"] = dict(notification.data)
    return {"message": message}


def _details(error: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, Mapping)]


def _fcm_error_code(error: Mapping[str, Any]) -> str | None:
    for detail in _details(error):
        code = detail.get("errorCode")
        if detail.get("@type") == FCM_ERROR_TYPE and isinstance(code, str):
            return code
    return None


def _names_the_token(error: Mapping[str, Any]) -> bool:
    """Whether an INVALID_ARGUMENT is about the registration token rather than the payload."""
    texts = [str(error.get("message", ""))]
    for detail in _details(error):
        if detail.get("@type") != BAD_REQUEST_TYPE:
            continue
        violations = detail.get("fieldViolations")
        for violation in violations if isinstance(violations, list) else []:
            if not isinstance(violation, Mapping):
                continue
            if violation.get("field") == "message.token":
                return True
            texts.append(str(violation.get("description", "")))
    return any("registration token" in text.lower() for text in texts)


def _error_of(doc: Any) -> Mapping[str, Any]:
    error = doc.get("error") if isinstance(doc, dict) else None
    return error if isinstance(error, Mapping) else {}


def token_rejected(status: int, doc: Any) -> bool:
    """Whether FCM refused the access token (worth a new one). THIRD_PARTY_AUTH_ERROR is a
    401 too, but about the app's APNs / web push credentials, which a new token won't fix."""
    return status == 401 and _fcm_error_code(_error_of(doc)) != "THIRD_PARTY_AUTH_ERROR"


def send_error(status: int, doc: Any, retry_after_header: str | None) -> VendorError:
    """What a non-200 answer of messages:send means for the push service."""
    error = _error_of(doc)
    status_name = error.get("status")
    code = (
        _fcm_error_code(error)
        or (status_name if isinstance(status_name, str) else None)
        or f"HTTP_{status}"
    )
    message = str(error.get("message") or f"HTTP {status}")
    if code in TOKEN_INVALID_CODES or (code == "INVALID_ARGUMENT" and _names_the_token(error)):
        return VendorError(VENDOR, code, message, token_invalid=True, status=status)
    if code in RETRYABLE_CODES or status == 429 or status >= 500:
        return VendorError(
            VENDOR,
            code,
            message,
            retryable=True,
            retry_after_s=retry_after(retry_after_header),
            status=status,
        )
    return VendorError(VENDOR, code, message, status=status)


class FcmAdapter:
    """One Firebase project's service account; the access token is cached and shared by
    concurrent sends."""

    vendor = VENDOR

    def __init__(
        self,
        credentials: FcmCredentials,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        token_url: str | None = None,
    ) -> None:
        self._credentials = credentials
        base = (base_url or FCM_BASE_URL).rstrip("/")
        self._send_url = f"{base}/v1/projects/{credentials.project_id}/messages:send"
        self._token_url = token_url or credentials.token_uri
        self._client = client if client is not None else httpx.AsyncClient(timeout=10.0)
        self._owns_client = client is None
        self._tokens = TokenCache(self._fetch_access_token)

    async def send(self, notification: Notification) -> None:
        body = message_body(notification, time.time())
        token = await self._tokens.get()
        response = await self._post_message(token, body)
        doc = json_or_none(response)
        if token_rejected(response.status_code, doc):
            # The token was revoked or expired early: one new token, one more try.
            token = await self._tokens.get(rejected=token)
            response = await self._post_message(token, body)
            doc = json_or_none(response)
        if response.status_code == 200:
            return
        raise send_error(response.status_code, doc, response.headers.get("retry-after"))

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post_message(self, token: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(
                self._send_url,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise unreachable(VENDOR, exc) from exc

    async def _fetch_access_token(self) -> AccessToken:
        assertion = sign_assertion(self._credentials, self._token_url, int(time.time()))
        return await fetch_oauth_token(
            VENDOR,
            REFRESH_MARGIN_S,
            self._client,
            self._token_url,
            {"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
        )
