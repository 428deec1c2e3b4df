"""The OPPO adapter against a local HTTP server standing in for api.push.oppomobile.com."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest

from services.common.push_credentials import OppoCredentials
from services.push.vendors.base import Notification, VendorError
from services.push.vendors.oppo import OppoAdapter
from tests.push_server import Request, Response, json_response, local_server

CREDENTIALS = OppoCredentials(app_key="oppo-app-key", master_secret="oppo-master-secret")
NOTIFICATION = Notification(
    token="CN_078ad8b8a137cadb14ae5b70cf846312",
    title="Alice",
    body="hi there",
    collapse_id="msg-42",
    data={"conv": "c2c_alice"},
    ttl_s=600,
)
AUTH_PATH = "/server/v1/auth"
SEND_PATH = "/server/v1/message/notification/unicast"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def form_of(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


class FakeOppo:
    """Issues auth_token-1, auth_token-2, ...; answers sends with the next queued code."""

    def __init__(self, *send_codes: int) -> None:
        self.issued = 0
        self.send_codes = list(send_codes)

    def __call__(self, request: Request) -> Response:
        if request.path == AUTH_PATH:
            self.issued += 1
            token = f"auth_token-{self.issued}"
            return json_response(200, {"code": 0, "message": "", "data": {"auth_token": token}})
        code = self.send_codes.pop(0) if self.send_codes else 0
        data = {"messageId": "m-1"} if code == 0 else None
        return json_response(200, {"code": code, "message": f"code {code}", "data": data})


def paths(requests: list[Request]) -> list[str]:
    return [r.path for r in requests]


async def send_once(responder: Callable[[Request], Response]) -> tuple[list[Request], VendorError]:
    async with local_server(responder) as server:
        adapter = OppoAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
        return server.requests, caught.value


async def test_authenticates_then_sends_the_unicast() -> None:
    async with local_server(FakeOppo()) as server:
        adapter = OppoAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        auth, send = await server.wait_for_requests(2)
    assert (auth.method, auth.path) == ("POST", AUTH_PATH)
    auth_form = form_of(auth)
    assert set(auth_form) == {"app_key", "timestamp", "sign"}
    assert auth_form["app_key"] == "oppo-app-key"
    signed = f"oppo-app-key{auth_form['timestamp']}oppo-master-secret".encode()
    assert auth_form["sign"] == hashlib.sha256(signed).hexdigest()
    assert len(auth_form["timestamp"]) == 13  # milliseconds

    assert (send.method, send.path) == ("POST", SEND_PATH)
    assert send.headers["auth_token"] == "auth_token-1"
    assert send.headers["content-type"].startswith("application/x-www-form-urlencoded")
    send_form = form_of(send)
    assert send_form["auth_token"] == "auth_token-1"
    message = json.loads(send_form["message"])
    assert message["target_type"] == 2
    assert message["target_value"] == NOTIFICATION.token
    body = message["notification"]
    assert (body["title"], body["content"], body["app_message_id"]) == (
        "Alice",
        "hi there",
        "msg-42",
    )
    assert json.loads(body["action_parameters"]) == {"conv": "c2c_alice"}
    assert (body["off_line"], body["off_line_ttl"]) == (True, 600)


async def test_auth_token_is_cached_and_refreshed_before_its_day_ends() -> None:
    clock = FakeClock()
    oppo = FakeOppo()
    async with local_server(oppo) as server:
        adapter = OppoAdapter(CREDENTIALS, base_url=server.url, clock=clock)
        await adapter.send(NOTIFICATION)
        await adapter.send(NOTIFICATION)
        clock.now += 23 * 3600 + 1
        await adapter.send(NOTIFICATION)
        await adapter.close()
        requests = await server.wait_for_requests(5)
    assert paths(requests) == [AUTH_PATH, SEND_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert [r.headers["auth_token"] for r in requests if r.path == SEND_PATH] == [
        "auth_token-1",
        "auth_token-1",
        "auth_token-2",
    ]


async def test_invalid_auth_token_is_refreshed_once_and_the_send_retried() -> None:
    async with local_server(FakeOppo(11)) as server:
        adapter = OppoAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        requests = await server.wait_for_requests(4)
    assert paths(requests) == [AUTH_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert requests[3].headers["auth_token"] == "auth_token-2"
    assert form_of(requests[3])["auth_token"] == "auth_token-2"


async def test_auth_token_refused_twice_gives_up_after_one_refresh() -> None:
    requests, error = await send_once(FakeOppo(11, 11))
    assert paths(requests) == [AUTH_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert error.code == "11" and not error.retryable and not error.token_invalid


async def test_invalid_registration_id_is_token_invalid() -> None:
    _, error = await send_once(FakeOppo(10000))
    assert (error.vendor, error.code) == ("oppo", "10000")
    assert error.token_invalid and not error.retryable


@pytest.mark.parametrize("code", [-2, 33])
async def test_flow_control_and_daily_quota_are_retryable(code: int) -> None:
    _, error = await send_once(FakeOppo(code))
    assert error.code == str(code) and error.retryable and not error.token_invalid


async def test_overload_status_is_retryable_with_retry_after() -> None:
    oppo = FakeOppo()

    def overloaded_sends(request: Request) -> Response:
        if request.path == SEND_PATH:
            return 503, {"retry-after": "30"}, b"busy"
        return oppo(request)

    _, error = await send_once(overloaded_sends)
    assert error.code == "http_503" and error.retryable and error.retry_after_s == 30.0


async def test_auth_refused_for_a_bad_signature_is_permanent() -> None:
    def bad_signature(_: Request) -> Response:
        return json_response(200, {"code": 16, "message": "Invalid Signature", "data": None})

    requests, error = await send_once(bad_signature)
    assert paths(requests) == [AUTH_PATH]
    assert error.code == "16" and not error.retryable and not error.token_invalid
