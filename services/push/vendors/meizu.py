"""Meizu Flyme push: one notification-bar message to one pushId.

What this follows (Meizu's "魅族开放平台PUSH系统HTTP接口文档", the README of MEIZUPUSH/PushAPI on
GitHub; Meizu's Node SDK MEIZUPUSH/node-sdk lib/request.js and lib/push.js; Meizu's Java SDK,
whose SystemConstants name the push host server-api-push.meizu.com):

- POST https://server-api-push.meizu.com/garcia/api/server/push/varnished/pushByPushId
  ("varnished" = notification bar; "unvarnished" is pass-through, which Meizu restricts),
  form-encoded: appId, pushIds (comma-separated, one here), messageJson, sign.
- sign: the parameters other than sign, sorted by name, joined as "key=value" with nothing
  between them, the AppSecret appended, and the lower-case hex MD5 of that; the values are
  the raw strings (not URL-encoded), so messageJson is signed exactly as it is sent.
- messageJson: noticeBarInfo {noticeBarType 0, title (1-32 chars), content (1-100 chars)},
  clickTypeInfo {clickType 0 = open the app, parameters = the app's data}, pushTimeInfo
  {offLine 1, validTime in whole hours, 1-72}, advanceInfo {suspend (heads-up: for HIGH),
  clearNoticeBar 1, notificationType {vibrate, lights, sound}, notifyKey (messages with the
  same key show only the last one: at most 8 of [0-9a-zA-Z_-], so a digest of the collapse
  id)}.
- Reply: {"code": "200", "message", "value": {<code>: [pushIds...]}, "msgId"}: a "200" reply
  lists in `value` only the pushIds that failed, by code. 110002 (pushId no longer
  subscribed, or its switch is off) and 110003 (pushId not valid) mean the token is dead;
  501/513/519 (push failed, db error, overloaded) are worth another try; 520 (folded: the
  device got too many in a minute) and 201 (no permission) are not. A code other than
  "200" is about the whole request: 500 (other error), 1001 (system error), 1003 (busy) and
  110010 (app over its rate) are worth another try; 1005 (bad parameters), 1006 (bad
  signature), 110000/110001 (bad appId/appKey), 110009 (app blacklisted) are not.

Meizu has no badge field, no sandbox, and no access token.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from services.common.push_credentials import MeizuCredentials
from services.push.vendors.base import (
    Notification,
    Priority,
    VendorError,
    post_for_json,
)

VENDOR = "meizu"
PRODUCTION_URL = "https://server-api-push.meizu.com"
SEND_PATH = "/garcia/api/server/push/varnished/pushByPushId"

SUCCESS_CODE = "200"
MIN_VALID_HOURS = 1
MAX_VALID_HOURS = 72
NOTIFY_KEY_LEN = 8

TOKEN_INVALID_CODES = frozenset({"110002", "110003"})
RETRYABLE_PUSH_ID_CODES = frozenset({"501", "513", "519"})
RETRYABLE_REQUEST_CODES = frozenset({"500", "1001", "1003", "110010"})


def sign(params: Mapping[str, str], app_secret: str) -> str:
    text = "".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign")
    return hashlib.md5((text + app_secret).encode()).hexdigest()


def notify_key(collapse_id: str) -> str:
    return hashlib.sha256(collapse_id.encode()).hexdigest()[:NOTIFY_KEY_LEN]


def valid_hours(ttl_s: int) -> int:
    return max(MIN_VALID_HOURS, min(math.ceil(ttl_s / 3600), MAX_VALID_HOURS))


def build_message(notification: Notification) -> dict[str, Any]:
    click_type_info: dict[str, Any] = {"clickType": 0}
    if notification.data:
        click_type_info["parameters"] = dict(notification.data)
    return {
        "noticeBarInfo": {
            "noticeBarType": 0,
            "title": notification.title,
            "content": notification.body,
        },
        "clickTypeInfo": click_type_info,
        "pushTimeInfo": {"offLine": 1, "validTime": valid_hours(notification.ttl_s)},
        "advanceInfo": {
            "suspend": 1 if notification.priority is Priority.HIGH else 0,
            "clearNoticeBar": 1,
            "notificationType": {"vibrate": 1, "lights": 1, "sound": 1},
            "notifyKey": notify_key(notification.collapse_id),
        },
    }


def build_form(credentials: MeizuCredentials, notification: Notification) -> dict[str, str]:
    form = {
        "appId": credentials.app_id,
        "pushIds": notification.token,
        "messageJson": json.dumps(build_message(notification), ensure_ascii=False),
    }
    form["sign"] = sign(form, credentials.app_secret)
    return form


def map_reply(reply: Mapping[str, Any], push_id: str, status: int) -> VendorError | None:
    """None when Meizu took the message for this pushId, else the error to raise."""
    code = str(reply.get("code", ""))
    message = str(reply.get("message") or "")
    if code != SUCCESS_CODE:
        return VendorError(
            VENDOR,
            code or "bad_response",
            message,
            retryable=code in RETRYABLE_REQUEST_CODES,
            status=status,
        )
    failed = reply.get("value")
    if not isinstance(failed, Mapping):
        return None
    for failure_code, push_ids in failed.items():
        if isinstance(push_ids, list) and push_id in push_ids:
            failure = str(failure_code)
            return VendorError(
                VENDOR,
                failure,
                message or "pushId refused",
                token_invalid=failure in TOKEN_INVALID_CODES,
                retryable=failure in RETRYABLE_PUSH_ID_CODES,
                status=status,
            )
    return None


class MeizuAdapter:
    vendor = VENDOR

    def __init__(
        self,
        credentials: MeizuCredentials,
        *,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._credentials = credentials
        self._base_url = (base_url or PRODUCTION_URL).rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=10.0)

    async def send(self, notification: Notification) -> None:
        status, reply = await post_for_json(
            VENDOR,
            self._client,
            self._base_url + SEND_PATH,
            data=build_form(self._credentials, notification),
        )
        error = map_reply(reply, notification.token, status)
        if error is not None:
            raise error

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
