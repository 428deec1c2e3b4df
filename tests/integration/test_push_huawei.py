"""The Huawei Push Kit adapter against a local stand-in for Huawei (hypercorn on 127.0.0.1):
the OAuth 2.0 client-credentials endpoint, which checks the app id and secret, and the v1
messages:send, which checks the bearer token; then Push Kit's result codes, token caching,
refresh before expiry and the one refresh on an expired-token answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest

from services.common.push_credentials import HuaweiCredentials
from services.embedded.launchers import free_port
from services.push.vendors.base import Notification, Priority, VendorError
from services.push.vendors.huawei import EXTRA_BADGE_CLASS, HuaweiAdapter
from tests.push_server import LocalServer, Request, Response, json_response, local_server

APP_ID = "104567890"
CLIENT_SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
TOKEN_PATH = "/oauth2/v3/token"
SEND_PATH = f"/v1/{APP_ID}/messages:send"


def answer(code: str, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "requestId": "157440955549500001002006"}


@dataclass
class FakeHuawei:
    """Issues access tokens (with the / and + that Huawei's tokens have) to the right client,
    and accepts a message only with a live one."""

    expires_in: int = 3600
    # Answered, one each, to messages:send with a live token; then success.
    send_answers: list[Response] = field(default_factory=list)
    live_tokens: set[str] = field(default_factory=set)
    issued: int = 0

    def __call__(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            form = parse_qs(request.body.decode())
            if form.get("client_id") != [APP_ID] or form.get("client_secret") != [CLIENT_SECRET]:
                refusal = {"error": 1101, "sub_error": 20001, "error_description": "invalid client"}
                return json_response(400, refusal)
            self.issued += 1
            token = f"CgB6e3x9/tok+{self.issued}=="
            self.live_tokens.add(token)
            doc = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
            return json_response(200, doc)
        if request.path == SEND_PATH:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.live_tokens:
                return json_response(401, answer("80200003", "Oauth Token expired"))
            if self.send_answers:
                return self.send_answers.pop(0)
            return json_response(200, answer("80000000", "Success"))
        return json_response(404, {})


@dataclass
class Setup:
    server: LocalServer
    huawei: FakeHuawei
    adapter: HuaweiAdapter

    def paths(self) -> list[str]:
        return [r.path for r in self.server.requests]

    def bearers(self) -> list[str]:
        return [r.headers["authorization"] for r in self.server.requests if r.path == SEND_PATH]


def adapter_for(server: LocalServer, secret: str = CLIENT_SECRET) -> HuaweiAdapter:
    return HuaweiAdapter(
        HuaweiCredentials(app_id=APP_ID, client_secret=secret),
        base_url=server.url,
        token_url=f"{server.url}{TOKEN_PATH}",
    )


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with local_server() as server:
        huawei = FakeHuawei()
        server.responder = huawei
        adapter = adapter_for(server)
        try:
            yield Setup(server, huawei, adapter)
        finally:
            await adapter.close()


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "token": "IQAAAACy0kYqAAB",
        "title": "Alice",
        "body": "hello",
        "collapse_id": "msg-42",
        "badge": 3,
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
        "priority": Priority.HIGH,
        "extras": {EXTRA_BADGE_CLASS: "com.example.im.MainActivity"},
    }
    fields.update(overrides)
    return Notification(**fields)


async def test_send_gets_a_client_credentials_token_then_posts_the_message(setup: Setup) -> None:
    await setup.adapter.send(notification())

    token_request, send_request = await setup.server.wait_for_requests(2)
    assert setup.paths() == [TOKEN_PATH, SEND_PATH]
    assert token_request.method == "POST"
    assert token_request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(token_request.body.decode(), strict_parsing=True) == {
        "grant_type": ["client_credentials"],
        "client_id": [APP_ID],
        "client_secret": [CLIENT_SECRET],
    }

    assert send_request.method == "POST"
    assert send_request.headers["authorization"] == "Bearer CgB6e3x9/tok+1=="
    assert send_request.headers["content-type"] == "application/json; charset=UTF-8"
    body = send_request.json()
    assert json.loads(body["message"].pop("data")) == {"conv": "c2c_alice"}
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
                },
            },
        },
    }


async def test_the_token_is_reused_while_fresh(setup: Setup) -> None:
    await setup.adapter.send(notification())
    await setup.adapter.send(notification(token="IQAAAACy0kYqAAC"))

    await setup.server.wait_for_requests(3)
    assert setup.paths() == [TOKEN_PATH, SEND_PATH, SEND_PATH]
    assert setup.bearers() == ["Bearer CgB6e3x9/tok+1=="] * 2


async def test_concurrent_sends_share_one_token_request(setup: Setup) -> None:
    await asyncio.gather(*(setup.adapter.send(notification()) for _ in range(5)))

    await setup.server.wait_for_requests(6)
    assert setup.paths().count(TOKEN_PATH) == 1
    assert setup.bearers() == ["Bearer CgB6e3x9/tok+1=="] * 5


async def test_a_token_near_its_expiry_is_replaced_before_use(setup: Setup) -> None:
    # Inside the adapter's refresh margin: stale as soon as it arrives.
    setup.huawei.expires_in = 60
    await setup.adapter.send(notification())
    await setup.adapter.send(notification())

    await setup.server.wait_for_requests(4)
    assert setup.paths() == [TOKEN_PATH, SEND_PATH, TOKEN_PATH, SEND_PATH]
    assert setup.bearers() == ["Bearer CgB6e3x9/tok+1==", "Bearer CgB6e3x9/tok+2=="]


async def test_an_expired_token_gets_one_refresh_and_one_retry(setup: Setup) -> None:
    await setup.adapter.send(notification())
    setup.huawei.live_tokens.clear()

    await setup.adapter.send(notification())

    await setup.server.wait_for_requests(5)
    assert setup.paths() == [TOKEN_PATH, SEND_PATH, SEND_PATH, TOKEN_PATH, SEND_PATH]
    assert setup.bearers() == [
        "Bearer CgB6e3x9/tok+1==",
        "Bearer CgB6e3x9/tok+1==",
        "Bearer CgB6e3x9/tok+2==",
    ]


async def test_a_second_auth_refusal_is_permanent(setup: Setup) -> None:
    refusal = json_response(401, answer("80200001", "Oauth authentication error"))
    setup.huawei.send_answers = [refusal, refusal]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert (caught.value.code, caught.value.status) == ("80200001", 401)
    assert not caught.value.retryable and not caught.value.token_invalid
    assert setup.paths() == [TOKEN_PATH, SEND_PATH, TOKEN_PATH, SEND_PATH]


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [
        (400, "80300007", "All the tokens are invalid"),
        (200, "80100000", '{"success":0,"failure":1,"illegal_tokens":["IQAAAACy0kYqAAB"]}'),
    ],
)
async def test_a_refused_device_token_is_invalid(
    setup: Setup, status: int, code: str, msg: str
) -> None:
    setup.huawei.send_answers = [json_response(status, answer(code, msg))]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    error = caught.value
    assert (error.vendor, error.code, error.status) == ("huawei", code, status)
    assert error.token_invalid and not error.retryable


async def test_flow_control_is_retryable_after_the_vendors_delay(setup: Setup) -> None:
    setup.huawei.send_answers = [(503, {"retry-after": "9"}, b"")]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    error = caught.value
    assert (error.code, error.status, error.retry_after_s) == ("HTTP_503", 503, 9.0)
    assert error.retryable and not error.token_invalid


async def test_a_system_error_is_retryable(setup: Setup) -> None:
    setup.huawei.send_answers = [json_response(500, answer("81000001", "System inner error"))]

    with pytest.raises(VendorError) as caught:
        await setup.adapter.send(notification())

    assert caught.value.code == "81000001"
    assert caught.value.retryable
    assert caught.value.retry_after_s is None


async def test_a_wrong_client_secret_fails_before_any_send(setup: Setup) -> None:
    adapter = adapter_for(setup.server, secret="not-the-secret")
    try:
        with pytest.raises(VendorError) as caught:
            await adapter.send(notification())
    finally:
        await adapter.close()

    assert (caught.value.code, caught.value.status) == ("oauth:1101/20001", 400)
    assert not caught.value.retryable
    assert setup.paths() == [TOKEN_PATH]


async def test_an_unreachable_endpoint_is_retryable() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    adapter = HuaweiAdapter(
        HuaweiCredentials(app_id=APP_ID, client_secret=CLIENT_SECRET),
        base_url=dead,
        token_url=f"{dead}{TOKEN_PATH}",
    )
    try:
        with pytest.raises(VendorError) as caught:
            await adapter.send(notification())
    finally:
        await adapter.close()

    assert caught.value.code == "unreachable"
    assert caught.value.retryable
