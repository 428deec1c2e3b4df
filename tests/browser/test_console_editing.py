"""Editing in the console as an operator would: disable an Easemob rule and change its URL, and
change a sub-account's policy; each change checked through the admin API."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console
from tests.conftest import AppUnderTest, admin_api

pytestmark = pytest.mark.stack


async def test_disable_and_edit_a_rule_then_edit_a_sub_accounts_policy(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    rules = f"/apps/{app.sdkappid}/rules"
    made = await admin_api(
        console.stack,
        "POST",
        f"{rules}/post-send",
        json={"name": "audit_feed", "url": "http://127.0.0.1:9/feed"},
    )
    assert made.status_code == 201, made.text

    await console.open("callbacks", app.sdkappid)
    await page.click("#toggle-post-send-audit_feed")
    await console.toast("Rule audit_feed disabled")
    rule = (await admin_api(console.stack, "GET", f"{rules}/post-send/audit_feed")).json()
    assert rule["enabled"] is False

    await page.wait_for_selector("#page-callbacks[data-ready=true]")
    await page.click("#edit-post-send-audit_feed")
    await page.fill("#rule-url", "http://127.0.0.1:9/feed2")
    await page.select_option("#rule-stream", "offline")
    await page.click("#rule-save")
    await console.toast("Rule audit_feed saved")
    rule = (await admin_api(console.stack, "GET", f"{rules}/post-send/audit_feed")).json()
    assert (rule["url"], rule["stream"], rule["enabled"]) == (
        "http://127.0.0.1:9/feed2",
        "offline",
        False,
    )
    # The secret drawn at creation is kept.
    assert rule["secret"] == made.json()["secret"]

    username = f"editor{app.sdkappid}"
    created = await admin_api(
        console.stack,
        "POST",
        "/subaccounts",
        json={"username": username, "password": "first-password", "preset": "ReadOnlyAccess"},
    )
    assert created.status_code == 201, created.text
    await console.open("subaccounts")
    await page.click(f"#edit-sub-{username}")
    await page.select_option("#edit-preset", "FullAccess")
    await page.fill("#edit-apps", str(app.sdkappid))
    await page.click("#edit-save")
    await console.toast(f"Sub-account {username} saved")
    account = (await admin_api(console.stack, "GET", f"/subaccounts/{username}")).json()
    assert account["policies"] == [{"effect": "allow", "actions": ["*"], "apps": [app.sdkappid]}]
