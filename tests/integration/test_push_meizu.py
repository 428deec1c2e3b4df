"""The Meizu adapter against a local HTTP server standing in for server-api-push.meizu.com."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

import pytest

from services.common.push_credentials import MeizuCredentials
from services.embedded.launchers import free_port
from services.push.vendors.base import Notification, VendorError
from services.push.vendors.meizu import MeizuAdapter, notify_key
from tests.push_server import Request, Response, json_response, local_server

CREDENTIALS = MeizuCredentials(app_id="110007", app_secret="meizu-app-secret")
NOTIFICATION = Notification(
    token="RA50c6348036344485d0177677",
    title="Alice",
    body="hi there",
    collapse_id="msg-42",
    data={"conv": "c2c_alice"},
    ttl_s=2 * 3600,
)


def form_of(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def expected_sign(form: dict[str, str]) -> str:
    # Meizu's rule, written out again: sorted "k=v" without separators, then the AppSecret.
    text = "".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign") + "meizu-app-secret"
    return hashlib.md5(text.encode()).hexdigest()


def answer(doc: Mapping[str, object]) -> Response:
    return json_response(200, doc)


async def test_posts_a_signed_form() -> None:
    async with local_server(
        lambda _: answer({"code": "200", "message": "", "value": {}})
    ) as server:
        adapter = MeizuAdapter(CREDENTIALS, base_url=server.url)
        await adapter.send(NOTIFICATION)
        await adapter.close()
        (request,) = await server.wait_for_requests(1)
    assert (request.method, request.path) == (
        "POST",
        "/garcia/api/server/push/varnished/pushByPushId",
    )
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = form_of(request)
    assert set(form) == {"appId", "pushIds", "messageJson", "sign"}
    assert (form["appId"], form["pushIds"]) == ("110007", "RA50c6348036344485d0177677")
    assert form["sign"] == expected_sign(form)
    message = json.loads(form["messageJson"])
    assert message["noticeBarInfo"] == {"noticeBarType": 0, "title": "Alice", "content": "hi there"}
    assert message["clickTypeInfo"] == {"clickType": 0, "parameters": {"conv": "c2c_alice"}}
    assert message["pushTimeInfo"] == {"offLine": 1, "validTime": 2}
    assert message["advanceInfo"]["notifyKey"] == notify_key("msg-42")


@pytest.mark.parametrize("code", ["110002", "110003"])
async def test_dead_push_id_is_token_invalid(code: str) -> None:
    reply = {"code": "200", "message": "", "value": {code: [NOTIFICATION.token]}, "msgId": "m1"}
    async with local_server(lambda _: answer(reply)) as server:
        adapter = MeizuAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert (caught.value.vendor, caught.value.code) == ("meizu", code)
    assert caught.value.token_invalid and not caught.value.retryable


async def test_rate_limit_is_retryable() -> None:
    reply = {"code": "110010", "message": "应用请求频率超过限制", "value": "", "redirect": ""}
    async with local_server(lambda _: answer(reply)) as server:
        adapter = MeizuAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.code == "110010"
    assert caught.value.retryable and not caught.value.token_invalid


async def test_bad_signature_is_permanent() -> None:
    reply = {"code": "1006", "message": "签名认证失败", "value": ""}
    async with local_server(lambda _: answer(reply)) as server:
        adapter = MeizuAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.code == "1006"
    assert not caught.value.retryable and not caught.value.token_invalid


@pytest.mark.parametrize("status", [429, 502])
async def test_overload_status_is_retryable_with_retry_after(status: int) -> None:
    async with local_server(lambda _: (status, {"retry-after": "12"}, b"busy")) as server:
        adapter = MeizuAdapter(CREDENTIALS, base_url=server.url)
        with pytest.raises(VendorError) as caught:
            await adapter.send(NOTIFICATION)
        await adapter.close()
    assert caught.value.retryable and caught.value.retry_after_s == 12.0


async def test_no_server_is_retryable() -> None:
    adapter = MeizuAdapter(CREDENTIALS, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(VendorError) as caught:
        await adapter.send(NOTIFICATION)
    await adapter.close()
    assert caught.value.code == "unreachable" and caught.value.retryable
