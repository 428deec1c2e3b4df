"""vivo push: the auth signature, the send body, and how result codes map to VendorError."""

from __future__ import annotations

import hashlib

from services.common.push_credentials import VivoCredentials
from services.push.vendors.base import Notification, Priority
from services.push.vendors.vivo import (
    MAX_TTL_S,
    MIN_TTL_S,
    auth_body,
    build_body,
    map_result,
    request_id,
    sign,
)

CREDENTIALS = VivoCredentials(app_id="10004", app_key="app-key-1", app_secret="app-secret-1")


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": "12345678901234567890123",
        "title": "Alice",
        "body": "hi there",
        "collapse_id": "msg-42",
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


def test_sign_is_lowercase_md5_of_id_key_timestamp_secret() -> None:
    expected = hashlib.md5(b"10004app-key-11700000000000app-secret-1").hexdigest()
    assert sign("10004", "app-key-1", 1700000000000, "app-secret-1") == expected
    assert expected == expected.lower()


def test_sign_trims_each_part() -> None:
    assert sign(" 10004", "app-key-1 ", 1, "s ") == sign("10004", "app-key-1", 1, "s")


def test_auth_body() -> None:
    assert auth_body(CREDENTIALS, 1700000000000) == {
        "appId": 10004,
        "appKey": "app-key-1",
        "timestamp": 1700000000000,
        "sign": sign("10004", "app-key-1", 1700000000000, "app-secret-1"),
    }


def test_redacted_shows_no_whole_secret() -> None:
    assert CREDENTIALS.redacted() == {
        "app_id": "10004",
        "app_key": "app-…",
        "app_secret": "app-…",
        "sandbox": False,
    }


def test_body() -> None:
    assert build_body(CREDENTIALS, notification()) == {
        "appId": 10004,
        "regId": "12345678901234567890123",
        "notifyType": 4,
        "title": "Alice",
        "content": "hi there",
        "timeToLive": 3600,
        "skipType": 1,
        "requestId": "msg-42",
        "clientCustomMap": {"conv": "c2c_alice"},
    }


def test_sandbox_priority_classes_and_ttl_bounds() -> None:
    sandbox = VivoCredentials(app_id="10004", app_key="k", app_secret="s", sandbox=True)
    body = build_body(
        sandbox,
        notification(
            priority=Priority.NORMAL,
            extras={"classification": "1", "category": "IM"},
            ttl_s=10,
            data={},
        ),
    )
    assert body["pushMode"] == 1
    assert body["notifyType"] == 2
    assert (body["classification"], body["category"]) == (1, "IM")
    assert body["timeToLive"] == MIN_TTL_S
    assert "clientCustomMap" not in body
    assert build_body(CREDENTIALS, notification(ttl_s=9 * 24 * 3600))["timeToLive"] == MAX_TTL_S


def test_request_id_fits_vivos_64_characters() -> None:
    assert request_id("msg-42") == "msg-42"
    long_id = "x" * 100
    assert len(request_id(long_id)) == 64
    assert request_id(long_id) == request_id(long_id) != request_id("y" * 100)


def test_success() -> None:
    assert map_result(0, "请求成功", 200) is None


def test_invalid_reg_id_is_token_invalid() -> None:
    error = map_result(10302, "regId不合法", 200)
    assert error is not None
    assert (error.code, error.token_invalid, error.retryable) == ("10302", True, False)


def test_quota_and_time_window_are_retryable() -> None:
    for code in (10070, 10071, 10073, 10040):
        error = map_result(code, "limited", 200)
        assert error is not None and error.retryable and not error.token_invalid


def test_app_id_mismatch_is_permanent() -> None:
    error = map_result(10094, "appId不一致", 200)
    assert error is not None and not error.retryable and not error.token_invalid
