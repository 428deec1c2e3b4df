"""Declaring a custom profile field in the console, then setting it through REST v4: the
declared field is accepted, an undeclared one refused (40009)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack


async def test_declare_a_profile_field_then_set_it_through_rest(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    await console.open("custom-fields", app.sdkappid)
    await page.fill("#cf-profile-name", "Mood")
    await page.uncheck("#cf-profile-new-app_write")
    await page.click("#cf-profile-add")
    await console.toast("Declared Mood")
    await page.wait_for_selector("#cf-profile td:has-text('Tag_Profile_Custom_Mood')")
    assert "app_write" not in await page.inner_text("#cf-profile table")

    await app.import_accounts("moody")
    body = {
        "From_Account": "moody",
        "ProfileItem": [{"Tag": "Tag_Profile_Custom_Mood", "Value": "calm"}],
    }
    assert (await app.rest("profile", "portrait_set", body))["ErrorCode"] == 0
    body["ProfileItem"] = [{"Tag": "Tag_Profile_Custom_Other", "Value": "x"}]
    assert (await app.rest("profile", "portrait_set", body))["ErrorCode"] == 40009
