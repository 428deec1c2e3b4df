"""The console's UserSig tool against the session's stack: POST /admin/apps/{id}/usersig/verify
tells a good UserSig's claims (also one signed with a key rotated out but still in grace) and,
for a bad one, the reason and the fix; a ReadOnlyAccess sub-account may verify but not issue."""

from __future__ import annotations

from typing import Any

import pytest

from services.common import usersig
from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, admin_api
from tests.e2e.test_console_auth import console, login, name, subaccount

pytestmark = pytest.mark.stack


async def verify(app: AppUnderTest, user: str, sig: str) -> dict[str, Any]:
    r = await admin_api(
        app.stack,
        "POST",
        f"/apps/{app.sdkappid}/usersig/verify",
        json={"user": user, "usersig": sig},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_verify_tells_the_claims_or_the_reason_and_fix(app: AppUnderTest) -> None:
    issued = await admin_api(
        app.stack, "POST", f"/apps/{app.sdkappid}/usersig", json={"user": "amy"}
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["expire"] == 180 * 86400  # Tencent console's default
    sig = issued.json()["usersig"]
    good = await verify(app, "amy", sig)
    assert {
        k: good[k] for k in ("valid", "error_code", "sdkappid", "user", "validity_s", "expired")
    } == {
        "valid": True,
        "error_code": 0,
        "sdkappid": app.sdkappid,
        "user": "amy",
        "validity_s": 180 * 86400,
        "expired": False,
    }
    assert good["expires_at"] == good["generated_at"] + 180 * 86400

    wrong_user = await verify(app, "bob", sig)
    assert (wrong_user["valid"], wrong_user["error_code"]) == (
        False,
        ErrorCode.SIG_IDENTIFIER_MISMATCH,
    )
    assert "does not match the UserSig's UserID 'amy'" in wrong_user["fix"]
    wrong_key = await verify(app, "amy", usersig.sign(app.sdkappid, "0" * 64, "amy"))
    assert wrong_key["error_code"] == ErrorCode.SIG_WRONG_KEY
    assert "another key" in wrong_key["fix"]
    expired = await verify(
        app, "amy", usersig.sign(app.sdkappid, app.key, "amy", 60, 1_600_000_000)
    )
    assert (expired["error_code"], expired["expired"]) == (ErrorCode.SIG_EXPIRED, True)
    assert expired["reason"] == "usersig expired at 2020-09-13 12:27:40 UTC"
    garbage = await verify(app, "amy", "garbage")
    assert (garbage["error_code"], garbage["user"]) == (ErrorCode.SIG_UNPARSABLE, None)

    # A key rotated out keeps verifying through its grace, as at the gateway.
    rotated = await admin_api(
        app.stack, "POST", f"/apps/{app.sdkappid}/rotate-key", json={"grace_s": 600}
    )
    assert rotated.status_code == 200, rotated.text
    assert (await verify(app, "amy", sig))["valid"] is True
    r = await admin_api(
        app.stack,
        "POST",
        f"/apps/{app.sdkappid}/usersig/verify",
        json={"user": "amy", "usersig": "x" * 5000},
    )
    assert r.status_code == 422


async def test_a_read_only_subaccount_verifies_but_does_not_issue(app: AppUnderTest) -> None:
    user = name("sig-viewer")
    await subaccount(app.stack, user, preset="ReadOnlyAccess")
    async with console(app.stack) as http:
        headers = {"X-CSRF-Token": await login(http, user)}
        base = f"/admin/apps/{app.sdkappid}/usersig"
        body = {"user": "amy", "usersig": app.sig("amy")}
        r = await http.post(f"{base}/verify", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["valid"] is True
        r = await http.post(base, json={"user": "amy"}, headers=headers)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
