"""Every /admin route is one console policy action: the gateway's real HTTP app is walked, and
each route must map to a resource (console_policy.route_action), read for GET and write for
the rest, so that no route is left open to, or shut to, every sub-account by accident."""

from __future__ import annotations

from pathlib import Path

from services.common.console_policy import READ_POSTS, RESOURCES, route_action
from tests.unit.test_admin_audit_routes import admin_routes, gateway_app


def test_every_admin_route_has_a_resource_and_verb(tmp_path: Path) -> None:
    routes = admin_routes(gateway_app(tmp_path))
    pairs = [(m, r.path) for r in routes for m in sorted(r.methods - {"HEAD"})]
    assert len(pairs) >= 40  # the walk found the admin API
    unmapped = [f"{m} {p}" for m, p in pairs if route_action(m, p) is None]
    assert unmapped == [], "admin routes without a console policy resource (APP_SEGMENTS)"
    for method, path in pairs:
        resource, _, verb = (route_action(method, path) or "").partition(":")
        assert resource in RESOURCES
        reads = method == "GET" or (method, path) in READ_POSTS
        assert verb == ("read" if reads else "write"), (method, path)
    used = {(route_action(m, p) or "").partition(":")[0] for m, p in pairs}
    # Resources no route uses yet: accounts and groups have no admin routes of their own.
    assert set(RESOURCES) - used <= {"accounts", "groups"}
