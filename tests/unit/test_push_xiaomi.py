"""Xiaomi MiPush: the form sent for a notification and how replies map to VendorError."""

from __future__ import annotations

import json

from services.common.push_credentials import XiaomiCredentials
from services.push.vendors.base import Notification, Priority
from services.push.vendors.xiaomi import (
    MAX_NOTIFY_ID,
    auth_header,
    build_form,
    map_reply,
    notify_id,
)

CREDENTIALS = XiaomiCredentials(app_secret="secret-abcdef", package_name="com.example.im")


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": "regid-1",
        "title": "Alice",
        "body": "hi there",
        "collapse_id": "msg-42",
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


def test_redacted_shows_no_whole_secret() -> None:
    shown = CREDENTIALS.redacted()
    assert shown == {"app_secret": "secr…", "package_name": "com.example.im"}


def test_auth_header_is_key_equals_app_secret() -> None:
    assert auth_header(CREDENTIALS) == {"Authorization": "key=secret-abcdef"}


def test_notify_id_is_stable_and_in_range() -> None:
    assert notify_id("msg-42") == notify_id("msg-42")
    assert notify_id("msg-42") != notify_id("msg-43")
    assert all(0 <= notify_id(f"m{i}") <= MAX_NOTIFY_ID for i in range(200))


def test_form_fields() -> None:
    form = build_form(CREDENTIALS, notification(extras={"channel_id": "im"}))
    assert form == {
        "registration_id": "regid-1",
        "restricted_package_name": "com.example.im",
        "pass_through": "0",
        "title": "Alice",
        "description": "hi there",
        "payload": json.dumps({"conv": "c2c_alice"}),
        "notify_type": "-1",
        "notify_id": str(notify_id("msg-42")),
        "time_to_live": "3600000",
        "extra.notify_foreground": "1",
        "extra.channel_id": "im",
    }


def test_normal_priority_only_sounds_and_no_channel_without_extra() -> None:
    form = build_form(CREDENTIALS, notification(priority=Priority.NORMAL))
    assert form["notify_type"] == "1"
    assert "extra.channel_id" not in form


def test_ok_reply_is_success() -> None:
    reply = {"result": "ok", "code": 0, "data": {"id": "slm1"}}
    assert map_reply(reply, "regid-1", 200) is None


def test_ok_reply_listing_the_regid_as_bad_is_token_invalid() -> None:
    reply = {"result": "ok", "code": 0, "data": {"id": "slm1", "bad_regids": "x,regid-1"}}
    error = map_reply(reply, "regid-1", 200)
    assert error is not None and error.token_invalid and not error.retryable


def test_send_failed_20301_is_token_invalid() -> None:
    reply = {"result": "error", "code": 20301, "reason": "No valid targets!"}
    error = map_reply(reply, "regid-1", 200)
    assert error is not None
    assert (error.code, error.token_invalid, error.retryable) == ("20301", True, False)
    assert error.message == "No valid targets!"


def test_busy_and_quota_codes_are_retryable() -> None:
    for code in (10002, 10027, 10034, 10001):
        error = map_reply({"result": "error", "code": code}, "regid-1", 200)
        assert error is not None and error.retryable and not error.token_invalid


def test_auth_failure_is_permanent() -> None:
    error = map_reply({"result": "error", "code": 21301, "description": "认证失败"}, "r", 200)
    assert error is not None
    assert (error.code, error.retryable, error.token_invalid) == ("21301", False, False)


def test_reply_without_code_is_a_bad_response() -> None:
    error = map_reply({"result": "ok"}, "regid-1", 200)
    assert error is not None and error.code == "bad_response"
