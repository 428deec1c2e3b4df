"""APNs: provider tokens, the request (path, headers, payload), the error table, and the
certificate client, without I/O."""

from __future__ import annotations

import datetime
import hashlib
import json
import ssl
import tempfile
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from services.common import push_credentials
from services.common.push_credentials import ApnsCertificateCredentials, ApnsTokenCredentials
from services.push.vendors import apns
from services.push.vendors.apns import ApnsAdapter, ProviderTokens
from services.push.vendors.base import Notification, Priority, VendorError


def p8_key(curve: ec.EllipticCurve | None = None) -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key


def token_credentials(pem: str, sandbox: bool = False) -> ApnsTokenCredentials:
    return ApnsTokenCredentials("TEAM123456", "KEY1234567", pem, "com.example.chat", sandbox)


def self_signed(common_name: str = "Apple Push Services: com.example.chat") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0",
        "title": "Alice",
        "body": "Hello",
        "collapse_id": "msg-42",
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


# ---- credentials --------------------------------------------------------------------------


def test_token_credentials_redacted_show_ids_but_not_the_key() -> None:
    pem, _ = p8_key()
    shown = token_credentials(pem, sandbox=True).redacted()
    body = push_credentials.pem_body(pem)
    assert shown["team_id"] == "TEAM123456"
    assert shown["key_id"] == "KEY1234567"
    assert shown["bundle_id"] == "com.example.chat"
    assert shown["sandbox"] is True
    assert shown["private_key_pem"] == body[:4] + "…"
    assert body[4:12] not in json.dumps(shown)


def test_certificate_credentials_redacted_show_subject_and_expiry_not_the_key() -> None:
    cert_pem, key_pem = self_signed()
    shown = ApnsCertificateCredentials(cert_pem, key_pem, "com.example.chat").redacted()
    assert shown["certificate_subject"] == "CN=Apple Push Services: com.example.chat"
    assert shown["certificate_expires"].startswith("2030-01-02")
    assert shown["key_pem"] == push_credentials.pem_body(key_pem)[:4] + "…"
    assert push_credentials.pem_body(key_pem)[4:12] not in json.dumps(shown)


def test_endpoints_production_and_sandbox() -> None:
    pem, _ = p8_key()
    assert ApnsAdapter(token_credentials(pem)).base_url == "https://api.push.apple.com"
    sandbox = ApnsAdapter(token_credentials(pem, sandbox=True))
    assert sandbox.base_url == "https://api.sandbox.push.apple.com"
    local = ApnsAdapter(token_credentials(pem), base_url="http://127.0.0.1:9/")
    assert local.base_url == "http://127.0.0.1:9"


# ---- provider tokens ----------------------------------------------------------------------


def test_provider_token_is_es256_with_kid_iss_iat_only() -> None:
    pem, key = p8_key()
    token = apns.make_provider_token(
        "TEAM123456", "KEY1234567", push_credentials.load_signing_key(pem), 17
    )
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY1234567"}
    claims = jwt.decode(
        token, key.public_key(), algorithms=["ES256"], options={"verify_iat": False}
    )
    assert claims == {"iss": "TEAM123456", "iat": 17}


def test_provider_token_reused_for_40_minutes_then_made_again() -> None:
    pem, key = p8_key()
    credentials = token_credentials(pem)
    clock = FakeClock()
    tokens = ProviderTokens(clock)
    first = tokens.current(credentials)
    clock.now += 40 * 60 - 1
    assert tokens.current(credentials) == first
    clock.now += 1
    second = tokens.current(credentials)
    assert second != first
    assert jwt.get_unverified_header(second)["kid"] == "KEY1234567"
    claims = jwt.decode(
        second, key.public_key(), algorithms=["ES256"], options={"verify_iat": False}
    )
    assert claims["iat"] == int(clock.now)


def test_provider_token_shared_by_equal_credentials_and_not_by_other_keys() -> None:
    pem, _ = p8_key()
    other_pem, _ = p8_key()
    tokens = ProviderTokens(FakeClock())
    assert tokens.current(token_credentials(pem)) == tokens.current(token_credentials(pem))
    assert tokens.current(token_credentials(pem)) != tokens.current(token_credentials(other_pem))


def test_refused_token_is_replaced_once_however_many_requests_report_it() -> None:
    pem, _ = p8_key()
    credentials = token_credentials(pem)
    tokens = ProviderTokens(FakeClock())
    refused = tokens.current(credentials)
    tokens.refused(credentials, refused)
    replacement = tokens.current(credentials)
    assert replacement != refused
    # A second request that was in flight with the old token does not replace the new one.
    tokens.refused(credentials, refused)
    assert tokens.current(credentials) == replacement


@pytest.mark.parametrize(
    "pem",
    [
        "not a key",
        p8_key(ec.SECP384R1())[0],
        rsa.generate_private_key(65537, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
    ],
    ids=["garbage", "p384", "rsa"],
)
def test_unusable_signing_key_is_a_permanent_bad_credentials_error(pem: str) -> None:
    with pytest.raises(VendorError) as caught:
        ProviderTokens().current(token_credentials(pem))
    assert caught.value.code == "BadCredentials"
    assert not caught.value.retryable and not caught.value.token_invalid


# ---- the request --------------------------------------------------------------------------


def test_alert_payload_with_badge_default_sound_and_data_as_peers_of_aps() -> None:
    payload = apns.build_payload(notification(badge=3, data={"conv": "c2c_bob", "aps": "x"}))
    assert payload == {
        "aps": {"alert": {"title": "Alice", "body": "Hello"}, "badge": 3, "sound": "default"},
        "conv": "c2c_bob",
    }


def test_payload_extras_sound_subtitle_mutable_content() -> None:
    extras = {"sound": "ping.caf", "subtitle": "in Team", "mutable_content": "1"}
    aps = apns.build_payload(notification(extras=extras))["aps"]
    assert aps == {
        "alert": {"title": "Alice", "body": "Hello", "subtitle": "in Team"},
        "sound": "ping.caf",
        "mutable-content": 1,
    }
    assert "sound" not in apns.build_payload(notification(extras={"sound": ""}))["aps"]


def test_background_notification_has_content_available_only() -> None:
    quiet = notification(title="", body="", badge=5, data={"sync": "1"})
    assert apns.build_payload(quiet) == {"aps": {"content-available": 1}, "sync": "1"}
    headers = apns.build_headers(quiet, "com.example.chat", "id", 1000.0)
    assert headers["apns-push-type"] == "background"
    assert headers["apns-priority"] == "5"


def test_headers_for_an_alert() -> None:
    apns_id = str(uuid.uuid4())
    headers = apns.build_headers(notification(ttl_s=3600), "com.example.chat", apns_id, 1000.7)
    assert headers == {
        "apns-topic": "com.example.chat",
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-expiration": "4600",
        "apns-id": apns_id,
        "apns-collapse-id": "msg-42",
    }


def test_normal_priority_zero_ttl_and_no_collapse_id() -> None:
    n = notification(priority=Priority.NORMAL, ttl_s=0, collapse_id="")
    headers = apns.build_headers(n, "com.example.chat", "id", 1000.0)
    assert headers["apns-priority"] == "5"
    assert headers["apns-expiration"] == "0"
    assert "apns-collapse-id" not in headers


def test_collapse_id_over_64_bytes_becomes_its_sha256() -> None:
    fits = "x" * 64
    assert apns.collapse_id(fits) == fits
    too_long = "消" * 22  # 66 bytes in UTF-8
    assert apns.collapse_id(too_long) == hashlib.sha256(too_long.encode()).hexdigest()
    assert len(apns.collapse_id(too_long).encode()) == 64


def test_device_path_quotes_the_token() -> None:
    assert apns.device_path("abc123") == "/3/device/abc123"
    assert apns.device_path("a/b?c") == "/3/device/a%2Fb%3Fc"


# ---- errors -------------------------------------------------------------------------------


def reply(status: int, doc: object = None, **headers: str) -> VendorError:
    body = b"" if doc is None else json.dumps(doc).encode()
    return apns.error_from_response(status, body, headers, "the-apns-id")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "BadDeviceToken"),
        (400, "DeviceTokenNotForTopic"),
        (410, "Unregistered"),
        (410, "ExpiredToken"),
    ],
)
def test_invalid_device_tokens(status: int, reason: str) -> None:
    error = reply(status, {"reason": reason})
    assert (error.code, error.token_invalid, error.retryable) == (reason, True, False)
    assert error.status == status
    assert "the-apns-id" in error.message


def test_unregistered_carries_its_timestamp() -> None:
    error = reply(410, {"reason": "Unregistered", "timestamp": 1700000000000})
    assert error.token_invalid
    assert "1700000000000" in error.message


@pytest.mark.parametrize(
    ("status", "reason", "retry_after", "expected_after"),
    [
        (429, "TooManyRequests", "7", 7.0),
        (429, "TooManyProviderTokenUpdates", None, None),
        (500, "InternalServerError", None, None),
        (503, "ServiceUnavailable", "30", 30.0),
        (503, "Shutdown", None, None),
        (400, "IdleTimeout", None, None),
    ],
)
def test_retryable_answers(
    status: int, reason: str, retry_after: str | None, expected_after: float | None
) -> None:
    headers = {"retry-after": retry_after} if retry_after else {}
    error = reply(status, {"reason": reason}, **headers)
    assert (error.code, error.retryable, error.token_invalid) == (reason, True, False)
    assert error.retry_after_s == expected_after


def test_5xx_without_a_json_body_is_retryable_under_its_status() -> None:
    error = apns.error_from_response(502, b"<html>bad gateway</html>", {})
    assert (error.code, error.retryable) == ("HTTP502", True)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "BadTopic"),
        (400, "BadCollapseId"),
        (403, "ExpiredProviderToken"),
        (403, "InvalidProviderToken"),
        (403, "BadCertificateEnvironment"),
        (404, "BadPath"),
        (413, "PayloadTooLarge"),
    ],
)
def test_permanent_answers(status: int, reason: str) -> None:
    error = reply(status, {"reason": reason})
    assert (error.code, error.retryable, error.token_invalid) == (reason, False, False)


# ---- certificate-based authentication -----------------------------------------------------


def test_tls_context_loads_the_certificate_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cert_pem, key_pem = self_signed()
    context = apns.tls_context(ApnsCertificateCredentials(cert_pem, key_pem, "com.example.chat"))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert list(tmp_path.iterdir()) == []


def test_tls_context_refuses_a_key_of_another_certificate() -> None:
    cert_pem, _ = self_signed()
    _, other_key = self_signed()
    with pytest.raises(ValueError, match="does not load"):
        apns.tls_context(ApnsCertificateCredentials(cert_pem, other_key, "com.example.chat"))


async def test_certificate_adapter_builds_an_http2_only_client_with_the_certificate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert_pem, key_pem = self_signed()
    credentials = ApnsCertificateCredentials(cert_pem, key_pem, "com.example.chat")
    built: list[ssl.SSLContext] = []

    def recording_tls_context(given: ApnsCertificateCredentials) -> ssl.SSLContext:
        assert given is credentials
        built.append(apns_tls_context(given))
        return built[-1]

    apns_tls_context = apns.tls_context
    monkeypatch.setattr(apns, "tls_context", recording_tls_context)
    adapter = ApnsAdapter(credentials)
    pool = adapter._http()._transport._pool  # type: ignore[attr-defined]
    assert len(built) == 1
    assert pool._ssl_context is built[0]
    assert (pool._http1, pool._http2) == (False, True)
    await adapter.close()


async def test_certificate_adapter_with_a_bad_key_fails_permanently_before_any_request() -> None:
    cert_pem, _ = self_signed()
    adapter = ApnsAdapter(ApnsCertificateCredentials(cert_pem, "junk", "com.example.chat"))
    with pytest.raises(VendorError) as caught:
        await adapter.send(notification())
    assert (caught.value.code, caught.value.retryable) == ("BadCredentials", False)


async def test_close_leaves_a_shared_client_open() -> None:
    pem, _ = p8_key()
    async with httpx.AsyncClient() as shared:
        await ApnsAdapter(token_credentials(pem), client=shared).close()
        assert not shared.is_closed
