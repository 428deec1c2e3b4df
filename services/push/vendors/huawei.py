"""HUAWEI Push Kit (HMS Core), the v1 downlink message API: one notification to one token.

What this follows (Huawei documentation and Huawei's own server SDKs):
- "Sending Downlink Messages" (https://developer.huawei.com/consumer/en/doc/HMSCore-References/
  https-send-api-0000001050986197) and "Downlink Message Sending"
  (https://developer.huawei.com/consumer/en/doc/hmscore-guides/android-server-dev-0000001050040110):
  POST https://push-api.cloud.huawei.com/v1/<client id>/messages:send,
  `Content-Type: application/json; charset=UTF-8`, `Authorization: Bearer <access token>`,
  body {"validate_only": false, "message": {...}}; message.token is an array of tokens;
  message.data is a string (a JSON string for notification messages); android.ttl is a
  duration string "<seconds>s" (at most 15 days); android.urgency HIGH|NORMAL;
  android.bi_tag (at most 64 bytes) comes back in delivery receipts;
  android.notification.click_action is required, type 3 opening the app;
  android.collapse_key is an integer cache mode (-1, 0, 1..100), not an id, so it is left
  unset; android.notification.tag replaces an earlier notification of the same tag, which is
  what Notification.collapse_id asks for; android.notification.badge needs the app's entry
  activity class (badge.class) beside set_num.
- "Client Credentials" (OAuth 2.0 client credentials grant): POST
  https://oauth-login.cloud.huawei.com/oauth2/v3/token, form grant_type=client_credentials,
  client_id, client_secret; answer {"access_token", "expires_in", "token_type"}, or
  {"error", "sub_error", "error_description"}.
- Result codes (HMS-Core/hms-push-serverdemo-python src/push_admin/_app.py for the URLs and
  the token request; Huawei's Java server SDK com.huawei.push.util.ResponceCodeProcesser for
  the code list): 80000000 success; 80100000 some tokens refused; 80300007 all tokens
  invalid (also a token of another app); 80200001 OAuth authentication error and 80200003
  OAuth token expired; 81000001 system internal error; HTTP 503 is flow control.

Readings taken: one token goes per request, so 80100000 ("some tokens are illegal") means
that this token was refused and is treated like 80300007. An auth code (or a bare HTTP 401)
gets one new token and one more try; the same answer again is a permanent failure (the
credentials are wrong, or the token endpoint hands out tokens of another app).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.common.push_credentials import HuaweiCredentials
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

VENDOR = "huawei"
PUSH_BASE_URL = "https://push-api.cloud.huawei.com"
TOKEN_URL = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"
# An access token is replaced this long before Huawei says it expires (Huawei's own server
# SDK keeps the same five minutes), so that a request never leaves with a lapsing token.
REFRESH_MARGIN_S = 300.0
MAX_TTL_S = 15 * 24 * 3600
MAX_BADGE = 99
BI_TAG_MAX_BYTES = 64
# click_action.type 3: open the app's start page.
CLICK_OPEN_APP = 3

SUCCESS = "80000000"
SOME_TOKENS_REFUSED = "80100000"
ALL_TOKENS_INVALID = "80300007"
OAUTH_AUTHENTICATION_ERROR = "80200001"
OAUTH_TOKEN_EXPIRED = "80200003"
SYSTEM_ERROR = "81000001"
TOKEN_INVALID_CODES = frozenset({SOME_TOKENS_REFUSED, ALL_TOKENS_INVALID})
AUTH_CODES = frozenset({OAUTH_AUTHENTICATION_ERROR, OAUTH_TOKEN_EXPIRED})

# Notification.extras keys this adapter reads.
EXTRA_CHANNEL_ID = "huawei_channel_id"
# The app's entry activity (e.g. "com.example.app.MainActivity"); without it, no badge.
EXTRA_BADGE_CLASS = "huawei_badge_class"


def message_body(notification: Notification) -> dict[str, Any]:
    """The messages:send request body."""
    android_notification: dict[str, Any] = {
        "title": notification.title,
        "body": notification.body,
        "click_action": {"type": CLICK_OPEN_APP},
        "tag": notification.collapse_id,
    }
    badge_class = notification.extras.get(EXTRA_BADGE_CLASS)
    if notification.badge is not None and badge_class:
        android_notification["badge"] = {
            "set_num": min(max(notification.badge, 0), MAX_BADGE),
            "class": badge_class,
        }
    if channel_id := notification.extras.get(EXTRA_CHANNEL_ID):
        android_notification["channel_id"] = channel_id
    android: dict[str, Any] = {
        "urgency": "HIGH" if notification.priority is Priority.HIGH else "NORMAL",
        "ttl": f"{min(notification.ttl_s, MAX_TTL_S)}s",
        "notification": android_notification,
    }
    if len(notification.collapse_id.encode()) <= BI_TAG_MAX_BYTES:
        android["bi_tag"] = notification.collapse_id
    message: dict[str, Any] = {"android": android, "token": [notification.token]}
    if notification.data:
        message["data"] = json.dumps(dict(notification.data), ensure_ascii=False)
    return {"validate_only": False, "message": message}


def result_code(doc: Any) -> str | None:
    code = doc.get("code") if isinstance(doc, dict) else None
    return str(code) if code is not None else None


def token_rejected(status: int, doc: Any) -> bool:
    """Whether Push Kit refused the access token (worth a new one)."""
    return status == 401 or result_code(doc) in AUTH_CODES


def send_error(status: int, doc: Any, retry_after_header: str | None) -> VendorError | None:
    """What an answer of messages:send means: None when Push Kit took the message."""
    code = result_code(doc)
    if status == 200 and code == SUCCESS:
        return None
    message = str(doc.get("msg") or "") if isinstance(doc, dict) else ""
    message = message or f"HTTP {status}"
    if code in TOKEN_INVALID_CODES:
        return VendorError(VENDOR, code, message, token_invalid=True, status=status)
    if code == SYSTEM_ERROR or status == 429 or status >= 500:
        return VendorError(
            VENDOR,
            code or f"HTTP_{status}",
            message,
            retryable=True,
            retry_after_s=retry_after(retry_after_header),
            status=status,
        )
    return VendorError(VENDOR, code or f"HTTP_{status}", message, status=status)


class HuaweiAdapter:
    """One app's Push Kit credentials; the access token is cached and shared by concurrent
    sends."""

    vendor = VENDOR

    def __init__(
        self,
        credentials: HuaweiCredentials,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        token_url: str | None = None,
    ) -> None:
        self._credentials = credentials
        base = (base_url or PUSH_BASE_URL).rstrip("/")
        self._send_url = f"{base}/v1/{credentials.app_id}/messages:send"
        self._token_url = token_url or TOKEN_URL
        self._client = client if client is not None else httpx.AsyncClient(timeout=10.0)
        self._owns_client = client is None
        self._tokens = TokenCache(self._fetch_access_token)

    async def send(self, notification: Notification) -> None:
        body = message_body(notification)
        token = await self._tokens.get()
        response = await self._post_message(token, body)
        doc = json_or_none(response)
        if token_rejected(response.status_code, doc):
            token = await self._tokens.get(rejected=token)
            response = await self._post_message(token, body)
            doc = json_or_none(response)
        error = send_error(response.status_code, doc, response.headers.get("retry-after"))
        if error is not None:
            raise error

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post_message(self, token: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(
                self._send_url,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/json; charset=UTF-8",
                    "Authorization": f"Bearer {token}",
                },
            )
        except httpx.HTTPError as exc:
            raise unreachable(VENDOR, exc) from exc

    async def _fetch_access_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.app_id,
            "client_secret": self._credentials.client_secret,
        }
        return await fetch_oauth_token(
            VENDOR, REFRESH_MARGIN_S, self._client, self._token_url, form
        )
