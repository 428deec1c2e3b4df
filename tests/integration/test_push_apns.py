"""The APNs adapter against a local HTTP/2 server (h2c, prior knowledge): what goes over the
wire, the provider token, and what APNs' answers become."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.push_credentials import ApnsCertificateCredentials, ApnsTokenCredentials
from services.embedded.launchers import free_port
from services.push.vendors.apns import ApnsAdapter, ProviderTokens, http2_client, tls_context
from services.push.vendors.base import Notification, VendorError
from tests.push_server import (
    LocalServer,
    Request,
    Response,
    TlsFiles,
    json_response,
    local_server,
)

DEVICE = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0"
NOW = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Apns:
    server: LocalServer
    adapter: ApnsAdapter
    public_key: ec.EllipticCurvePublicKey
    clock: FakeClock

    def answer(self, *responses: Response) -> None:
        """Answer the next requests with these, in order, then 200 from then on."""
        queue = list(responses)
        self.server.responder = lambda _: queue.pop(0) if queue else (200, {}, b"")

    def bearer(self, request: Request) -> str:
        scheme, _, token = request.headers["authorization"].partition(" ")
        assert scheme == "bearer"
        return token

    def claims(self, request: Request) -> dict[str, object]:
        token = self.bearer(request)
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY1234567"}
        # The clock is fake, so iat is checked by value, not against the real time.
        decoded: dict[str, object] = jwt.decode(
            token, self.public_key, algorithms=["ES256"], options={"verify_iat": False}
        )
        return decoded


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def apns(clock: FakeClock) -> AsyncIterator[Apns]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = ApnsTokenCredentials("TEAM123456", "KEY1234567", pem, "com.example.chat")
    async with local_server(http2=True) as server, http2_client() as client:
        adapter = ApnsAdapter(
            credentials,
            base_url=server.url,
            client=client,
            tokens=ProviderTokens(clock),
            clock=clock,
        )
        yield Apns(server, adapter, key.public_key(), clock)
        await adapter.close()


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": DEVICE,
        "title": "Alice",
        "body": "Hello 👋",
        "collapse_id": "msg-42",
        "badge": 2,
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


async def send_expecting_error(apns: Apns, n: Notification | None = None) -> VendorError:
    with pytest.raises(VendorError) as caught:
        await apns.adapter.send(n or notification())
    return caught.value


async def test_a_notification_goes_over_http2_with_apples_path_headers_token_and_payload(
    apns: Apns,
) -> None:
    await apns.adapter.send(notification())

    [request] = await apns.server.wait_for_requests(1)
    assert request.http_version == "2"
    assert (request.method, request.path) == ("POST", f"/3/device/{DEVICE}")
    headers = request.headers
    assert headers["apns-topic"] == "com.example.chat"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert headers["apns-expiration"] == str(int(NOW) + 3600)
    assert headers["apns-collapse-id"] == "msg-42"
    assert str(uuid.UUID(headers["apns-id"])) == headers["apns-id"]
    assert apns.claims(request) == {"iss": "TEAM123456", "iat": int(NOW)}
    assert json.loads(request.body) == {
        "aps": {"alert": {"title": "Alice", "body": "Hello 👋"}, "badge": 2, "sound": "default"},
        "conv": "c2c_alice",
    }


async def test_the_provider_token_is_reused_then_refreshed_after_40_minutes(apns: Apns) -> None:
    await apns.adapter.send(notification())
    apns.clock.now += 39 * 60
    await apns.adapter.send(notification())
    apns.clock.now += 60
    await apns.adapter.send(notification())

    first, second, third = await apns.server.wait_for_requests(3)
    assert apns.bearer(first) == apns.bearer(second)
    assert apns.bearer(third) != apns.bearer(second)
    assert apns.claims(third)["iat"] == int(NOW) + 40 * 60


@pytest.mark.parametrize("reason", ["ExpiredProviderToken", "InvalidProviderToken"])
async def test_a_refused_provider_token_is_made_again_and_the_request_sent_once_more(
    apns: Apns, reason: str
) -> None:
    apns.answer(json_response(403, {"reason": reason}))

    await apns.adapter.send(notification())

    refused, retried = await apns.server.wait_for_requests(2)
    assert apns.bearer(retried) != apns.bearer(refused)
    assert apns.claims(retried)["iss"] == "TEAM123456"
    assert retried.headers["apns-id"] == refused.headers["apns-id"]
    assert retried.body == refused.body
    # The new token is the one kept.
    await apns.adapter.send(notification())
    assert apns.bearer((await apns.server.wait_for_requests(3))[2]) == apns.bearer(retried)


async def test_a_provider_token_refused_twice_is_a_permanent_failure(apns: Apns) -> None:
    refusal = json_response(403, {"reason": "InvalidProviderToken"})
    apns.answer(refusal, refusal)

    error = await send_expecting_error(apns)

    assert (error.code, error.status, error.retryable, error.token_invalid) == (
        "InvalidProviderToken",
        403,
        False,
        False,
    )
    assert len(apns.server.requests) == 2


@pytest.mark.parametrize(
    ("status", "doc"),
    [
        (410, {"reason": "Unregistered", "timestamp": 1799999999000}),
        (400, {"reason": "BadDeviceToken"}),
        (400, {"reason": "DeviceTokenNotForTopic"}),
    ],
)
async def test_invalid_device_token_answers(
    apns: Apns, status: int, doc: dict[str, object]
) -> None:
    apns.answer(json_response(status, doc))

    error = await send_expecting_error(apns)

    assert (error.code, error.status, error.token_invalid, error.retryable) == (
        doc["reason"],
        status,
        True,
        False,
    )
    assert len(apns.server.requests) == 1


@pytest.mark.parametrize(
    ("status", "reason", "retry_after", "expected"),
    [
        (429, "TooManyRequests", "12", 12.0),
        (503, "ServiceUnavailable", "5", 5.0),
        (500, "InternalServerError", None, None),
    ],
)
async def test_busy_or_failing_apns_is_retryable_with_its_retry_after(
    apns: Apns, status: int, reason: str, retry_after: str | None, expected: float | None
) -> None:
    headers = {"retry-after": retry_after} if retry_after else {}
    apns.answer(json_response(status, {"reason": reason}, headers))

    error = await send_expecting_error(apns)

    assert (error.code, error.status, error.retryable, error.token_invalid) == (
        reason,
        status,
        True,
        False,
    )
    assert error.retry_after_s == expected


async def test_other_refusals_are_permanent(apns: Apns) -> None:
    apns.answer(json_response(413, {"reason": "PayloadTooLarge"}))

    error = await send_expecting_error(apns)

    assert (error.code, error.retryable, error.token_invalid) == ("PayloadTooLarge", False, False)


async def test_nothing_listening_is_retryable_unreachable() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = ApnsTokenCredentials("TEAM123456", "KEY1234567", pem, "com.example.chat")
    adapter = ApnsAdapter(credentials, base_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(VendorError) as caught:
            await adapter.send(notification())
    finally:
        await adapter.close()
    assert (caught.value.code, caught.value.retryable) == ("unreachable", True)


async def test_an_http1_client_is_refused_by_the_http2_only_server(apns: Apns) -> None:
    """The server really is HTTP/2-only, so the tests above could not pass over HTTP/1.1."""
    async with httpx.AsyncClient() as http1:
        response = await http1.post(apns.server.url + f"/3/device/{DEVICE}", content=b"{}")
    assert response.status_code == 505


# ---- certificate-based authentication over real TLS ---------------------------------------


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        assert issuer_key is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if ip is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@dataclass
class Pki:
    ca_pem: str
    tls: TlsFiles
    client_cert_pem: str
    client_key_pem: str


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and a provider (client) certificate."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("Test APNs CA", ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue("127.0.0.1", server_key, ca.subject, ca_key, ip="127.0.0.1")
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue("Apple Push Services: com.example.chat", client_key, ca.subject, ca_key)

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    (tmp_path / "ca.pem").write_text(pem(ca))
    (tmp_path / "server.pem").write_text(pem(server))
    (tmp_path / "server.key").write_text(_pem(server_key))
    tls = TlsFiles(
        certfile=str(tmp_path / "server.pem"),
        keyfile=str(tmp_path / "server.key"),
        ca_certs=str(tmp_path / "ca.pem"),
    )
    return Pki(pem(ca), tls, pem(client), _pem(client_key))


async def test_certificate_auth_presents_the_provider_certificate_over_tls_and_http2(
    pki: Pki,
) -> None:
    credentials = ApnsCertificateCredentials(
        pki.client_cert_pem, pki.client_key_pem, "com.example.chat"
    )
    # A shared client presents the certificate through tls_context; it trusts the test CA
    # where production trusts the public roots.
    context = tls_context(credentials)
    context.load_verify_locations(cadata=pki.ca_pem)
    async with local_server(http2=True, tls=pki.tls) as server, http2_client(context) as client:
        adapter = ApnsAdapter(credentials, base_url=server.url, client=client)
        await adapter.send(notification())
        [request] = await server.wait_for_requests(1)

    assert server.url.startswith("https://")
    assert request.http_version == "2"
    assert request.path == f"/3/device/{DEVICE}"
    assert request.headers["apns-topic"] == "com.example.chat"
    assert "authorization" not in request.headers


async def test_without_the_provider_certificate_the_handshake_fails_retryably(pki: Pki) -> None:
    """The server above really demands the client certificate."""
    credentials = ApnsCertificateCredentials(
        pki.client_cert_pem, pki.client_key_pem, "com.example.chat"
    )
    no_certificate = ssl.create_default_context(cadata=pki.ca_pem)
    async with (
        local_server(http2=True, tls=pki.tls) as server,
        http2_client(no_certificate) as client,
    ):
        adapter = ApnsAdapter(credentials, base_url=server.url, client=client)
        with pytest.raises(VendorError) as caught:
            await adapter.send(notification())
        assert server.requests == []
    assert (caught.value.code, caught.value.retryable) == ("unreachable", True)
