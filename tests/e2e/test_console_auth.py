"""Acceptance: web console logins and sub-accounts, against the session's stack.

Login, me and logout; a wrong password is 401; after too many failures even the right password
is 429 for the rest of the window; a cookie sent before a login is never the session after it;
a changing admin request with the cookie needs the session's CSRF token; a ReadOnlyAccess
sub-account reads but every write is 403 `forbidden`; a sub-account scoped to one app sees only
that app and gets 403 on another's routes; `tidings up` writes a root login that works.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.console_policy import READ_POSTS
from services.embedded.stack import Stack
from services.gateway.console_auth import COOKIE
from tests.conftest import AppUnderTest, admin_api, http_client, new_app
from tests.e2e.test_admin_audit_log import tidings

pytestmark = pytest.mark.stack

PASSWORD = "correct-horse-battery"


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def subaccount(stack: Stack, username: str, **policy: Any) -> None:
    r = await admin_api(
        stack, "POST", "/subaccounts", json={"username": username, "password": PASSWORD, **policy}
    )
    assert r.status_code == 201, r.text


def console(stack: Stack) -> httpx.AsyncClient:
    return http_client(base_url=stack.rest_url, timeout=60)


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Logs `http` in; the session's CSRF token."""
    r = await http.post("/console/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


async def with_cookie(
    stack: Stack, session: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """A request carrying exactly this console cookie (a client of its own, without a jar)."""
    async with http_client(
        base_url=stack.rest_url, timeout=60, headers={"Cookie": f"{COOKIE}={session}"}
    ) as http:
        return await http.request(method, path, **kwargs)


async def test_login_me_logout(stack: Stack) -> None:
    user = name("ops")
    await subaccount(stack, user, preset="FullAccess")
    async with console(stack) as http:
        r = await http.post("/console/api/login", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["user"] == user and r.json()["root"] is False
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        me = (await http.get("/console/api/me")).json()
        assert me == {
            "user": user,
            "root": False,
            "policies": [{"effect": "allow", "actions": ["*"], "apps": ["*"]}],
            "csrf_token": r.json()["csrf_token"],
        }
        assert (await http.get("/admin/apps")).status_code == 200
        session = http.cookies[COOKIE]

        assert (await http.post("/console/api/logout")).status_code == 200
        assert COOKIE not in http.cookies
    r = await with_cookie(stack, session, "GET", "/console/api/me")
    assert r.status_code == 401
    r = await with_cookie(stack, session, "GET", "/admin/apps")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_wrong_password_or_user_is_401(stack: Stack) -> None:
    user = name("ops")
    await subaccount(stack, user, preset="ReadOnlyAccess")
    async with console(stack) as http:
        for username, password in ((user, "wrong-password"), (name("nobody"), PASSWORD)):
            r = await http.post(
                "/console/api/login", json={"username": username, "password": password}
            )
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "bad_credentials"
            assert COOKIE not in http.cookies


async def test_throttled_after_repeated_failures_even_with_the_right_password(
    stack: Stack,
) -> None:
    user = name("target")
    await subaccount(stack, user, preset="ReadOnlyAccess")
    async with console(stack) as http:
        for _ in range(5):
            r = await http.post("/console/api/login", json={"username": user, "password": "nope"})
            assert r.status_code == 401
        for password in ("nope", PASSWORD):
            r = await http.post("/console/api/login", json={"username": user, "password": password})
            assert r.status_code == 429, r.text
            assert r.json()["error"]["code"] == "too_many_attempts"
        assert COOKIE not in http.cookies
    # Another user is not locked out by the first one's failures.
    other = name("bystander")
    await subaccount(stack, other, preset="ReadOnlyAccess")
    async with console(stack) as http:
        await login(http, other)


async def test_no_session_fixation(stack: Stack) -> None:
    user = name("ops")
    await subaccount(stack, user, preset="FullAccess")
    credentials = {"username": user, "password": PASSWORD}
    planted = "attacker-chosen-session-id-0123456789abcdef"
    r = await with_cookie(stack, planted, "POST", "/console/api/login", json=credentials)
    assert r.status_code == 200, r.text
    first = r.cookies[COOKIE]
    assert first != planted
    assert (await with_cookie(stack, planted, "GET", "/console/api/me")).status_code == 401
    assert (await with_cookie(stack, first, "GET", "/console/api/me")).status_code == 200

    # Logging in again with a live session: a new id, and the old one is no session.
    r = await with_cookie(stack, first, "POST", "/console/api/login", json=credentials)
    assert r.status_code == 200, r.text
    second = r.cookies[COOKIE]
    assert second not in (first, planted)
    assert (await with_cookie(stack, first, "GET", "/console/api/me")).status_code == 401
    assert (await with_cookie(stack, first, "GET", "/admin/apps")).status_code == 401
    assert (await with_cookie(stack, second, "GET", "/console/api/me")).status_code == 200


async def test_csrf_token_needed_for_changes(stack: Stack) -> None:
    user = name("ops")
    await subaccount(stack, user, preset="FullAccess")
    async with console(stack) as http:
        csrf = await login(http, user)
        created = name("made")
        body = {"username": created, "password": PASSWORD, "preset": "ReadOnlyAccess"}
        for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
            r = await http.post("/admin/subaccounts", json=body, headers=headers)
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "csrf"
        r = await admin_api(stack, "GET", f"/subaccounts/{created}")
        assert r.status_code == 404  # nothing changed
        # Reads need no token; with the token the change is made.
        assert (await http.get("/admin/subaccounts")).status_code == 200
        r = await http.post("/admin/subaccounts", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text


def admin_operations(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        if path.startswith("/admin")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def concrete(path: str, sdkappid: int) -> str:
    return re.sub(r"\{[a-z_]+\}", "x1", path.replace("{sdkappid}", str(sdkappid)))


async def test_read_only_subaccount_reads_but_cannot_write(app: AppUnderTest) -> None:
    stack = app.stack
    user = name("viewer")
    await subaccount(stack, user, preset="ReadOnlyAccess")
    async with console(stack) as http:
        csrf = await login(http, user)
        apps = (await http.get("/admin/apps")).json()["apps"]
        assert app.sdkappid in [a["sdkappid"] for a in apps]
        for path in ("", "/settings", "/messaging", "/sensitive-words", "/rules", "/audit-log"):
            r = await http.get(f"/admin/apps/{app.sdkappid}{path}")
            assert r.status_code == 200, (path, r.text)
        assert (await http.get("/admin/audit-log")).status_code == 200
        # The key signs UserSigs: not for a reader.
        r = await http.get(f"/admin/apps/{app.sdkappid}", params={"include_key": True})
        assert r.status_code == 403

        openapi = (await http.get("/openapi.json")).json()
        writes = [
            (m, p) for m, p in admin_operations(openapi) if m != "GET" and (m, p) not in READ_POSTS
        ]
        assert len(writes) >= 20
        for method, path in writes:
            r = await http.request(
                method, concrete(path, app.sdkappid), json={}, headers={"X-CSRF-Token": csrf}
            )
            assert r.status_code == 403, (method, path, r.text)
            error = r.json()["error"]
            assert error["code"] == "forbidden", (method, path, error)
            assert f"console user {user!r} may not" in error["message"], error
            assert ":write on " in error["message"], error
    settings = await admin_api(stack, "GET", f"/apps/{app.sdkappid}/settings")
    assert settings.status_code == 200


async def test_a_subaccount_scoped_to_one_app_sees_no_other(app: AppUnderTest) -> None:
    stack = app.stack
    other = await new_app(stack)
    user = name("scoped")
    await subaccount(stack, user, preset="FullAccess", apps=[app.sdkappid])
    async with console(stack) as http:
        csrf = await login(http, user)
        listed = [a["sdkappid"] for a in (await http.get("/admin/apps")).json()["apps"]]
        assert listed == [app.sdkappid]
        for path in ("", "/settings", "/callback", "/messaging", "/audit-log"):
            r = await http.get(f"/admin/apps/{other.sdkappid}{path}")
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "forbidden"
            assert str(other.sdkappid) in r.json()["error"]["message"]
        headers = {"X-CSRF-Token": csrf}
        r = await http.patch(f"/admin/apps/{other.sdkappid}/messaging", json={}, headers=headers)
        assert r.status_code == 403
        # Outside any one app: needs a statement on every app.
        assert (await http.get("/admin/audit-log")).status_code == 403
        assert (await http.get("/admin/subaccounts")).status_code == 403
        r = await http.post("/admin/apps", json={"name": "mine"}, headers=headers)
        assert r.status_code == 403

        # Its own app: everything, recorded as the console user.
        r = await http.post(
            f"/admin/apps/{app.sdkappid}/sensitive-words/custom",
            json={"add": ["forbidden-fruit"]},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        r = await http.get(f"/admin/apps/{app.sdkappid}/audit-log")
        assert r.status_code == 200, r.text
        [entry] = [e for e in r.json()["entries"] if e["action"].startswith("words.")]
        assert entry["actor"] == f"console:{user}"


async def test_a_deleted_subaccount_is_logged_out(stack: Stack) -> None:
    user = name("leaver")
    await subaccount(stack, user, preset="ReadOnlyAccess")
    async with console(stack) as http:
        await login(http, user)
        assert (await http.get("/admin/apps")).status_code == 200
        assert (await admin_api(stack, "DELETE", f"/subaccounts/{user}")).status_code == 200
        assert (await http.get("/admin/apps")).status_code == 401
        assert (await http.get("/console/api/me")).status_code == 401


async def test_tidings_up_writes_a_root_console_login(stack: Stack) -> None:
    demo = json.loads((stack.data_dir / "demo-app.json").read_text())
    assert demo["console_url"].endswith("/console/")
    async with console(stack) as http:
        r = await http.post(
            "/console/api/login",
            json={"username": demo["console_user"], "password": demo["console_password"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["root"] is True
        listed = (await admin_api(stack, "GET", "/subaccounts")).json()["subaccounts"]
        assert {"username": demo["console_user"], "root": True}.items() <= next(
            a for a in listed if a["username"] == demo["console_user"]
        ).items()
        # The root account is not changed through the API.
        r = await http.delete(
            f"/admin/subaccounts/{demo['console_user']}",
            headers={"X-CSRF-Token": r.json()["csrf_token"]},
        )
        assert r.status_code == 403


def test_the_root_login_is_kept_across_restarts_of_a_data_dir(tmp_path: Path) -> None:
    first = Stack(data_dir=tmp_path)._ensure_console_admin()
    assert first["console_user"] == "admin" and len(first["console_password"]) >= 16
    (tmp_path / "demo-app.json").write_text(json.dumps({"sdkappid": 1, **first}))
    # Started again: the account is there, and demo-app.json still holds its password.
    assert Stack(data_dir=tmp_path)._ensure_console_admin() == first


async def test_cli_sets_a_console_password(stack: Stack) -> None:
    user = name("root")
    out = await tidings(stack, "console", "passwd", "--user", user)
    assert f"created root console account {user}" in out
    made = out.split("password: ")[1].strip()
    async with console(stack) as http:
        await login(http, user, made)
        assert (await http.get("/console/api/me")).json()["root"] is True
        await tidings(stack, "console", "passwd", "--user", user, "--password", PASSWORD)
        # The old password's session ended with it.
        assert (await http.get("/console/api/me")).status_code == 401
        r = await http.post("/console/api/login", json={"username": user, "password": made})
        assert r.status_code == 401
        await login(http, user, PASSWORD)
