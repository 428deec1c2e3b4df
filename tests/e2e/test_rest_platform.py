"""The REST platform around the commands: rate limits, the IP whitelist, the admin API and
/openapi.json, against the running stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.common import usersig
from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, http_client, new_app
from tests.conftest import admin_api as admin

pytestmark = pytest.mark.stack

CHEAP = ("all_member_push", "im_get_attr_name")


async def patch_settings(app: AppUnderTest, **settings: Any) -> dict[str, Any]:
    r = await admin(app.stack, "PATCH", f"/apps/{app.sdkappid}/settings", json=settings)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def rest_as(
    app: AppUnderTest, identifier: str, key: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    params = {
        "sdkappid": app.sdkappid,
        "identifier": identifier,
        "usersig": usersig.sign(app.sdkappid, key, identifier),
        "random": 7,
        "contenttype": "json",
    }
    async with http_client(timeout=30) as http:
        r = await http.post(
            f"{app.stack.rest_url}/v4/{CHEAP[0]}/{CHEAP[1]}",
            params=params,
            json={},
            headers=headers,
        )
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_rate_limit_refuses_over_the_limit_and_spares_other_apps(
    app: AppUnderTest, stack: Stack
) -> None:
    other = await new_app(stack)
    await patch_settings(app, rate_limits={"/".join(CHEAP): {"limit": 3, "per_s": 60}})
    codes = [(await app.rest(*CHEAP, {}))["ErrorCode"] for _ in range(5)]
    assert codes == [0, 0, 0, ErrorCode.REST_RATE_LIMITED, ErrorCode.REST_RATE_LIMITED]
    refused = await app.rest(*CHEAP, {})
    assert refused["ActionStatus"] == "FAIL"
    assert "all_member_push/im_get_attr_name allows 3 requests per 60 s" in refused["ErrorInfo"]
    # Another command of the same app and the same command of another app are unaffected.
    assert (await app.rest("openim_dirty_words", "get", {}))["ErrorCode"] == 0
    assert [(await other.rest(*CHEAP, {}))["ErrorCode"] for _ in range(5)] == [0] * 5
    # Lifting the limit applies at once.
    await patch_settings(app, rate_limits={})
    assert (await app.rest(*CHEAP, {}))["ErrorCode"] == 0


async def test_ip_whitelist_refuses_and_allows(app: AppUnderTest) -> None:
    view = await patch_settings(app, ip_whitelist=["10.0.0.0/8", "192.168.7.7", "2001:db8::/32"])
    assert view["ip_whitelist"] == ["10.0.0.0/8", "192.168.7.7", "2001:db8::/32"]
    refused = await app.rest(*CHEAP, {})
    assert refused["ErrorCode"] == ErrorCode.REST_IP_NOT_ALLOWED
    assert "127.0.0.1" in refused["ErrorInfo"]
    # The gateway trusts X-Forwarded-For from a local proxy, as behind an ingress.
    for ip, code in (
        ("10.20.30.40", 0),
        ("192.168.7.7", 0),
        ("192.168.7.8", ErrorCode.REST_IP_NOT_ALLOWED),
        ("2001:db8::5", 0),
        ("2001:db9::5", ErrorCode.REST_IP_NOT_ALLOWED),
    ):
        reply = await rest_as(app, "administrator", app.key, {"X-Forwarded-For": ip})
        assert reply["ErrorCode"] == code, (ip, reply)
        if code:
            assert ip in reply["ErrorInfo"]
    # An empty list allows everyone again, at once.
    await patch_settings(app, ip_whitelist=[])
    assert (await app.rest(*CHEAP, {}))["ErrorCode"] == 0


async def test_admin_api_needs_the_operator_token(stack: Stack) -> None:
    demo = json.loads((stack.data_dir / "demo-app.json").read_text())
    assert demo["admin_token"] == stack.admin_token and len(stack.admin_token) >= 32
    r = await admin(stack, "GET", "/apps", token="wrong")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"] == "Bearer"
    async with http_client(timeout=30) as http:
        for headers in ({}, {"Authorization": "Basic Zm9vOmJhcg=="}):
            r = await http.get(f"{stack.rest_url}/admin/apps", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_admin_api_app_lifecycle(stack: Stack) -> None:
    r = await admin(stack, "POST", "/apps", json={"name": "shop", "edition": "pro"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["admin_identifier"] == "administrator" and created["edition"] == "Standard"
    sdkappid, key = created["sdkappid"], created["key"]
    app = AppUnderTest(sdkappid, key, stack)
    assert (await app.rest(*CHEAP, {}))["ErrorCode"] == 0

    listed = (await admin(stack, "GET", "/apps")).json()["apps"]
    mine = next(a for a in listed if a["sdkappid"] == sdkappid)
    assert mine["name"] == "shop" and mine["key"] is None
    one = (await admin(stack, "GET", f"/apps/{sdkappid}")).json()
    assert one["key"] is None and one["keys"] == [{"current": True, "valid_until": None}]
    assert (await admin(stack, "GET", f"/apps/{sdkappid}?include_key=true")).json()["key"] == key

    # Rotation with a grace period: both keys verify; without one the old key stops at once.
    r = await admin(stack, "POST", f"/apps/{sdkappid}/rotate-key", json={"grace_s": 3600})
    assert r.status_code == 200
    second = r.json()["key"]
    assert second != key
    assert (await rest_as(app, "administrator", key))["ErrorCode"] == 0
    assert (await rest_as(app, "administrator", second))["ErrorCode"] == 0
    third = (await admin(stack, "POST", f"/apps/{sdkappid}/rotate-key", json={"grace_s": 0})).json()
    assert (await rest_as(app, "administrator", second))["ErrorCode"] == ErrorCode.SIG_WRONG_KEY
    assert (await rest_as(app, "administrator", key))["ErrorCode"] == 0
    assert (await rest_as(app, "administrator", third["key"]))["ErrorCode"] == 0

    # An issued UserSig is signed with the current key.
    r = await admin(
        stack, "POST", f"/apps/{sdkappid}/usersig", json={"user": "administrator", "expire": 600}
    )
    issued = r.json()
    assert issued["expire"] == 600
    async with http_client(timeout=30) as http:
        reply = (
            await http.post(
                f"{stack.rest_url}/v4/{CHEAP[0]}/{CHEAP[1]}",
                params={
                    "sdkappid": sdkappid,
                    "identifier": "administrator",
                    "usersig": issued["usersig"],
                },
                json={},
            )
        ).json()
    assert reply["ErrorCode"] == 0


async def test_admin_accounts_are_settings(app: AppUnderTest) -> None:
    assert (await rest_as(app, "ops", app.key))["ErrorCode"] == ErrorCode.REST_ADMIN_REQUIRED
    view = await patch_settings(app, admins=["ops", "bot"])
    assert view["admins"] == ["administrator", "ops", "bot"]
    assert (await rest_as(app, "ops", app.key))["ErrorCode"] == 0
    assert (await rest_as(app, "someone", app.key))["ErrorCode"] == ErrorCode.REST_ADMIN_REQUIRED
    got = (await admin(app.stack, "GET", f"/apps/{app.sdkappid}/settings")).json()
    assert got == {"rate_limits": {}, "ip_whitelist": [], "admins": ["administrator", "ops", "bot"]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"admins": [f"a{i}" for i in range(16)]}, 422, "invalid_argument"),
        ({"ip_whitelist": [f"10.0.0.{i}" for i in range(9)]}, 422, "invalid_argument"),
        ({"ip_whitelist": ["not-an-ip"]}, 422, "invalid_argument"),
        ({"rate_limits": {"sendmsg": {"limit": 5}}}, 422, "invalid_argument"),
        ({"rate_limits": {"openim/sendmsg": {"limit": 0}}}, 422, "invalid_argument"),
        ({"colour": "blue"}, 422, "invalid_argument"),
    ],
)
async def test_admin_api_rejects_bad_settings(
    app: AppUnderTest, body: dict[str, Any], status: int, code: str
) -> None:
    r = await admin(app.stack, "PATCH", f"/apps/{app.sdkappid}/settings", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


async def test_admin_api_bad_requests_get_the_envelope(stack: Stack) -> None:
    r = await admin(
        stack, "POST", "/apps", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = await admin(stack, "POST", "/apps", json={"name": "x", "edition": "gold"})
    assert r.status_code == 422 and "edition" in r.json()["error"]["message"]
    r = await admin(stack, "POST", "/apps", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    r = await admin(stack, "GET", "/apps/1399999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await admin(stack, "GET", "/apps/abc")
    assert r.status_code == 422
    r = await admin(stack, "POST", "/apps/1399999999/usersig", json={"user": "u", "expire": 0})
    assert r.status_code == 422


async def test_openapi_documents_rest_commands_and_admin(stack: Stack) -> None:
    async with http_client(timeout=30) as http:
        doc = (await http.get(f"{stack.rest_url}/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/v4/openim/sendmsg",
        "/v4/im_open_login_svc/account_import",
        "/v4/all_member_push/im_add_tag",
        "/v4/openim_dirty_words/add",
        "/admin/apps",
        "/admin/apps/{sdkappid}/settings",
    ):
        assert path in paths, path
    body = paths["/v4/openim_dirty_words/add"]["post"]["requestBody"]["content"]
    assert "$ref" in body["application/json"]["schema"]
    assert "operator" in doc["components"]["securitySchemes"]
