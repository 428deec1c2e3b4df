"""A feature switch turned on in the console takes effect: Communities, off by default (as
Tencent's), may be created once the operator ticks the switch and saves."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from tests.browser.conftest import Console
from tests.conftest import AppUnderTest

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
