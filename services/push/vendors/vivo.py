"""vivo push: one notification to one regId over the vivo push server API.

What this follows ("VIVO消息推送服务端API接口文档" v2.9.2, dev.vivo.com.cn/documentCenter/doc/362,
as mirrored at app.applebyme.cn/cloud/appshangjia/2017.html and ov.liuad.com/2304.html; the Go
wrappers meetleev/go-multipush vivo/auth.go, vivo/push.go, vivo/types.go, and a Go push
service that maps vivo's result codes):

- Auth: POST https://api-push.vivo.com.cn/message/auth, JSON {appId, appKey, timestamp (ms),
  sign = lower-case hex md5(appId + appKey + timestamp + appSecret)}; the reply's authToken
  lasts a day ("业务方做中心缓存，1-2小时更新一次"). It is cached and fetched again after two
  hours, and once more when a send answers that the token is not accepted.
- Send: POST /message/send with the header `authToken` and the JSON {appId (since 2.9.2,
  checked against the token's app: 10094 otherwise), regId, notifyType (1 none, 2 ring,
  3 vibrate, 4 ring and vibrate), title, content, timeToLive (seconds, 60 s to a day),
  skipType 1 (open the app), requestId (unique per message, at most 64 characters: the
  collapse id, so that a retry is the same request), clientCustomMap (the app's data),
  pushMode (1 = test push, for credentials marked sandbox), classification and category
  (vivo's system/operational message classes, when the app configured them)}.
- Reply: {"result": 0, "desc", "taskId"}. 10302 ("regId不合法", with invalidUser) means the
  token is dead; 10070 / 10073 (the day's operational / system message quota), 10071
  (outside the hours operational messages may be sent), 10040 (the wrapper's "need retry")
  are worth another try later. vivo's public result-code table was not in the material
  searched; 10000 is taken, as the brief has it, as its "authentication failed" answer to
  an expired or unknown authToken, which is refreshed once. Everything else is permanent.

vivo has no badge field in this API.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from services.common.push_credentials import VivoCredentials
from services.push.vendors.base import (
    AccessToken,
    Notification,
    Priority,
    TokenCache,
    VendorError,
    post_for_json,
)

VENDOR = "vivo"
PRODUCTION_URL = "https://api-push.vivo.com.cn"
AUTH_PATH = "/message/auth"
SEND_PATH = "/message/send"

NOTIFY_TYPE_RING = 2
NOTIFY_TYPE_RING_AND_VIBRATE = 4
SKIP_TYPE_OPEN_APP = 1
PUSH_MODE_TEST = 1
MIN_TTL_S = 60
MAX_TTL_S = 24 * 3600
MAX_REQUEST_ID_LEN = 64

# A day's validity; vivo asks that it be refreshed every one to two hours.
AUTH_TOKEN_REFRESH_S = 2 * 3600

AUTH_TOKEN_REJECTED_CODES = frozenset({10000})
TOKEN_INVALID_CODES = frozenset({10302})
RETRYABLE_CODES = frozenset({10040, 10070, 10071, 10073})

# Notification.extras keys this adapter reads.
EXTRA_CLASSIFICATION = "classification"
EXTRA_CATEGORY = "category"


def _app_id(credentials: VivoCredentials) -> int | str:
    # vivo's doc types appId as an int; keep a non-numeric one as given.
    return int(credentials.app_id) if credentials.app_id.isdigit() else credentials.app_id


def sign(app_id: str, app_key: str, timestamp_ms: int, app_secret: str) -> str:
    # "字符串trim后拼接": each part trimmed, then joined; hexdigest is already lower case.
    text = f"{app_id.strip()}{app_key.strip()}{timestamp_ms}{app_secret.strip()}"
    return hashlib.md5(text.encode()).hexdigest()


def auth_body(credentials: VivoCredentials, timestamp_ms: int) -> dict[str, Any]:
    return {
        "appId": _app_id(credentials),
        "appKey": credentials.app_key,
        "timestamp": timestamp_ms,
        "sign": sign(credentials.app_id, credentials.app_key, timestamp_ms, credentials.app_secret),
    }


def request_id(collapse_id: str) -> str:
    """The collapse id, or its sha256 where it is longer than vivo's 64 characters."""
    if len(collapse_id) <= MAX_REQUEST_ID_LEN:
        return collapse_id
    return hashlib.sha256(collapse_id.encode()).hexdigest()


def build_body(credentials: VivoCredentials, notification: Notification) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appId": _app_id(credentials),
        "regId": notification.token,
        "notifyType": (
            NOTIFY_TYPE_RING_AND_VIBRATE
            if notification.priority is Priority.HIGH
            else NOTIFY_TYPE_RING
        ),
        "title": notification.title,
        "content": notification.body,
        "timeToLive": max(MIN_TTL_S, min(notification.ttl_s, MAX_TTL_S)),
        "skipType": SKIP_TYPE_OPEN_APP,
        "requestId": request_id(notification.collapse_id),
    }
    if notification.data:
        body["clientCustomMap"] = dict(notification.data)
    if credentials.sandbox:
        body["pushMode"] = PUSH_MODE_TEST
    classification = notification.extras.get(EXTRA_CLASSIFICATION)
    if classification in ("0", "1"):
        body["classification"] = int(classification)
    category = notification.extras.get(EXTRA_CATEGORY)
    if category:
        body["category"] = category
    return body


def map_result(result: int, desc: str, status: int) -> VendorError | None:
    """None for success, else the error to raise."""
    if result == 0:
        return None
    return VendorError(
        VENDOR,
        str(result),
        desc,
        token_invalid=result in TOKEN_INVALID_CODES,
        retryable=result in RETRYABLE_CODES,
        status=status,
    )


def _result(reply: Mapping[str, Any], status: int) -> int:
    result = reply.get("result")
    if not isinstance(result, int):
        raise VendorError(VENDOR, "bad_response", f"no result in {reply!r}", status=status)
    return result


class VivoAdapter:
    vendor = VENDOR

    def __init__(
        self,
        credentials: VivoCredentials,
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
        body = build_body(self._credentials, notification)
        auth_token = await self._auth_tokens.get()
        status, reply = await self._post(SEND_PATH, body, {"authToken": auth_token})
        result = _result(reply, status)
        if result in AUTH_TOKEN_REJECTED_CODES:
            headers = {"authToken": await self._auth_tokens.get(rejected=auth_token)}
            status, reply = await self._post(SEND_PATH, body, headers)
            result = _result(reply, status)
        error = map_result(result, str(reply.get("desc", "")), status)
        if error is not None:
            raise error

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _fetch_auth_token(self) -> AccessToken:
        body = auth_body(self._credentials, int(time.time() * 1000))
        status, reply = await self._post(AUTH_PATH, body, {})
        error = map_result(_result(reply, status), str(reply.get("desc", "")), status)
        if error is not None:
            raise error
        auth_token = reply.get("authToken")
        if not isinstance(auth_token, str) or not auth_token:
            raise VendorError(VENDOR, "bad_response", f"no authToken in {reply!r}", status=status)
        return AccessToken(auth_token, self._clock() + AUTH_TOKEN_REFRESH_S)

    async def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Mapping[str, Any]]:
        return await post_for_json(
            VENDOR, self._client, self._base_url + path, json=body, headers=headers
        )
