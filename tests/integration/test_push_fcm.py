"""The FCM adapter against a local stand-in for Google (hypercorn on 127.0.0.1): the OAuth
token endpoint, which checks the RS256 assertion with the service account's public key, and
messages:send, which checks the bearer token; then FCM's error answers, token caching,
refresh before expiry and the one refresh on a 401."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.push_credentials import FcmCredentials
from services.embedded.launchers import free_port
from services.push.vendors.base import Notification, Priority, VendorError
from services.push.vendors.fcm import JWT_BEARER_GRANT, MESSAGING_SCOPE, FcmAdapter
from tests.push_server import LocalServer, Request, Response, json_response, local_server

PROJECT_ID = "tidings-test"
KEY_ID = "key-0123456789"
CLIENT_EMAIL = "push@tidings-test.iam.gserviceaccount.com"
SEND_PATH = f"/v1/projects/{PROJECT_ID}/messages:send"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fcm_error(http: int, status: str, message: str, fcm_code: str) -> dict[str, Any]:
    detail = {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
    return {"error": {"code": http, "message": message, "status": status, "details": [detail]}}


UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials.",
        "status": "UNAUTHENTICATED",
    }
}


@dataclass
class FakeGoogle:
    """Issues access tokens tok-1, tok-2, ... and accepts a message only with a live one."""

    expires_in: int = 3599
    # Answered by the token endpoint instead of a token, when set.
    token_refusal: Response | None = None
    # Answered, one each, to messages:send with a live token; then 200.
    send_answers: list[Response] = field(default_factory=list)
    live_tokens: set[str] = field(default_factory=set)
    issued: int = 0

    def __call__(self, request: Request) -> Response:
        if request.path == "/token":
            if self.token_refusal is not None:
                return self.token_refusal
            self.issued += 1
            token = f"tok-{self.issued}"
            self.live_tokens.add(token)
            doc = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
            return json_response(200, doc)
        if request.path == SEND_PATH:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.live_tokens:
                return json_response(401, UNAUTHENTICATED)
            if self.send_answers:
                return self.send_answers.pop(0)
            return json_response(200, {"name": f"projects/{PROJECT_ID}/messages/0:1"})
        return json_response(404, {"error": {"code": 404, "status": "NOT_FOUND"}})


@dataclass
class Setup:
    server: LocalServer
    google: FakeGoogle
    adapter: FcmAdapter
    key: rsa.RSAPrivateKey

    @property
    def token_url(self) -> str:
        return f"{self.server.url}/token"

    def paths(self) -> list[str]:
        return [r.path for r in self.server.requests]

    def bearers(self) -> list[str]:
        return [r.headers["authorization"] for r in self.server.requests if r.path == SEND_PATH]


def credentials(key: rsa.RSAPrivateKey, token_uri: str) -> FcmCredentials:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return FcmCredentials.from_service_account(
        {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": KEY_ID,
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "token_uri": token_uri,
        }
    )


@pytest.fixture
async def setup(rsa_key: rsa.RSAPrivateKey) -> AsyncIterator[Setup]:
    async with local_server() as server:
        google = FakeGoogle()
        server.responder = google
        # The token endpoint comes from the service account's token_uri, as in a real key.
        adapter = FcmAdapter(credentials(rsa_key, f"{server.url}/token"), base_url=server.url)
        try:
            yield Setup(server, google, adapter, rsa_key)
        finally:
            await adapter.close()


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "token": "device-token-1",
        "title": "Alice",
        "body": "hello",
        "collapse_id": "msg-42",
        "badge": 3,
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
        "priority": Priority.HIGH,
    }
    fields.update(overrides)
    return Notification(**fields)


def verified_assertion_claims(request: Request, key: rsa.RSAPrivateKey, audience: str) -> Any:
    """What Google's token endpoint checks: the form, and the JWT against the public key."""
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(request.body.decode(), strict_parsing=True)
    assert form["grant_type"] == [JWT_BEARER_GRANT]
    (assertion,) = form["assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    return jwt.decode(
        assertion,
        key.public_key(),
        algorithms=["RS256"],
        audience=audience,
        issuer=CLIENT_EMAIL,
        options={"require": ["iss", "aud", "iat", "exp", "scope"]},
    )


async def test_send_gets_a_token_with_a_signed_assertion_then_posts_the_message(
    setup: Setup,
) -> None:
    await setup.adapter.send(notification())

    token_request, send_request = await setup.server.wait_for_requests(2)
    assert setup.paths() == ["/token", SEND_PATH]
    claims = verified_assertion_claims(token_request, setup.key, setup.token_url)
    assert claims["scope"] == MESSAGING_SCOPE
    assert 0 < claims["exp"] - claims["iat"] <= 3600

    assert send_request.method == "POST"
    assert send_request.headers["authorization"] == "Bearer tok-1"
    assert send_request.headers["content-type"] == "application/json"
    message = send_request.json()["message"]
    assert message["token"] == "device-token-1"
    assert message["notification"] == {"title": "Alice", "body": "hello"}
    assert message["data"] == {"conv": "c2c_alice"}
    assert message["android"] == {
        "collapse_key": "msg-42",
        "priority": "HIGH",
        "ttl": "3600s",
        "notification": {"notification_count": 3},
    }
    assert message["apns"]["payload"] == {"aps": {"badge": 3}}
    assert message["apns"]["headers"]["apns-collapse-id"] == "msg-42"
    assert message["apns"]["headers"]["apns-priority"] == "10"


async def test_the_token_url_setting_overrides_the_key_file(rsa_key: rsa.RSAPrivateKey) -> None:
    async with local_server() as server:
        server.responder = FakeGoogle()
        adapter = FcmAdapter(
            credentials(rsa_key, "https://oauth2.googleapis.com/token"),
            base_url=server.url,
            token_url=f"{server.url}/token",
        )
        try:
            await adapter.send(notification())
        finally:
            await adapter.close()
        token_request, _ = await server.wait_for_requests(2)
        verified_assertion_claims(token_request, rsa_key, f"{server.url}/token")


async def test_the_token_is_reused_while_fresh(setup: Setup) -> None:
    await setup.adapter.send(notification())
    await setup.adapter.send(notification(token="device-token-2"))

    await setup.server.wait_for_requests(3)
    assert setup.paths() == ["/token", SEND_PATH, SEND_PATH]
    assert setup.bearers() == ["Bearer tok-1", "Bearer tok-1"]


async def test_concurrent_sends_share_one_token_request(setup: Setup) -> None:
    await asyncio.gather(*(setup.adapter.send(notification()) for _ in range(5)))

    await setup.server.wait_for_requests(6)
    assert setup.paths().count("/token") == 1
    assert setup.bearers() == ["Bearer tok-1"] * 5


async def test_a_token_near_its_expiry_is_replaced_before_use(setup: Setup) -> None:
    # Inside the adapter's refresh margin: stale as soon as it arrives.
    setup.google.expires_in = 30
    await setup.adapter.send(notification())
    await setup.adapter.send(notification())

    await setup.server.wait_for_requests(4)
    assert setup.paths() == ["/token", SEND_PATH, "/token", SEND_PATH]
    assert setup.bearers() == ["Bearer tok-1", "Bearer tok-2"]


async def test_a_revoked_token_gets_one_refresh_and_one_retry(setup: Setup) -> None:
    await setup.adapter.send(notification())
    setup.google.live_tokens.clear()

    await setup.adapter.send(notification())

    await setup.server.wait_for_requests(5)
    assert setup.paths() == ["/token", SEND_PATH, SEND_PATH, "/token", SEND_PATH]
    assert setup.bearers() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_a_second_401_is_a_permanent_failure(setup: Setup) -> None:
    setup.google.send_answers = [json_response(401, UNAUTHENTICATED)] * 2

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert caught.value.code == "UNAUTHENTICATED"
    assert caught.value.status == 401
    assert not caught.value.retryable and not caught.value.token_invalid
    assert setup.paths() == ["/token", SEND_PATH, "/token", SEND_PATH]


async def test_an_unregistered_token_is_invalid(setup: Setup) -> None:
    setup.google.send_answers = [
        json_response(
            404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        )
    ]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    error = caught.value
    assert (error.vendor, error.code, error.status) == ("fcm", "UNREGISTERED", 404)
    assert error.token_invalid and not error.retryable


async def test_an_invalid_registration_token_is_invalid(setup: Setup) -> None:
    message = "The registration token is not a valid FCM registration token"
    setup.google.send_answers = [
        json_response(400, fcm_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT"))
    ]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert caught.value.code == "INVALID_ARGUMENT"
    assert caught.value.token_invalid


@pytest.mark.parametrize(
    ("http", "status", "code"),
    [(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), (503, "UNAVAILABLE", "UNAVAILABLE")],
)
async def test_quota_and_outage_are_retryable_after_the_vendors_delay(
    setup: Setup, http: int, status: str, code: str
) -> None:
    setup.google.send_answers = [
        json_response(http, fcm_error(http, status, "try later", code), {"retry-after": "17"})
    ]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    error = caught.value
    assert (error.code, error.status, error.retry_after_s) == (code, http, 17.0)
    assert error.retryable and not error.token_invalid


async def test_a_bad_apns_key_is_permanent_and_keeps_the_access_token(setup: Setup) -> None:
    setup.google.send_answers = [
        json_response(
            401, fcm_error(401, "UNAUTHENTICATED", "Auth error from APNS", "THIRD_PARTY_AUTH_ERROR")
        )
    ]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert caught.value.code == "THIRD_PARTY_AUTH_ERROR"
    assert not caught.value.retryable and not caught.value.token_invalid
    assert setup.paths() == ["/token", SEND_PATH]


async def test_a_refused_assertion_fails_before_any_send(setup: Setup) -> None:
    setup.google.token_refusal = json_response(
        400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    )

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert (caught.value.code, caught.value.status) == ("oauth:invalid_grant", 400)
    assert not caught.value.retryable
    assert setup.paths() == ["/token"]


async def test_an_unreachable_endpoint_is_retryable(setup: Setup) -> None:
    adapter = FcmAdapter(
        credentials(setup.key, setup.token_url), base_url=f"http://127.0.0.1:{free_port()}"
    )
    try:
        with pytest.raises(VendorError) as caught:
            await adapter.send(notification())
    finally:
        await adapter.close()

    assert caught.value.code == "unreachable"
    assert caught.value.retryable
    # The token came from the live server; the message went to a port nobody listens on.
    assert setup.paths() == ["/token"]
