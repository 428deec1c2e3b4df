"""The Huawei Push Kit adapter's pure parts: the credentials, the token answer, the message
body and the mapping of Push Kit's result codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.common.push_credentials import HuaweiCredentials
from services.push.vendors.base import Notification, Priority, VendorError, oauth_access_token
from services.push.vendors.huawei import (
    EXTRA_BADGE_CLASS,
    EXTRA_CHANNEL_ID,
    REFRESH_MARGIN_S,
    VENDOR,
    message_body,
    send_error,
    token_rejected,
)


def test_redacted_credentials_hide_the_secret() -> None:
    credentials = HuaweiCredentials(app_id="104567890", client_secret="s3cr3t-0123456789abcdef")
    assert credentials.redacted() == {"app_id": "104567890", "client_secret": "s3cr…"}
    assert "0123456789abcdef" not in repr(credentials)


def test_token_answer_is_cached_until_shortly_before_expiry() -> None:
    token = oauth_access_token(
        VENDOR,
        REFRESH_MARGIN_S,
        200,
        {"access_token": "CV7/a+b==", "expires_in": 3600, "token_type": "Bearer"},
        None,
        10.0,
    )
    assert token.value == "CV7/a+b=="
    assert token.refresh_at == 10.0 + 3600 - REFRESH_MARGIN_S
    assert not token.fresh(token.refresh_at)


def test_token_refusal_is_permanent_with_huaweis_codes() -> None:
    doc = {"error": 1101, "sub_error": 20001, "error_description": "invalid client"}
    with pytest.raises(VendorError) as caught:
        oauth_access_token(VENDOR, REFRESH_MARGIN_S, 400, doc, None, 0.0)
    error = caught.value
    assert (error.vendor, error.code, error.message) == (
        "huawei",
        "oauth:1101/20001",
        "invalid client",
    )
    assert not error.retryable and not error.token_invalid


def test_token_endpoint_outage_is_retryable() -> None:
    with pytest.raises(VendorError) as caught:
        oauth_access_token(VENDOR, REFRESH_MARGIN_S, 503, None, "5", 0.0)
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after_s) == (
        "oauth:HTTP_503",
        True,
        5.0,
    )


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "token": "IQAAAACy0kYqAAB",
        "title": "Alice",
        "body": "hello",
        "collapse_id": "msg-42",
        "badge": 3,
        "data": {"conv": "c2c_alice", "ext": '{"k":1}'},
        "ttl_s": 3600,
        "priority": Priority.HIGH,
    }
    fields.update(overrides)
    return Notification(**fields)


def test_message_body_carries_every_field() -> None:
    body = message_body(
        notification(
            extras={EXTRA_BADGE_CLASS: "com.example.im.MainActivity", EXTRA_CHANNEL_ID: "im"}
        )
    )
    data = body["message"].pop("data")
    assert json.loads(data) == {"conv": "c2c_alice", "ext": '{"k":1}'}
    assert body == {
        "validate_only": False,
        "message": {
            "token": ["IQAAAACy0kYqAAB"],
            "android": {
                "urgency": "HIGH",
                "ttl": "3600s",
                "bi_tag": "msg-42",
                "notification": {
                    "title": "Alice",
                    "body": "hello",
                    "click_action": {"type": 3},
                    "tag": "msg-42",
                    "badge": {"set_num": 3, "class": "com.example.im.MainActivity"},
                    "channel_id": "im",
                },
            },
        },
    }


def test_message_body_without_badge_class_data_or_high_priority() -> None:
    body = message_body(notification(data={}, priority=Priority.NORMAL))
    message = body["message"]
    assert "data" not in message
    assert message["android"]["urgency"] == "NORMAL"
    # Push Kit requires the entry activity with a badge: without it, no badge at all.
    assert "badge" not in message["android"]["notification"]


def test_message_body_keeps_to_push_kits_limits() -> None:
    message = message_body(
        notification(
            badge=250,
            ttl_s=30 * 24 * 3600,
            collapse_id="x" * 65,
            extras={EXTRA_BADGE_CLASS: "com.example.im.MainActivity"},
        )
    )["message"]
    assert message["android"]["ttl"] == "1296000s"
    assert message["android"]["notification"]["badge"]["set_num"] == 99
    assert "bi_tag" not in message["android"]
    assert message["android"]["notification"]["tag"] == "x" * 65


def answer(code: str, msg: str = "") -> dict[str, Any]:
    return {"code": code, "msg": msg, "requestId": "157440955549500001002006"}


def test_success_is_no_error() -> None:
    assert send_error(200, answer("80000000", "Success"), None) is None


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [
        (400, "80300007", "All the tokens are invalid"),
        (200, "80100000", '{"success":0,"failure":1,"illegal_tokens":["IQAAAACy0kYqAAB"]}'),
    ],
)
def test_refused_tokens_are_invalid(status: int, code: str, msg: str) -> None:
    error = send_error(status, answer(code, msg), None)
    assert error is not None
    assert (error.code, error.token_invalid, error.retryable, error.status) == (
        code,
        True,
        False,
        status,
    )
    assert error.message == msg


def test_system_error_is_retryable() -> None:
    error = send_error(500, answer("81000001", "System inner error"), "20")
    assert error is not None
    assert (error.code, error.retryable, error.retry_after_s) == ("81000001", True, 20.0)


def test_flow_control_is_retryable_without_a_body() -> None:
    error = send_error(503, None, "7")
    assert error is not None
    assert (error.code, error.retryable, error.retry_after_s) == ("HTTP_503", True, 7.0)


def test_a_bad_message_is_permanent() -> None:
    error = send_error(400, answer("80300008", "The message body size exceeds the default"), None)
    assert error is not None
    assert (error.code, error.retryable, error.token_invalid) == ("80300008", False, False)


def test_auth_codes_ask_for_a_new_token_and_are_permanent_after() -> None:
    assert token_rejected(401, answer("80200003", "Oauth Token expired"))
    assert token_rejected(401, answer("80200001", "Oauth authentication error"))
    assert token_rejected(401, None)
    assert not token_rejected(400, answer("80300007"))
    error = send_error(401, answer("80200003", "Oauth Token expired"), None)
    assert error is not None
    assert (error.code, error.retryable, error.token_invalid) == ("80200003", False, False)
