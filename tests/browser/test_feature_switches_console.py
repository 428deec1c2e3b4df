"""A feature switch turned on in the console takes effect: Communities, off by default (as
Tencent's), may be created once the operator ticks the switch and saves. The group tips' group
types are saved from the same page."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from services.common.messaging_settings import GROUP_TYPES
from tests.browser.conftest import Console
from tests.conftest import AppUnderTest, admin_api

pytestmark = pytest.mark.stack

COMMUNITY = {"Type": "Community", "Name": "c"}


async def test_turning_on_communities_in_the_console(console: Console, app: AppUnderTest) -> None:
    refused = await app.rest("group_open_http_svc", "create_group", COMMUNITY)
    assert refused["ErrorCode"] == ErrorCode.GROUP_NO_PERMISSION
    page = console.page
    await console.open("features", app.sdkappid)
    assert not await page.is_checked("#switch-community")
    await page.check("#switch-community")
    await page.click("#save-features")
    await console.toast("Saved")
    created = await app.rest("group_open_http_svc", "create_group", COMMUNITY)
    assert created["ErrorCode"] == 0, created


async def test_group_tips_per_group_type_in_the_console(
    console: Console, app: AppUnderTest
) -> None:
    """Tencent's 群系统通知配置: unticking a group type in the console stops that kind of tip."""
    page = console.page
    await console.open("features", app.sdkappid)
    assert await page.is_checked("#tips-members-work")
    assert not await page.query_selector("#tips-members-avchatroom")
    await page.uncheck("#tips-members-work")
    await page.click("#save-features")
    await console.toast("Saved")
    shown = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/messaging")
    assert shown.json()["group_tips_member_change"] == ["Community", "Meeting", "Public"]
    assert shown.json()["group_tips_member_info"] == list(GROUP_TYPES)
