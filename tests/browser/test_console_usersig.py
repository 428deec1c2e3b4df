"""The console's UserSig tool as a developer uses it: generate a UserSig for the app's
administrator, verify it on the same page (and see a wrong UserID refused with a fix), then call
REST v4 with it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack


async def test_generate_verify_and_use_a_usersig(console: Console, app: AppUnderTest) -> None:
    page = console.page
    await console.open("usersig", app.sdkappid)
    assert await page.input_value("#us-days") == "180"  # Tencent console's default
    await page.fill("#us-user", "administrator")
    await page.click("#us-generate")
    await console.toast("UserSig for administrator generated")
    sig = await page.input_value("#us-output")
    assert sig and await page.input_value("#usv-sig") == sig

    await page.click("#usv-verify")
    await page.wait_for_selector("#usv-result .okay")
    shown = await page.inner_text("#usv-claims")
    assert str(app.sdkappid) in shown and "180 days" in shown

    await page.fill("#usv-user", "someone")
    await page.click("#usv-verify")
    await page.wait_for_selector("#usv-result .error")
    assert "does not match the UserSig's UserID 'administrator'" in await page.inner_text(
        "#usv-result"
    )

    reply = await app.rest(
        "im_open_login_svc", "account_import", {"UserID": "sig-user"}, usersig=sig
    )
    assert reply["ErrorCode"] == 0, reply
