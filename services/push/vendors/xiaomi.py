"""Xiaomi MiPush: one notification to one regId over the MiPush server HTTP API.

What this follows (Xiaomi's "Server API Address and Parameters", dev.mi.com
/xiaomihyperos/documentation/detail?pId=1559 (zh) and pId=1696 (en), and its server error-code
table, pId=1560; the Go wrapper meetleev/go-multipush mi/push.go and a PHP wrapper built on
Xiaomi's own PHP SDK, which call the same endpoint):

- POST https://api.xmpush.xiaomi.com/v3/message/regid, form-encoded (the V3 endpoint, which
  takes regIds of any of the app's package names), header `Authorization: key=<AppSecret>`
  ("key" in lower case, as the doc insists).
- Fields: registration_id, restricted_package_name, pass_through=0 (a notification-bar
  message, not pass-through), title, description, payload (the doc asks that it be
  URL-encoded: the form encoding does that), notify_type (DEFAULT_ALL=-1, or an OR of
  sound 1 / vibrate 2 / lights 4), notify_id (an int in 0..2147483647; a later message with
  the same notify_id replaces the earlier one in the shade, so it is derived from the
  collapse id), time_to_live in milliseconds, and extra.* options (extra.notify_foreground,
  extra.channel_id for the Android 8+ channel).
- Reply: JSON {"result": "ok"|"error", "code": 0|..., "reason"/"description", "data":
  {"id", "bad_regids"}}. A regId Xiaomi does not know comes back either as code 20301
  ("发送消息失败"; with one regId that means no valid target, which is how the wrappers read
  it) or in data.bad_regids of an "ok" reply; both mean the token is dead. Codes 10001/10002/
  10003 (system error/busy/remote error), 10027 (API called too often), 10034 (too many
  messages today), 26003/65029 (internal push call / remote service failed), -1 and 1
  (unknown/internal) are worth another try; the rest (bad secret 21301, bad package 22022,
  bad parameters 10008/10016/10017, ...) are permanent for this notification.

Xiaomi has no server-side badge field (MIUI counts the shade itself) and no sandbox for
Android, so neither is sent. Priority maps to notify_type: HIGH rings, vibrates and lights,
NORMAL only plays the sound.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import httpx

from services.common.push_credentials import XiaomiCredentials
from services.push.vendors.base import (
    Notification,
    Priority,
    VendorError,
    post_for_json,
)

VENDOR = "xiaomi"
PRODUCTION_URL = "https://api.xmpush.xiaomi.com"
SEND_PATH = "/v3/message/regid"

# notify_type values from the API reference: DEFAULT_ALL, and DEFAULT_SOUND alone.
NOTIFY_TYPE_ALL = -1
NOTIFY_TYPE_SOUND = 1
MAX_NOTIFY_ID = 2_147_483_647

TOKEN_INVALID_CODES = frozenset({20301, 10029})
RETRYABLE_CODES = frozenset({-1, 1, 10001, 10002, 10003, 10027, 10034, 26003, 65029})

# Notification.extras keys this adapter reads.
EXTRA_CHANNEL_ID = "channel_id"


def notify_id(collapse_id: str) -> int:
    """A stable notify_id in Xiaomi's range, the same for every try of one notification."""
    digest = hashlib.sha256(collapse_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") & MAX_NOTIFY_ID


def auth_header(credentials: XiaomiCredentials) -> dict[str, str]:
    return {"Authorization": f"key={credentials.app_secret}"}


def build_form(credentials: XiaomiCredentials, notification: Notification) -> dict[str, str]:
    notify_type = NOTIFY_TYPE_ALL if notification.priority is Priority.HIGH else NOTIFY_TYPE_SOUND
    form = {
        "registration_id": notification.token,
        "restricted_package_name": credentials.package_name,
        "pass_through": "0",
        "title": notification.title,
        "description": notification.body,
        "payload": json.dumps(dict(notification.data), ensure_ascii=False, sort_keys=True),
        "notify_type": str(notify_type),
        "notify_id": str(notify_id(notification.collapse_id)),
        "time_to_live": str(notification.ttl_s * 1000),
        "extra.notify_foreground": "1",
    }
    channel_id = notification.extras.get(EXTRA_CHANNEL_ID)
    if channel_id:
        form["extra.channel_id"] = channel_id
    return form


def _reason(reply: Mapping[str, Any]) -> str:
    return str(reply.get("reason") or reply.get("description") or reply.get("result") or "")


def map_reply(reply: Mapping[str, Any], token: str, status: int) -> VendorError | None:
    """None when Xiaomi took the message for this regId, else the error to raise."""
    code = reply.get("code")
    if not isinstance(code, int):
        return VendorError(VENDOR, "bad_response", f"no code in {reply!r}", status=status)
    if code == 0:
        data = reply.get("data")
        bad = data.get("bad_regids", "") if isinstance(data, Mapping) else ""
        if token in str(bad).split(","):
            return VendorError(
                VENDOR, "bad_regids", "regId not valid", token_invalid=True, status=status
            )
        return None
    return VendorError(
        VENDOR,
        str(code),
        _reason(reply),
        token_invalid=code in TOKEN_INVALID_CODES,
        retryable=code in RETRYABLE_CODES,
        status=status,
    )


class XiaomiAdapter:
    vendor = VENDOR

    def __init__(
        self,
        credentials: XiaomiCredentials,
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
            headers=auth_header(self._credentials),
        )
        error = map_reply(reply, notification.token, status)
        if error is not None:
            raise error

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
