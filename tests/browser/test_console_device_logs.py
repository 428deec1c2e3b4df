"""Device logs in the console, as an operator chasing a user's problem would use them: ask the
user's connected client for its SDK log on the Troubleshooting page, see the upload listed, and
download it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console
from tests.conftest import AppUnderTest, eventually
from tidings_client import Client

pytestmark = pytest.mark.stack

CLIENT_LOG = "12:00:01 connect ok\n12:00:02 send failed: 20009\n"


async def test_ask_a_client_for_its_log_then_download_it(
    console: Console, app: AppUnderTest
) -> None:
    await app.put_accounts("carol")
    client = Client(
        app.stack.ws_url,
        app.sdkappid,
        "carol",
        app.sig("carol"),
        platform="Android",
        rest_url=app.stack.rest_url,
        log_provider=lambda: CLIENT_LOG,
    )
    await client.connect()
    try:
        page = console.page
        await console.open("events", app.sdkappid)
        await page.fill("#dl-user", "carol")
        await page.click("#dl-ask")
        await page.wait_for_selector("#dl-list:has-text('Asked 1 connected client')")

        # The client uploads on its own time (the ask is a frame to it): show until it is listed.
        async def listed() -> bool:
            await page.click("#dl-show")
            await page.wait_for_selector("#dl-show:not([disabled])")
            return await page.is_visible("#dl-list a:has-text('Download')")

        assert await eventually(listed)
        async with page.expect_download() as waiting:
            await page.click("#dl-list a:has-text('Download')")
        download = await waiting.value
        path = await download.path()
        assert path is not None and path.read_text() == CLIENT_LOG
    finally:
        await client.close()
