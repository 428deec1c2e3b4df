"""The vivo adapter against a local HTTP server standing in for api-push.vivo.com.cn."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from services.common.push_credentials import VivoCredentials
from services.push.vendors.base import Notification, VendorError
from services.push.vendors.vivo import VivoAdapter
from tests.push_server import Request, Response, json_response, local_server

CREDENTIALS = VivoCredentials(app_id="10004", app_key="vivo-app-key", app_secret="vivo-secret")
NOTIFICATION = Notification(
    token="12345678901234567890123",
    title="Alice",
    body="hi there",
    collapse_id="msg-42",
    data={"conv": "c2c_alice"},
    ttl_s=600,
)
AUTH_PATH = "/message/auth"
SEND_PATH = "/message/send"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeVivo:
    """Issues authToken-1, authToken-2, ...; answers sends with the next queued result."""

    def __init__(self, *send_results: int) -> None:
        self.issued = 0
        self.send_results = list(send_results)

    def __call__(self, request: Request) -> Response:
        if request.path == AUTH_PATH:
            self.issued += 1
            token = f"authToken-{self.issued}"
            return json_response(200, {"result": 0, "desc": "请求成功", "authToken": token})
        result = self.send_results.pop(0) if self.send_results else 0
        reply: dict[str, object] = {"result": result, "desc": f"result {result}"}
        if result == 0:
            reply["taskId"] = "121397329"
        return json_response(200, reply)


def paths(requests: list[Request]) -> list[str]:
    return [r.path for r in requests]


async def send_once(responder: Callable[[Request], Response]) -> tuple[list[Request], VendorError]:
    async with local_server(responder) as server:
        adapter = VivoAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
        return server.requests, caught.value


async def test_authenticates_then_sends() -> None:
    async with local_server(FakeVivo()) as server:
        adapter = VivoAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        auth, send = await server.wait_for_requests(2)
    assert (auth.method, auth.path) == ("POST", AUTH_PATH)
    assert auth.headers["content-type"].startswith("application/json")
    auth_body = auth.json()
    assert set(auth_body) == {"appId", "appKey", "timestamp", "sign"}
    assert (auth_body["appId"], auth_body["appKey"]) == (10004, "vivo-app-key")
    signed = f"10004vivo-app-key{auth_body['timestamp']}vivo-secret".encode()
    assert auth_body["sign"] == hashlib.md5(signed).hexdigest()
    assert len(str(auth_body["timestamp"])) == 13  # milliseconds

    assert (send.method, send.path) == ("POST", SEND_PATH)
    assert send.headers["authtoken"] == "authToken-1"
    assert send.headers["content-type"].startswith("application/json")
    assert send.json() == {
        "appId": 10004,
        "regId": "12345678901234567890123",
        "notifyType": 4,
        "title": "Alice",
        "content": "hi there",
        "timeToLive": 600,
        "skipType": 1,
        "requestId": "msg-42",
        "clientCustomMap": {"conv": "c2c_alice"},
    }


async def test_sandbox_credentials_send_test_pushes() -> None:
    sandbox = VivoCredentials(app_id="10004", app_key="k", app_secret="s", sandbox=True)
    async with local_server(FakeVivo()) as server:
        adapter = VivoAdapter(sandbox, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        _, send = await server.wait_for_requests(2)
    assert send.json()["pushMode"] == 1


async def test_auth_token_is_cached_and_refreshed_every_two_hours() -> None:
    clock = FakeClock()
    async with local_server(FakeVivo()) as server:
        adapter = VivoAdapter(CREDENTIALS, base_url=server.url, clock=clock)
        await adapter.send(NOTIFICATION)
        await adapter.send(NOTIFICATION)
        clock.now += 2 * 3600
        await adapter.send(NOTIFICATION)
        await adapter.close()
        requests = await server.wait_for_requests(5)
    assert paths(requests) == [AUTH_PATH, SEND_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert [r.headers["authtoken"] for r in requests if r.path == SEND_PATH] == [
        "authToken-1",
        "authToken-1",
        "authToken-2",
    ]


async def test_refused_auth_token_is_refreshed_once_and_the_send_retried() -> None:
    async with local_server(FakeVivo(10000)) as server:
        adapter = VivoAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        requests = await server.wait_for_requests(4)
    assert paths(requests) == [AUTH_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert requests[3].headers["authtoken"] == "authToken-2"
    assert requests[1].json() == requests[3].json()


async def test_auth_token_refused_twice_gives_up_after_one_refresh() -> None:
    requests, error = await send_once(FakeVivo(10000, 10000))
    assert paths(requests) == [AUTH_PATH, SEND_PATH, AUTH_PATH, SEND_PATH]
    assert error.code == "10000" and not error.retryable and not error.token_invalid


async def test_invalid_reg_id_is_token_invalid() -> None:
    _, error = await send_once(FakeVivo(10302))
    assert (error.vendor, error.code) == ("vivo", "10302")
    assert error.token_invalid and not error.retryable


async def test_over_the_days_limit_is_retryable() -> None:
    _, error = await send_once(FakeVivo(10070))
    assert error.code == "10070" and error.retryable and not error.token_invalid


async def test_overload_status_is_retryable_with_retry_after() -> None:
    vivo = FakeVivo()

    def overloaded_sends(request: Request) -> Response:
        if request.path == SEND_PATH:
            return 500, {"retry-after": "5"}, b"Internet server error!"
        return vivo(request)

    _, error = await send_once(overloaded_sends)
    assert error.code == "http_500" and error.retryable and error.retry_after_s == 5.0


async def test_auth_refused_is_permanent() -> None:
    def refused(_: Request) -> Response:
        return json_response(200, {"result": 10094, "desc": "appId不一致"})

    requests, error = await send_once(refused)
    assert paths(requests) == [AUTH_PATH]
    assert error.code == "10094" and not error.retryable
