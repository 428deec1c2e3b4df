"""The Xiaomi adapter against a local HTTP server standing in for api.xmpush.xiaomi.com."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from services.common.push_credentials import XiaomiCredentials
from services.embedded.launchers import free_port
from services.push.vendors.base import Notification, VendorError
from services.push.vendors.xiaomi import XiaomiAdapter, notify_id
from tests.push_server import Request, Response, json_response, local_server

CREDENTIALS = XiaomiCredentials(app_secret="xiaomi-app-secret", package_name="com.example.im")
NOTIFICATION = Notification(
    token="regid-1",
    title="Alice",
    body="hi there",
    collapse_id="msg-42",
    data={"conv": "c2c_alice"},
    ttl_s=600,
    extras={"channel_id": "im"},
)


def form_of(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def ok(_: Request) -> Response:
    return json_response(200, {"result": "ok", "code": 0, "data": {"id": "slm123"}})


async def test_posts_the_form_with_the_app_secret_key() -> None:
    async with local_server(ok) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        (request,) = await server.wait_for_requests(1)
    assert (request.method, request.path) == ("POST", "/v3/message/regid")
    assert request.headers["authorization"] == "key=xiaomi-app-secret"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = form_of(request)
    assert json.loads(form.pop("payload")) == {"conv": "c2c_alice"}
    assert form == {
        "registration_id": "regid-1",
        "restricted_package_name": "com.example.im",
        "pass_through": "0",
        "title": "Alice",
        "description": "hi there",
        "notify_type": "-1",
        "notify_id": str(notify_id("msg-42")),
        "time_to_live": "600000",
        "extra.notify_foreground": "1",
        "extra.channel_id": "im",
    }


async def test_the_same_notification_keeps_its_notify_id_across_tries() -> None:
    async with local_server(ok) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        first, second = await server.wait_for_requests(2)
    assert form_of(first)["notify_id"] == form_of(second)["notify_id"]


async def test_unknown_regid_is_token_invalid() -> None:
    def no_valid_targets(_: Request) -> Response:
        return json_response(
            200,
            {
                "result": "error",
                "code": 20301,
                "reason": "No valid targets!",
                "description": "发送消息失败",
            },
        )

    async with local_server(no_valid_targets) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert (caught.value.vendor, caught.value.code) == ("xiaomi", "20301")
    assert caught.value.token_invalid and not caught.value.retryable


async def test_bad_regids_in_an_ok_reply_is_token_invalid() -> None:
    def bad_regid(_: Request) -> Response:
        return json_response(
            200, {"result": "ok", "code": 0, "data": {"id": "slm1", "bad_regids": "regid-1"}}
        )

    async with local_server(bad_regid) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.token_invalid


async def test_busy_code_is_retryable() -> None:
    def busy(_: Request) -> Response:
        return json_response(200, {"result": "error", "code": 10002, "reason": "系统繁忙"})

    async with local_server(busy) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.retryable and not caught.value.token_invalid


@pytest.mark.parametrize("status", [429, 503])
async def test_overload_status_is_retryable_with_retry_after(status: int) -> None:
    async with local_server(lambda _: (status, {"retry-after": "7"}, b"busy")) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.code == f"http_{status}"
    assert caught.value.retryable and caught.value.retry_after_s == 7.0
    assert caught.value.status == status


async def test_wrong_secret_is_permanent() -> None:
    def unauthorised(_: Request) -> Response:
        return json_response(401, {"result": "error", "code": 21301, "reason": "认证失败"})

    async with local_server(unauthorised) as server:
        adapter = XiaomiAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.code == "21301"
    assert not caught.value.retryable and not caught.value.token_invalid


async def test_no_server_is_retryable() -> None:
    adapter = XiaomiAdapter(CREDENTIALS, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(VendorError) as caught:
        await adapter.send(NOTIFICATION)
    await adapter.close()
    assert caught.value.code == "unreachable" and caught.value.retryable
