"""The README's console screenshots (docs/img/console-*.png): a fresh embedded stack, some
traffic on its demo app, then each main page in Debian's chromium.

    .venv/bin/python -m tests.browser.screenshots
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from services.common import apps
from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.browser.conftest import CHROMIUM, Console, root_login
from tests.callback_app_server import AppServer
from tests.conftest import AppUnderTest, admin_api, eventually, start_stack

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"
PAGES = [
    "apps",
    "accounts",
    "groups",
    "features",
    "custom-fields",
    "callbacks",
    "words",
    "push",
    "usersig",
    "stats",
    "monitor",
    "events",
]


def demo_app(stack: Stack) -> AppUnderTest:
    doc = json.loads((stack.data_dir / "demo-app.json").read_text())
    return AppUnderTest(doc["sdkappid"], doc["key"], stack)


async def traffic(app: AppUnderTest, server: AppServer) -> None:
    stores = SqliteStores(app.stack.settings().sqlite_path)
    try:
        found = await stores.apps.get_app(app.sdkappid)
        assert found is not None
        found.settings["send_rate"] = {"limit": 1000, "per_s": 1}
        await stores.apps.save_app(found)
        await apps.create_app(stores.apps, "shop", "Premium")
    finally:
        await stores.close()
    path = f"/apps/{app.sdkappid}"
    await admin_api(
        app.stack,
        "PUT",
        f"{path}/callback",
        json={"url": server.url, "token": "s3cret", "commands": ["C2C.CallbackAfterSendMsg"]},
    )
    await admin_api(
        app.stack, "POST", f"{path}/sensitive-words/custom", json={"add": ["zorblax", "spam"]}
    )
    await admin_api(
        app.stack,
        "PUT",
        f"{path}/push/templates/default",
        json={"title": ["{$from_nickname}"], "content": ["New message: ", "{$msg}"]},
    )
    await app.import_accounts("alice", "bob", "carol")
    await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Public",
            "Name": "Launch team",
            "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "carol"}],
        },
    )
    await admin_api(
        app.stack,
        "POST",
        f"{path}/custom-fields/profile",
        json={"name": "Level", "type": "integer", "app_read": True, "admin_write": True},
    )
    clients = [await app.connect(u) for u in ("alice", "bob", "carol")]
    for i in range(12):
        await clients[i % 3].send(to=("bob", "carol", "alice")[i % 3], text=f"hello {i}")

    async def counted() -> bool:
        r = await admin_api(app.stack, "GET", f"{path}/stats", params={"days": 1})
        return bool(r.json()["days"][-1]["messages"] >= 12)

    await eventually(counted, timeout=120, interval=1)
    for c in clients:
        await c.close()


async def shoot(stack: Stack) -> None:
    app = demo_app(stack)
    server = AppServer()
    server.start()
    try:
        await traffic(app, server)
        OUT.mkdir(parents=True, exist_ok=True)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            context = await browser.new_context(viewport={"width": 1200, "height": 760})
            console = Console(await context.new_page(), stack)
            await console.page.goto(console.url)
            await console.page.screenshot(path=OUT / "console-login.png")
            await console.log_in(*root_login(stack))
            for page_id in PAGES:
                await console.open(page_id, app.sdkappid)
                await console.page.wait_for_timeout(300)
                await console.page.screenshot(path=OUT / f"console-{page_id}.png")
            await browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp))
        try:
            asyncio.run(shoot(stack))
        finally:
            stack.stop()
