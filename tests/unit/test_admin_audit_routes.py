"""Every admin route that changes something makes exactly one audit entry: the gateway's real
HTTP app is walked, and every non-GET /admin route must declare its action
(AdminDeps.audited); the dependency itself records once on success, once when a request
fails after it saved, and never when it fails before."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from services.common.config import Settings
from services.common.console_policy import READ_POSTS
from services.common.store.admin_audit import AuditEntry, AuditQuery
from services.common.store.ports import App, AppKey
from services.common.store.sqlite import SqliteStores
from services.gateway.admin import mount_admin
from services.gateway.admin.base import AdminDeps, Audited, current_change
from services.gateway.main import build_http
from services.gateway.rest_v4.context import RestDeps

# POST routes that change nothing: rendering a template for a sample, and the policy's reads.
READ_ONLY = {("POST", "/admin/apps/{sdkappid}/push/templates/{name}/preview"), *READ_POSTS}

ADMIN_TOKEN = "t" * 32


def gateway_app(tmp_path: Path) -> FastAPI:
    """The gateway's HTTP app as main.py builds it; its routes are only walked."""
    none = cast(Any, None)
    stores = SqliteStores(tmp_path / "routes.sqlite3")
    deps = RestDeps(
        settings=Settings(admin_token=ADMIN_TOKEN),
        auth=none,
        stores=stores,
        publisher=none,
        history=none,
        archive=none,
        tails=none,
        sessions=none,
        channels=none,
        limiter=none,
        producer=none,
        config=none,
        receipts=none,
    )
    return build_http(deps, none, none, none)


def actions(route: APIRoute) -> list[str]:
    return [d.call.action for d in route.dependant.dependencies if isinstance(d.call, Audited)]


def admin_routes(app: FastAPI) -> list[APIRoute]:
    """Every /admin route, through included routers."""
    routes = [c.original_route for c in iter_route_contexts(app.routes)]
    return [r for r in routes if isinstance(r, APIRoute) and r.path.startswith("/admin")]


def test_every_changing_admin_route_declares_one_action(tmp_path: Path) -> None:
    routes = admin_routes(gateway_app(tmp_path))
    changing = [(m, r) for r in routes for m in sorted(r.methods - {"GET", "HEAD"})]
    assert len(changing) >= 20  # the walk found the admin API
    missing = [
        f"{m} {r.path}"
        for m, r in changing
        if (m, r.path) not in READ_ONLY and len(actions(r)) != 1
    ]
    assert missing == [], "non-GET admin routes without AdminDeps.audited(action)"
    names = [actions(r)[0] for m, r in changing if (m, r.path) not in READ_ONLY]
    assert len(names) == len(set(names)), "two routes share an action name"
    # Reads record nothing.
    reads = [r for r in routes if r.methods <= {"GET", "HEAD"}]
    assert reads and all(actions(r) == [] for r in reads)


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.broken = False

    async def record(self, entry: AuditEntry) -> None:
        if self.broken:
            raise OSError("disk full")
        self.entries.append(entry)

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        return list(self.entries)


class MemoryApps:
    def __init__(self, app: App) -> None:
        self.app = app

    async def get_app(self, sdkappid: int) -> App | None:
        return self.app if sdkappid == self.app.sdkappid else None

    async def save_app(self, app: App) -> None:
        self.app = app


class Announcer:
    async def announce(self, sdkappid: int, section: str, value: object) -> None:
        return None


class Cache:
    def invalidate(self, sdkappid: int) -> None:
        return None


@pytest.fixture
def audit() -> MemoryAudit:
    return MemoryAudit()


@pytest.fixture
async def client(audit: MemoryAudit) -> httpx.AsyncClient:
    app_record = App(1400000701, "a", "Standard", [AppKey("k" * 64)])
    deps = AdminDeps(
        Settings(admin_token=ADMIN_TOKEN),
        cast(Any, MemoryApps(app_record)),
        cast(Any, Cache()),
        cast(Any, None),
        cast(Any, Announcer()),
        audit,
    )
    api = FastAPI()
    router = deps.router()

    @router.post("/apps/{sdkappid}/things/{name}", dependencies=[deps.audited("thing.set")])
    async def set_thing(sdkappid: int, name: str, fail: str = "") -> dict[str, str]:
        app = await deps.load_app(sdkappid)
        if fail == "before":
            raise ValueError("refused before saving")
        app.settings["thing"] = {"name": name, "secret": "s" * 20}
        await deps.save_app(app, "thing")
        if fail == "after":
            raise RuntimeError("failed after saving")
        return {"ok": name}

    @router.post("/apps/{sdkappid}/note", dependencies=[deps.audited("thing.note")])
    async def note(sdkappid: int) -> dict[str, str]:
        current_change().after = {"noted": True}
        return {}

    api.include_router(router)
    mount_admin(api, deps)
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False, client=("10.9.8.7", 5))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )


async def test_one_entry_with_actor_ip_before_and_after(
    client: httpx.AsyncClient, audit: MemoryAudit
) -> None:
    r = await client.post("/admin/apps/1400000701/things/lamp")
    assert r.status_code == 200, r.text
    [entry] = audit.entries
    assert (entry.sdkappid, entry.action, entry.resource) == (1400000701, "thing.set", "lamp")
    assert (entry.actor, entry.source, entry.client_ip) == ("operator", "admin_api", "10.9.8.7")
    assert entry.before == {"thing": None}
    assert entry.after == {"thing": {"name": "lamp", "secret": "ssss…"}}

    r = await client.post("/admin/apps/1400000701/note")
    assert r.status_code == 200 and audit.entries[-1].after == {"noted": True}
    assert len(audit.entries) == 2


async def test_failures_record_only_what_was_saved(
    client: httpx.AsyncClient, audit: MemoryAudit
) -> None:
    r = await client.post("/admin/apps/1400000701/things/lamp", params={"fail": "before"})
    assert r.status_code == 500
    assert audit.entries == []
    r = await client.post("/admin/apps/abc/things/lamp")  # refused by validation
    assert r.status_code == 422 and audit.entries == []
    r = await client.post("/admin/apps/1400000799/things/lamp")  # no such app
    assert r.status_code == 404 and audit.entries == []
    r = await client.post("/admin/apps/1400000701/things/lamp", headers={"Authorization": "x"})
    assert r.status_code == 401 and audit.entries == []

    r = await client.post("/admin/apps/1400000701/things/desk", params={"fail": "after"})
    assert r.status_code == 500
    [entry] = audit.entries  # saved, then failed: the change is on record
    assert entry.after == {"thing": {"name": "desk", "secret": "ssss…"}}


async def test_an_entry_that_cannot_be_written_is_an_error(
    client: httpx.AsyncClient, audit: MemoryAudit
) -> None:
    audit.broken = True
    r = await client.post("/admin/apps/1400000701/things/lamp")
    assert r.status_code == 503
    assert r.json()["error"] == {
        "code": "audit_unavailable",
        "message": "changed, but the audit entry was not written: disk full",
    }
