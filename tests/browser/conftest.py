"""The console's browser tests: Playwright drives Debian's chromium (never a downloaded
browser) against the session's embedded stack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.embedded.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; the tests fail, saying so, when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is missing at {CHROMIUM}: the console's browser tests need it "
            "(`apt-get install -y chromium`; `make test` installs it when it can)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        yield b
        await b.close()


def root_login(stack: Stack) -> tuple[str, str]:
    """The first console admin, as `make run` writes it into demo-app.json."""
    doc = json.loads((stack.data_dir / "demo-app.json").read_text())
    assert "console_user" in doc and "console_password" in doc, (
        "demo-app.json has no console_user/console_password"
    )
    return doc["console_user"], doc["console_password"]


@dataclass
class Console:
    """A browser page on the stack's console, and the JavaScript errors it raised."""

    page: Page
    stack: Stack
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.stack.rest_url}/console/"

    async def log_in(self, user: str, password: str) -> None:
        await self.page.goto(self.url)
        await self.page.fill("#login-user", user)
        await self.page.fill("#login-password", password)
        await self.page.click("#login-submit")
        await self.page.wait_for_selector(f"#who:has-text('{user}')")

    async def open(self, page_id: str, sdkappid: int | None = None) -> None:
        """One of the console's pages (of app `sdkappid`), once it has drawn with its data."""
        hash_ = f"#/{page_id}/{sdkappid}" if sdkappid else f"#/{page_id}"
        await self.page.goto(self.url + hash_)
        await self.page.wait_for_selector(f"#page-{page_id}[data-ready=true]")

    async def toast(self, text: str) -> None:
        await self.page.wait_for_selector(f"#toast div:has-text('{text}')")


async def new_console(browser: Browser, stack: Stack) -> AsyncIterator[Console]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    console = Console(page, stack)
    page.on("pageerror", lambda err: console.errors.append(str(err)))
    try:
        yield console
    finally:
        await context.close()
    assert not console.errors, f"JavaScript errors in the console: {console.errors}"


@pytest.fixture
async def anonymous(browser: Browser, stack: Stack) -> AsyncIterator[Console]:
    """A console page, not logged in."""
    async for console in new_console(browser, stack):
        yield console


@pytest.fixture
async def console(anonymous: Console) -> Console:
    """A console page, logged in as the root console admin."""
    await anonymous.log_in(*root_login(anonymous.stack))
    return anonymous
