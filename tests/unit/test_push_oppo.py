"""OPPO PUSH: the auth signature, the unicast message, and how codes map to VendorError."""

from __future__ import annotations

import hashlib
import json

from services.common.push_credentials import OppoCredentials
from services.push.vendors.base import Notification, Priority
from services.push.vendors.oppo import MAX_OFFLINE_TTL_S, auth_form, build_message, map_code, sign

CREDENTIALS = OppoCredentials(app_key="app-key-1", master_secret="master-secret-1")


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": "CN_078ad8b8a137",
        "title": "Alice",
        "body": "hi there",
        "collapse_id": "msg-42",
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


def test_sign_is_sha256_of_app_key_timestamp_master_secret() -> None:
    expected = hashlib.sha256(b"app-key-11700000000000master-secret-1").hexdigest()
    assert sign("app-key-1", 1700000000000, "master-secret-1") == expected


def test_auth_form() -> None:
    assert auth_form(CREDENTIALS, 1700000000000) == {
        "app_key": "app-key-1",
        "timestamp": "1700000000000",
        "sign": sign("app-key-1", 1700000000000, "master-secret-1"),
    }


def test_redacted_shows_no_whole_secret() -> None:
    assert CREDENTIALS.redacted() == {"app_key": "app-key-1", "master_secret": "mast…"}


def test_message() -> None:
    assert build_message(notification(extras={"channel_id": "im"})) == {
        "target_type": 2,
        "target_value": "CN_078ad8b8a137",
        "notification": {
            "app_message_id": "msg-42",
            "title": "Alice",
            "content": "hi there",
            "click_action_type": 0,
            "action_parameters": json.dumps({"conv": "c2c_alice"}),
            "off_line": True,
            "off_line_ttl": 3600,
            "channel_id": "im",
        },
    }


def test_category_brings_notify_level_by_priority() -> None:
    high = build_message(notification(extras={"category": "IM"}))["notification"]
    assert (high["category"], high["notify_level"]) == ("IM", 2)
    normal = build_message(notification(extras={"category": "IM"}, priority=Priority.NORMAL))
    assert normal["notification"]["notify_level"] == 1


def test_offline_ttl_is_capped_at_ten_days_and_data_is_optional() -> None:
    body = build_message(notification(ttl_s=30 * 24 * 3600, data={}))["notification"]
    assert body["off_line_ttl"] == MAX_OFFLINE_TTL_S
    assert "action_parameters" not in body and "category" not in body


def test_success() -> None:
    assert map_code(0, "", 200) is None


def test_invalid_registration_id_is_token_invalid() -> None:
    error = map_code(10000, "Invalid Registration_id", 200)
    assert error is not None
    assert (error.code, error.token_invalid, error.retryable) == ("10000", True, False)


def test_flow_control_and_quota_are_retryable() -> None:
    for code in (-2, -1, 13, 33, 55):
        error = map_code(code, "limited", 200)
        assert error is not None and error.retryable and not error.token_invalid


def test_bad_signature_is_permanent() -> None:
    error = map_code(16, "Invalid Signature", 200)
    assert error is not None and not error.retryable and not error.token_invalid
