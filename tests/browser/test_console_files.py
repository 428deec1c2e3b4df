"""The gateway serves the console's files, and leaves /console/api/* to the session routes."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from services.gateway.main import CONSOLE_DIR, mount_console


def console_app() -> httpx.AsyncClient:
    app = FastAPI()
    mount_console(app)

    # Mounted after the console, as a router could be: still reached.
    @app.get("/console/api/me")
    async def me() -> dict[str, str]:
        return {"user": "root"}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_the_page_its_assets_and_the_api_beside_them() -> None:
    client = console_app()
    moved = await client.get("/console")
    assert moved.status_code == 307 and moved.headers["location"] == "/console/"
    page = await client.get("/console/")
    assert page.status_code == 200 and "<title>Tidings console</title>" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    for asset in re.findall(r'(?:src|href)="(assets/[^"]+)"', page.text):
        got = await client.get(f"/console/{asset}")
        assert got.status_code == 200, asset
    script = await client.get("/console/assets/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    # Every module the shell imports, and what those import, is served.
    for module in sorted(CONSOLE_DIR.rglob("*.js")):
        for spec in re.findall(r'^import .* from "(\.{1,2}/[^"]+)";', module.read_text(), re.M):
            target = (module.parent / spec).resolve().relative_to(CONSOLE_DIR)
            got = await client.get(f"/console/assets/{target}")
            assert got.status_code == 200, (module.name, spec)
    assert (await client.get("/console/api/me")).json() == {"user": "root"}
    assert (await client.get("/console/assets/nothing.js")).status_code == 404
    await client.aclose()


def test_the_console_loads_nothing_from_elsewhere() -> None:
    for f in (p for p in CONSOLE_DIR.rglob("*") if p.is_file()):
        text = f.read_text()
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), f
        assert "import(" not in text and not re.search(r"^import .* from ['\"]http", text, re.M)
