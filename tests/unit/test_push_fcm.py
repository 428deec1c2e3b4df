"""The FCM adapter's pure parts: the service-account key, the OAuth assertion, the token
answer, the message body and the mapping of FCM's error answers."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.push_credentials import GOOGLE_TOKEN_URI, FcmCredentials
from services.push.vendors.base import Notification, Priority, VendorError, oauth_access_token
from services.push.vendors.fcm import (
    EXTRA_ANDROID_CHANNEL_ID,
    EXTRA_APNS_SOUND,
    MESSAGING_SCOPE,
    REFRESH_MARGIN_S,
    VENDOR,
    message_body,
    send_error,
    sign_assertion,
    token_rejected,
)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account(key: rsa.RSAPrivateKey, **overrides: Any) -> dict[str, Any]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "tidings-test",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "push@tidings-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
        **overrides,
    }


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_credentials_from_the_key_file_text(rsa_key: rsa.RSAPrivateKey) -> None:
    doc = service_account(rsa_key)
    credentials = FcmCredentials.from_service_account(json.dumps(doc))
    assert credentials.project_id == "tidings-test"
    assert credentials.client_email == doc["client_email"]
    assert credentials.private_key == doc["private_key"]
    assert credentials.private_key_id == "0123456789abcdef"
    assert credentials.token_uri == "https://oauth2.googleapis.com/token"


def test_credentials_default_the_token_uri(rsa_key: rsa.RSAPrivateKey) -> None:
    doc = service_account(rsa_key)
    del doc["token_uri"]
    assert FcmCredentials.from_service_account(doc).token_uri == GOOGLE_TOKEN_URI


def test_credentials_refuse_an_incomplete_or_foreign_key(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="private_key_id"):
        FcmCredentials.from_service_account(service_account(rsa_key, private_key_id=""))
    with pytest.raises(ValueError, match="authorized_user"):
        FcmCredentials.from_service_account(service_account(rsa_key, type="authorized_user"))


def test_redacted_credentials_hide_the_private_key(rsa_key: rsa.RSAPrivateKey) -> None:
    credentials = FcmCredentials.from_service_account(service_account(rsa_key))
    shown = credentials.redacted()
    assert shown["private_key"] == credentials.private_key[:4] + "…"
    assert "PRIVATE KEY-----\n" not in json.dumps(shown)
    assert shown["client_email"] == credentials.client_email
    assert "BEGIN" not in repr(credentials)


def test_assertion_is_an_rs256_jwt_for_the_messaging_scope(rsa_key: rsa.RSAPrivateKey) -> None:
    credentials = FcmCredentials.from_service_account(service_account(rsa_key))
    assertion = sign_assertion(credentials, "https://oauth2.googleapis.com/token", 1_700_000_000)

    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef"}
    claims = jwt.decode(
        assertion,
        public_pem(rsa_key),
        algorithms=["RS256"],
        audience="https://oauth2.googleapis.com/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": "push@tidings-test.iam.gserviceaccount.com",
        "scope": MESSAGING_SCOPE,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    }


def test_a_broken_private_key_is_a_permanent_vendor_error(rsa_key: rsa.RSAPrivateKey) -> None:
    doc = service_account(rsa_key, private_key="-----BEGIN PRIVATE KEY-----\nnope\n")
    credentials = FcmCredentials.from_service_account(doc)
    with pytest.raises(VendorError) as caught:
        sign_assertion(credentials, GOOGLE_TOKEN_URI, 0)
    assert caught.value.code == "invalid_private_key"
    assert not caught.value.retryable and not caught.value.token_invalid
    assert "nope" not in str(caught.value)


def test_token_answer_is_cached_until_shortly_before_expiry() -> None:
    token = oauth_access_token(
        VENDOR,
        REFRESH_MARGIN_S,
        200,
        {"access_token": "ya29.a", "expires_in": 3599, "token_type": "Bearer"},
        None,
        100.0,
    )
    assert token.value == "ya29.a"
    assert token.refresh_at == 100.0 + 3599 - REFRESH_MARGIN_S
    assert token.fresh(100.0 + 3599 - REFRESH_MARGIN_S - 1)
    assert not token.fresh(100.0 + 3599 - REFRESH_MARGIN_S)


def test_token_refusal_is_permanent() -> None:
    doc = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    with pytest.raises(VendorError) as caught:
        oauth_access_token(VENDOR, REFRESH_MARGIN_S, 400, doc, None, 0.0)
    assert caught.value.code == "oauth:invalid_grant"
    assert caught.value.message == "Invalid JWT Signature."
    assert not caught.value.retryable
    assert not caught.value.token_invalid


def test_token_endpoint_outage_is_retryable() -> None:
    with pytest.raises(VendorError) as caught:
        oauth_access_token(VENDOR, REFRESH_MARGIN_S, 503, None, "12", 0.0)
    assert caught.value.code == "oauth:HTTP_503"
    assert caught.value.retryable
    assert caught.value.retry_after_s == 12.0


def test_a_200_without_a_token_is_an_error() -> None:
    with pytest.raises(VendorError):
        oauth_access_token(VENDOR, REFRESH_MARGIN_S, 200, {"token_type": "Bearer"}, None, 0.0)


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "token": "device-token-1",
        "title": "Alice",
        "body": "hello",
        "collapse_id": "msg-42",
        "badge": 3,
        "data": {"conv": "c2c_alice", "ext": "{}"},
        "ttl_s": 3600,
        "priority": Priority.HIGH,
    }
    fields.update(overrides)
    return Notification(**fields)


def test_message_body_carries_every_field() -> None:
    body = message_body(
        notification(extras={EXTRA_ANDROID_CHANNEL_ID: "im", EXTRA_APNS_SOUND: "ding.caf"}),
        now=1_700_000_000.5,
    )
    assert body == {
        "message": {
            "token": "device-token-1",
            "notification": {"title": "Alice", "body": "hello"},
            "data": {"conv": "c2c_alice", "ext": "{}"},
            "android": {
                "collapse_key": "msg-42",
                "priority": "HIGH",
                "ttl": "3600s",
                "notification": {"notification_count": 3, "channel_id": "im"},
            },
            "apns": {
                "headers": {
                    "apns-priority": "10",
                    "apns-expiration": "1700003600",
                    "apns-collapse-id": "msg-42",
                },
                "payload": {"aps": {"badge": 3, "sound": "ding.caf"}},
            },
        }
    }


def test_message_body_without_badge_data_or_extras() -> None:
    body = message_body(
        notification(badge=None, data={}, priority=Priority.NORMAL, ttl_s=0), now=5.0
    )
    message = body["message"]
    assert "data" not in message
    assert message["android"] == {"collapse_key": "msg-42", "priority": "NORMAL", "ttl": "0s"}
    assert message["apns"]["headers"]["apns-priority"] == "5"
    # A ttl of 0 is "now or never" for APNs too.
    assert message["apns"]["headers"]["apns-expiration"] == "0"
    assert message["apns"]["payload"] == {"aps": {}}


def test_a_collapse_id_too_long_for_apns_is_left_to_android() -> None:
    long_id = "x" * 65
    message = message_body(notification(collapse_id=long_id), now=0.0)["message"]
    assert message["android"]["collapse_key"] == long_id
    assert "apns-collapse-id" not in message["apns"]["headers"]


def fcm_error(
    http: int, status: str, message: str, fcm_code: str | None = None, *extra: dict[str, Any]
) -> dict[str, Any]:
    details: list[dict[str, Any]] = list(extra)
    if fcm_code is not None:
        details.append(
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        )
    return {"error": {"code": http, "message": message, "status": status, "details": details}}


def test_unregistered_token_is_invalid() -> None:
    doc = fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
    error = send_error(404, doc, None)
    assert (error.code, error.token_invalid, error.retryable) == ("UNREGISTERED", True, False)
    assert error.status == 404


def test_sender_id_mismatch_is_a_token_of_another_project() -> None:
    doc = fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
    error = send_error(403, doc, None)
    assert (error.code, error.token_invalid) == ("SENDER_ID_MISMATCH", True)


def test_invalid_argument_naming_the_registration_token_drops_the_token() -> None:
    # Firebase's "FCM error codes" page, example 2.
    doc = fcm_error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        "INVALID_ARGUMENT",
    )
    error = send_error(400, doc, None)
    assert (error.code, error.token_invalid, error.retryable) == ("INVALID_ARGUMENT", True, False)


def test_invalid_argument_on_the_token_field_drops_the_token() -> None:
    violation = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "message.token", "description": "Invalid token"}],
    }
    doc = fcm_error(
        400, "INVALID_ARGUMENT", "Request contains an invalid argument.", None, violation
    )
    assert send_error(400, doc, None).token_invalid


def test_invalid_argument_about_the_payload_keeps_the_token() -> None:
    # Firebase's "FCM error codes" page, example 1.
    violation = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [
            {
                "field": "message.data[0].value",
                "description": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
            }
        ],
    }
    doc = fcm_error(
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
        None,
        violation,
    )
    error = send_error(400, doc, None)
    assert (error.code, error.token_invalid, error.retryable) == ("INVALID_ARGUMENT", False, False)


@pytest.mark.parametrize(
    ("http", "status", "code"),
    [
        (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
        (503, "UNAVAILABLE", "UNAVAILABLE"),
        (500, "INTERNAL", "INTERNAL"),
    ],
)
def test_quota_and_outages_are_retryable(http: int, status: str, code: str) -> None:
    error = send_error(http, fcm_error(http, status, "try later", code), "30")
    assert (error.code, error.retryable, error.token_invalid) == (code, True, False)
    assert error.retry_after_s == 30.0


def test_a_bare_gateway_error_is_retryable() -> None:
    error = send_error(502, None, None)
    assert (error.code, error.retryable, error.retry_after_s) == ("HTTP_502", True, None)


def test_third_party_auth_error_is_permanent_and_no_reason_for_a_new_token() -> None:
    doc = fcm_error(401, "UNAUTHENTICATED", "Auth error from APNS", "THIRD_PARTY_AUTH_ERROR")
    error = send_error(401, doc, None)
    assert (error.code, error.retryable, error.token_invalid) == (
        "THIRD_PARTY_AUTH_ERROR",
        False,
        False,
    )
    assert not token_rejected(401, doc)


def test_an_unauthenticated_answer_asks_for_a_new_token() -> None:
    doc = {"error": {"code": 401, "message": "invalid credentials", "status": "UNAUTHENTICATED"}}
    assert token_rejected(401, doc)
    assert token_rejected(401, None)
    assert not token_rejected(403, doc)
    assert send_error(401, doc, None).code == "UNAUTHENTICATED"
