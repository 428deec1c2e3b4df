"""The push admin API against the running stack: credentials of every vendor set with realistic
keys and read back redacted (no secret anywhere in the answers), bad credentials refused with
422, and push templates created, read, previewed, replaced and deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.common import push_config
from tests.conftest import AppUnderTest, admin_api
from tests.unit.test_push_config import fake_credentials, leaked, p8_key, service_account

pytestmark = pytest.mark.stack


async def admin(app: AppUnderTest, method: str, path: str, **kwargs: Any) -> Any:
    return await admin_api(app.stack, method, f"/apps/{app.sdkappid}/push{path}", **kwargs)


async def test_credentials_of_every_vendor_are_answered_redacted(app: AppUnderTest) -> None:
    fakes = fake_credentials()
    answers: list[str] = []
    for fake in fakes:
        sandbox = fake.vendor in ("apns", "vivo")
        r = await admin(
            app,
            "PUT",
            f"/credentials/{fake.vendor}",
            json={"credentials": fake.fields, "sandbox": sandbox},
        )
        assert r.status_code == 200, r.text
        assert r.json()["sandbox"] is sandbox
        answers.append(r.text)

    r = await admin(app, "GET", "/credentials")
    assert r.status_code == 200, r.text
    every = r.json()
    answers.append(r.text)
    assert sorted(every) == ["apns", "fcm", "huawei", "meizu", "oppo", "vivo", "xiaomi"]
    # The second APNs set (certificate auth) replaced the first (token auth).
    assert every["apns"]["auth"] == "certificate"
    assert every["apns"]["certificate_subject"] == "CN=Apple Push Services: com.example.chat"
    assert every["fcm"]["project_id"] == "chat-example-4f2a1"
    assert every["huawei"]["app_id"] == "104123457"
    assert every["vivo"]["sandbox"] is True
    assert every["meizu"]["sandbox"] is False
    for vendor in every:
        r = await admin(app, "GET", f"/credentials/{vendor}")
        assert r.status_code == 200, r.text
        assert r.json() == every[vendor]
        answers.append(r.text)

    text = "\n".join(answers)
    for fake in fakes:
        for secret in fake.secrets:
            assert leaked(text, secret) == []

    # The services read the credentials from the app record.
    async with app.stores() as stores:
        stored = await stores.apps.get_app(app.sdkappid)
    assert stored is not None
    assert sorted(push_config.credentials_of(stored)) == sorted(every)

    r = await admin(app, "DELETE", "/credentials/oppo")
    assert r.status_code == 204, r.text
    r = await admin(app, "GET", "/credentials/oppo")
    assert r.status_code == 404
    assert r.json()["error"] == {"code": "not_found", "message": "the app has no oppo credentials"}
    r = await admin(app, "DELETE", "/credentials/oppo")
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("vendor", "body", "says"),
    [
        (
            "apns",
            {
                "credentials": {
                    "team_id": "ABCDE12345",
                    "key_id": "KEY1234567",
                    "private_key_pem": "-----BEGIN PRIVATE KEY-----\nnot a key\n",
                    "bundle_id": "com.example.chat",
                }
            },
            "private_key_pem is not a usable APNs signing key",
        ),
        (
            "fcm",
            {"credentials": {**service_account(), "private_key": p8_key()}},
            "private_key must be an RSA key",
        ),
        ("fcm", {"credentials": {"type": "service_account"}}, "service-account key lacks"),
        ("huawei", {"credentials": {"app_id": "104123457"}}, "client_secret must be"),
        ("meizu", {"credentials": {"app_id": "1", "app_secret": "s"}, "extra": 1}, "extra"),
        ("meizu", {"credentials": "app_id=1"}, "credentials"),
        ("pigeon", {"credentials": {}}, "vendor"),
    ],
)
async def test_bad_credentials_are_refused(
    app: AppUnderTest, vendor: str, body: dict[str, Any], says: str
) -> None:
    r = await admin(app, "PUT", f"/credentials/{vendor}", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_argument"
    assert says in error["message"]
    r = await admin(app, "GET", "/credentials")
    assert r.json() == {}


async def test_a_secret_in_refused_input_is_not_echoed(app: AppUnderTest) -> None:
    secret = "s3cr3t-" + "x" * 300
    r = await admin(
        app,
        "PUT",
        "/credentials/oppo",
        json={"credentials": {"app_key": "k", "master_secret": secret}},
    )
    assert r.status_code == 422, r.text
    assert "at most 256 characters" in r.text
    assert "s3cr3t" not in r.text


async def test_templates_crud_and_preview(app: AppUnderTest) -> None:
    r = await admin(app, "GET", "/templates")
    assert r.json() == {"templates": []}
    welcome = {"title": ["{$dynamicFrom}", " says"], "content": ["{$msg} ({0}, {1})"]}
    r = await admin(app, "PUT", "/templates/default", json=welcome)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "default", **welcome}
    r = await admin(
        app, "PUT", "/templates/order7", json={"title": ["Order {0}"], "content": ["{$msg}"]}
    )
    assert r.status_code == 200, r.text
    r = await admin(app, "GET", "/templates")
    assert [t["name"] for t in r.json()["templates"]] == ["default", "order7"]
    r = await admin(app, "GET", "/templates/default")
    assert r.json() == {"name": "default", **welcome}

    sample = {
        "from": "alice",
        "from_nickname": "Alice",
        "msg": "See you at 8",
        "content_args": ["today", "bring {0}"],
    }
    r = await admin(app, "POST", "/templates/default/preview", json=sample)
    assert r.status_code == 200, r.text
    assert r.json() == {"title": "Alice says", "content": "See you at 8 (today, bring {0})"}
    r = await admin(
        app, "POST", "/templates/default/preview", json={**sample, "group_nickname": "Al"}
    )
    assert r.json()["title"] == "Al says"

    # Arguments that do not fit: the template's own message.
    r = await admin(
        app, "POST", "/templates/default/preview", json={**sample, "content_args": ["only"]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {
        "code": "invalid_argument",
        "message": "the content uses {1} but em_push_template.content_args has 1",
    }
    r = await admin(app, "POST", "/templates/nothere/preview", json=sample)
    assert r.status_code == 404

    r = await admin(
        app, "PUT", "/templates/order7", json={"title": ["Shipped"], "content": ["{$msg}"]}
    )
    assert r.json()["title"] == ["Shipped"]
    r = await admin(app, "DELETE", "/templates/order7")
    assert r.status_code == 204
    r = await admin(app, "GET", "/templates/order7")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "the app has no push template named 'order7'"
    r = await admin(app, "GET", "/templates")
    assert [t["name"] for t in r.json()["templates"]] == ["default"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("not-alnum", {"title": ["t"], "content": ["c"]}),
        ("x" * 65, {"title": ["t"], "content": ["c"]}),
        ("ok", {"title": [], "content": ["c"]}),
        ("ok", {"title": "t", "content": ["c"]}),
        ("ok", {"title": ["t"] * 17, "content": ["c"]}),
        ("ok", {"title": [""], "content": ["c"]}),
        ("ok", {"title": ["t"], "content": ["c"], "color": "red"}),
    ],
)
async def test_bad_templates_are_refused(
    app: AppUnderTest, name: str, body: dict[str, Any]
) -> None:
    r = await admin(app, "PUT", f"/templates/{name}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_argument"


async def test_the_push_admin_api_is_in_openapi(app: AppUnderTest) -> None:
    r = await admin_api(app.stack, "GET", "/../openapi.json")
    paths = json.loads(r.text)["paths"]
    prefix = "/admin/apps/{sdkappid}/push"
    for path, method in [
        ("/credentials", "get"),
        ("/credentials/{vendor}", "put"),
        ("/templates/{name}", "put"),
        ("/templates/{name}/preview", "post"),
    ]:
        assert paths[prefix + path][method]["summary"]
