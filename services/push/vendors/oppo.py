"""OPPO PUSH (OPUSH): one notification-bar message to one registration id.

What this follows (OPPO's "调用地址，公共参数和返回码", "鉴权" and "单点推送" pages of the OPPO
PUSH server API, open.oppomobile.com/new/developmentDoc/info?id=11233/11234/11238, and
"消息体内容定义" id=11236, as mirrored in public repositories; the Go wrapper
meetleev/go-multipush oppo/push.go and oppo/types.go):

- Auth: POST https://api.push.oppomobile.com/server/v1/auth, form app_key, timestamp (ms),
  sign = hex(sha256(app_key + timestamp + master_secret)); the reply's data.auth_token is
  valid for 24 hours. It is cached and fetched again an hour before that, and once more when
  a send answers code 11 (Invalid AuthToken) or 29 (Missing Auth Token).
- Send: POST /server/v1/message/notification/unicast, form-encoded, with `message` = the
  JSON {"target_type": 2 (registration_id), "target_value": <id>, "notification": {...}}.
  The doc lists auth_token as a request parameter carried in the body; the wrappers also
  put it in an `auth_token` header. Both are sent, so that either reading of the doc works.
- notification: title, content, click_action_type 0 (open the app), action_parameters (the
  app's data as a JSON string, handed to the app on the click), app_message_id (OPPO
  pushes a unicast with the same app_message_id to the same target once: the collapse id),
  off_line/off_line_ttl (seconds, at most 10 days), channel_id (the Android 8+ channel),
  category and notify_level (OPPO's message classes; notify_level is only valid with a
  category, so both are sent only when the app configured a category). The field names are
  the snake_case ones of the 消息体内容定义 table; the camelCase names in the unicast page's
  example are a serialisation of the same object, not another field set.
- Reply: {"code": 0, "message", "data": {"messageId"}}. Codes -2 (flow control), -1
  (service unavailable), 13 (app call limit), 33 (daily message quota), 55 (call frequency)
  are worth another try; 10000 (Invalid Registration_id) means the token is dead; the rest
  (bad app key 14, bad signature 16, bad arguments 40/41, category 67, ...) are permanent.

OPPO has no badge field for third-party apps and no sandbox (its other host,
api-intl.push.oppomobile.com, serves devices outside China, a separate base_url).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from services.common.push_credentials import OppoCredentials
from services.push.vendors.base import (
    AccessToken,
    Notification,
    Priority,
    TokenCache,
    VendorError,
    post_for_json,
)

VENDOR = "oppo"
PRODUCTION_URL = "https://api.push.oppomobile.com"
AUTH_PATH = "/server/v1/auth"
SEND_PATH = "/server/v1/message/notification/unicast"

TARGET_TYPE_REGISTRATION_ID = 2
CLICK_ACTION_OPEN_APP = 0
MAX_OFFLINE_TTL_S = 10 * 24 * 3600
# notify_level: 1 shade only, 2 shade and lock screen.
NOTIFY_LEVEL_NORMAL = 1
NOTIFY_LEVEL_HIGH = 2

AUTH_TOKEN_LIFETIME_S = 24 * 3600
AUTH_TOKEN_REFRESH_MARGIN_S = 3600

AUTH_TOKEN_REJECTED_CODES = frozenset({11, 29})
TOKEN_INVALID_CODES = frozenset({10000})
RETRYABLE_CODES = frozenset({-2, -1, 13, 33, 55})

# Notification.extras keys this adapter reads.
EXTRA_CHANNEL_ID = "channel_id"
EXTRA_CATEGORY = "category"


def sign(app_key: str, timestamp_ms: int, master_secret: str) -> str:
    return hashlib.sha256(f"{app_key}{timestamp_ms}{master_secret}".encode()).hexdigest()


def auth_form(credentials: OppoCredentials, timestamp_ms: int) -> dict[str, str]:
    return {
        "app_key": credentials.app_key,
        "timestamp": str(timestamp_ms),
        "sign": sign(credentials.app_key, timestamp_ms, credentials.master_secret),
    }


def build_message(notification: Notification) -> dict[str, Any]:
    body: dict[str, Any] = {
        "app_message_id": notification.collapse_id,
        "title": notification.title,
        "content": notification.body,
        "click_action_type": CLICK_ACTION_OPEN_APP,
        "off_line": True,
        "off_line_ttl": min(notification.ttl_s, MAX_OFFLINE_TTL_S),
    }
    if notification.data:
        body["action_parameters"] = json.dumps(
            dict(notification.data), ensure_ascii=False, sort_keys=True
        )
    channel_id = notification.extras.get(EXTRA_CHANNEL_ID)
    if channel_id:
        body["channel_id"] = channel_id
    category = notification.extras.get(EXTRA_CATEGORY)
    if category:
        body["category"] = category
        body["notify_level"] = (
            NOTIFY_LEVEL_HIGH if notification.priority is Priority.HIGH else NOTIFY_LEVEL_NORMAL
        )
    return {
        "target_type": TARGET_TYPE_REGISTRATION_ID,
        "target_value": notification.token,
        "notification": body,
    }


def map_code(code: int, message: str, status: int) -> VendorError | None:
    """None for success, else the error to raise."""
    if code == 0:
        return None
    return VendorError(
        VENDOR,
        str(code),
        message,
        token_invalid=code in TOKEN_INVALID_CODES,
        retryable=code in RETRYABLE_CODES,
        status=status,
    )


def _code(reply: Mapping[str, Any], status: int) -> int:
    code = reply.get("code")
    if not isinstance(code, int):
        raise VendorError(VENDOR, "bad_response", f"no code in {reply!r}", status=status)
    return code


class OppoAdapter:
    vendor = VENDOR

    def __init__(
        self,
        credentials: OppoCredentials,
        *,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._base_url = (base_url or PRODUCTION_URL).rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._clock = clock
        self._auth_tokens = TokenCache(self._fetch_auth_token, clock)

    async def send(self, notification: Notification) -> None:
        message = json.dumps(build_message(notification), ensure_ascii=False)
        auth_token = await self._auth_tokens.get()
        status, reply = await self._send_with(auth_token, message)
        code = _code(reply, status)
        if code in AUTH_TOKEN_REJECTED_CODES:
            status, reply = await self._send_with(
                await self._auth_tokens.get(rejected=auth_token), message
            )
            code = _code(reply, status)
        error = map_code(code, str(reply.get("message", "")), status)
        if error is not None:
            raise error

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _send_with(self, auth_token: str, message: str) -> tuple[int, Mapping[str, Any]]:
        return await self._post(
            SEND_PATH,
            data={"auth_token": auth_token, "message": message},
            headers={"auth_token": auth_token},
        )

    async def _fetch_auth_token(self) -> AccessToken:
        form = auth_form(self._credentials, int(time.time() * 1000))
        status, reply = await self._post(AUTH_PATH, data=form, headers={})
        error = map_code(_code(reply, status), str(reply.get("message", "")), status)
        if error is not None:
            raise error
        data = reply.get("data")
        auth_token = data.get("auth_token") if isinstance(data, Mapping) else None
        if not isinstance(auth_token, str) or not auth_token:
            raise VendorError(VENDOR, "bad_response", f"no auth_token in {reply!r}", status=status)
        return AccessToken(
            auth_token, self._clock() + AUTH_TOKEN_LIFETIME_S - AUTH_TOKEN_REFRESH_MARGIN_S
        )

    async def _post(
        self, path: str, *, data: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Mapping[str, Any]]:
        return await post_for_json(
            VENDOR, self._client, self._base_url + path, data=data, headers=headers
        )
