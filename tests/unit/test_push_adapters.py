"""make_adapter and the Adapters pool (services/push/adapters.py): each vendor's adapter aimed
at the configured endpoints (requests caught by an httpx mock transport), the pool's cache per
app and vendor, and, against a local TLS server, the CA-file override."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.common import push_config
from services.common.store.ports import App, AppKey
from services.push.adapters import Adapters, make_adapter
from services.push.vendors.apns import ApnsAdapter
from services.push.vendors.base import Notification
from tests.integration.test_push_apns import Pki, pki
from tests.push_server import Request as ServerRequest
from tests.push_server import Response as ServerResponse
from tests.push_server import TlsFiles, json_response, local_server
from tests.unit.test_push_config import Fake, fake_credentials

__all__ = ["pki"]

BASE = "http://vendors.test"
ENDPOINTS = {
    "apns": f"{BASE}/apns",
    "apns_sandbox": f"{BASE}/apns-sandbox",
    "fcm": f"{BASE}/fcm",
    "fcm_token": f"{BASE}/fcm-token",
    "huawei": f"{BASE}/huawei",
    "huawei_token": f"{BASE}/huawei-token",
    "xiaomi": f"{BASE}/xiaomi",
    "oppo": f"{BASE}/oppo",
    "vivo": f"{BASE}/vivo",
    "meizu": f"{BASE}/meizu",
}
TOKEN = "device-token-1"
NOTIFICATION = Notification(token=TOKEN, title="Alice", body="hi", collapse_id="m-1")


def vendor_reply(path: str) -> tuple[int, object]:
    """Each vendor's success answer, by the path asked (any prefix)."""
    if "/3/device/" in path:
        return 200, None
    if path.endswith("-token"):
        return 200, {"access_token": "at", "expires_in": 3600, "token_type": "Bearer"}
    if path.endswith("/messages:send"):
        if "/huawei/" in path:
            return 200, {"code": "80000000", "msg": "Success"}
        return 200, {"name": "projects/p/messages/1"}
    if path.endswith("/v3/message/regid"):
        return 200, {"result": "ok", "code": 0, "data": {"id": "x1"}}
    if path.endswith("/server/v1/auth"):
        return 200, {"code": 0, "data": {"auth_token": "oppo-token"}}
    if path.endswith("/unicast"):
        return 200, {"code": 0, "data": {"messageId": "m1"}}
    if path.endswith("/message/auth"):
        return 200, {"result": 0, "desc": "ok", "authToken": "vivo-token"}
    if path.endswith("/message/send"):
        return 200, {"result": 0, "desc": "ok", "taskId": "t1"}
    if path.endswith("/pushByPushId"):
        return 200, {"code": "200", "message": "", "value": {}, "msgId": "m1"}
    return 404, {"error": path}


def mock_client(seen: list[str]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        status, doc = vendor_reply(request.url.path)
        return httpx.Response(status, json=doc) if doc is not None else httpx.Response(status)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def expected_urls(fake: Fake, sandbox: bool) -> list[str]:
    apns_base = ENDPOINTS["apns_sandbox" if sandbox else "apns"]
    return {
        "apns": [f"POST {apns_base}/3/device/{TOKEN}"],
        # The token comes from the fcm_token endpoint, not the key file's token_uri.
        "fcm": [
            f"POST {BASE}/fcm-token",
            f"POST {BASE}/fcm/v1/projects/{fake.fields.get('project_id')}/messages:send",
        ],
        "huawei": [
            f"POST {BASE}/huawei-token",
            f"POST {BASE}/huawei/v1/{fake.fields.get('app_id')}/messages:send",
        ],
        "xiaomi": [f"POST {BASE}/xiaomi/v3/message/regid"],
        "oppo": [
            f"POST {BASE}/oppo/server/v1/auth",
            f"POST {BASE}/oppo/server/v1/message/notification/unicast",
        ],
        "vivo": [f"POST {BASE}/vivo/message/auth", f"POST {BASE}/vivo/message/send"],
        "meizu": [f"POST {BASE}/meizu/garcia/api/server/push/varnished/pushByPushId"],
    }[fake.vendor]


@pytest.mark.parametrize("fake", fake_credentials(), ids=lambda f: f"{f.vendor}-{len(f.fields)}")
@pytest.mark.parametrize("sandbox", [False, True])
async def test_make_adapter_aims_each_vendor_at_its_endpoints(fake: Fake, sandbox: bool) -> None:
    credentials = push_config.parse_credentials(fake.vendor, fake.fields, sandbox)
    seen: list[str] = []
    async with mock_client(seen) as client:
        adapter = make_adapter(fake.vendor, credentials, ENDPOINTS, client)
        assert adapter.vendor == fake.vendor
        await adapter.send(NOTIFICATION)
        await adapter.close()
        # The caller's client stays the caller's.
        assert not client.is_closed
    assert seen == expected_urls(fake, sandbox)


@pytest.mark.parametrize(
    ("sandbox", "url"),
    [
        (False, f"POST https://api.push.apple.com/3/device/{TOKEN}"),
        (True, f"POST https://api.sandbox.push.apple.com/3/device/{TOKEN}"),
    ],
)
async def test_without_endpoints_apns_goes_to_apple_by_the_sandbox_flag(
    sandbox: bool, url: str
) -> None:
    fake = fake_credentials()[0]
    credentials = push_config.parse_credentials("apns", fake.fields, sandbox)
    seen: list[str] = []
    async with mock_client(seen) as client:
        await make_adapter("apns", credentials, {}, client).send(NOTIFICATION)
    assert seen == [url]


def test_make_adapter_refuses_credentials_of_another_vendor() -> None:
    fake = fake_credentials()[3]
    credentials = push_config.parse_credentials(fake.vendor, fake.fields, False)
    with pytest.raises(ValueError, match="HuaweiCredentials are not credentials of vendor 'fcm'"):
        make_adapter("fcm", credentials, {})


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ({"fmc": "http://x"}, "unknown keys \\['fmc'\\]"),
        ({"fcm": "vendors.test"}, "push endpoint fcm must be an http"),
    ],
)
def test_endpoints_with_a_typo_are_refused(endpoints: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Adapters(endpoints)


# ---- the pool -----------------------------------------------------------------------------


def new_app(sdkappid: int = 1400000001) -> App:
    return App(sdkappid, "test", "Standard", [AppKey("k")])


def xiaomi(app: App, package: str = "com.example.chat") -> None:
    push_config.set_credentials(
        app, "xiaomi", {"app_secret": "secret-of-xiaomi", "package_name": package}, False
    )


async def test_the_pool_keeps_one_adapter_per_app_and_vendor_until_its_credentials_change() -> None:
    pool = Adapters({"apns": "http://apns.test", "apns_sandbox": "http://sandbox.test"})
    app, other = new_app(), new_app(1400000002)
    try:
        assert await pool.get(app, "xiaomi") is None
        xiaomi(app)
        xiaomi(other)
        first = await pool.get(app, "xiaomi")
        assert first is not None and first.vendor == "xiaomi"
        assert await pool.get(app, "xiaomi") is first
        assert await pool.get(other, "xiaomi") not in (None, first)
        # The same record read again (an equal document) keeps the adapter.
        reread = new_app()
        reread.settings = json.loads(json.dumps(app.settings))
        assert await pool.get(reread, "xiaomi") is first

        xiaomi(app, package="com.example.other")
        second = await pool.get(app, "xiaomi")
        assert second is not None and second is not first

        fake = fake_credentials()[0]
        push_config.set_credentials(app, "apns", fake.fields, True)
        apns_adapter = await pool.get(app, "apns")
        assert isinstance(apns_adapter, ApnsAdapter)
        assert apns_adapter.base_url == "http://sandbox.test"

        push_config.delete_credentials(app, "xiaomi")
        assert await pool.get(app, "xiaomi") is None
    finally:
        await pool.close()


def xiaomi_stand_in(request: ServerRequest) -> ServerResponse:
    return json_response(200, {"result": "ok", "code": 0, "data": {"id": request.path}})


async def test_a_replaced_adapter_serves_the_sends_holding_it_until_the_pool_closes() -> None:
    async with local_server(xiaomi_stand_in) as server:
        pool = Adapters({"xiaomi": server.url})
        app = new_app()
        xiaomi(app)
        old = await pool.get(app, "xiaomi")
        assert old is not None
        xiaomi(app, package="com.example.other")
        new = await pool.get(app, "xiaomi")
        assert new is not None and new is not old
        await old.send(NOTIFICATION)
        await new.send(NOTIFICATION)
        await pool.close()
        with pytest.raises(RuntimeError, match="client has been closed"):
            await old.send(NOTIFICATION)
        with pytest.raises(RuntimeError, match="client has been closed"):
            await new.send(NOTIFICATION)
    packages = [r.body.decode() for r in server.requests]
    assert ["com.example.chat" in packages[0], "com.example.other" in packages[1]] == [True, True]


async def test_the_ca_file_lets_apns_certificate_auth_reach_a_local_tls_server(
    pki: Pki, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(pki.ca_pem)
    app = new_app()
    push_config.set_credentials(
        app,
        "apns",
        {
            "cert_pem": pki.client_cert_pem,
            "key_pem": pki.client_key_pem,
            "bundle_id": "com.example.chat",
        },
        True,
    )
    xiaomi(app)
    plain_tls = TlsFiles(pki.tls.certfile, pki.tls.keyfile)
    async with (
        local_server(http2=True, tls=pki.tls) as apns_server,
        local_server(xiaomi_stand_in, tls=plain_tls) as xiaomi_server,
    ):
        pool = Adapters(
            {"apns_sandbox": apns_server.url, "xiaomi": xiaomi_server.url}, str(ca_file)
        )
        try:
            for vendor in ("apns", "xiaomi"):
                adapter = await pool.get(app, vendor)
                assert adapter is not None
                await adapter.send(NOTIFICATION)
        finally:
            await pool.close()
    # The APNs server demands a client certificate signed by the test CA: the request got
    # through, so the provider certificate was presented.
    [apns_request] = apns_server.requests
    assert (apns_request.http_version, apns_request.path) == ("2", f"/3/device/{TOKEN}")
    assert apns_server.url.startswith("https://") and xiaomi_server.url.startswith("https://")
    assert len(xiaomi_server.requests) == 1
