"""Console sub-account policies: validation, deny by default, an explicit deny wins, app
scopes, the presets, and each admin route's action."""

from __future__ import annotations

import pytest

from services.common.console_policy import (
    ConsoleUser,
    PolicyError,
    allows,
    parse_statements,
    preset,
    route_action,
    statements_doc,
)

APP = 1400000001
OTHER = 1400000002


def user(policies: list[dict[str, object]], root: bool = False) -> ConsoleUser:
    return ConsoleUser("carol", root, tuple(parse_statements(policies)))


def test_deny_by_default() -> None:
    assert not allows([], "app:read", APP)
    assert not user([]).may("app:read", None)


def test_read_only_preset_reads_everything_and_writes_nothing() -> None:
    ro = user(preset("ReadOnlyAccess"))
    assert ro.may("accounts:read", APP) and ro.may("audit:read", None)
    assert not ro.may("accounts:write", APP)
    assert not ro.may("subaccounts:write", None)


def test_full_access_and_root() -> None:
    assert user(preset("FullAccess")).may("subaccounts:write", None)
    assert user([], root=True).may("config:write", APP)


def test_an_explicit_deny_wins() -> None:
    u = user(
        [
            {"effect": "allow", "actions": ["*"], "apps": ["*"]},
            {"effect": "deny", "actions": ["callbacks:*"], "apps": [APP]},
        ]
    )
    assert not u.may("callbacks:read", APP) and not u.may("callbacks:write", APP)
    assert u.may("callbacks:write", OTHER) and u.may("words:write", APP)


def test_app_scope_covers_only_its_apps() -> None:
    u = user(preset("FullAccess", [APP]))
    assert u.may("groups:write", APP)
    assert not u.may("groups:read", OTHER)
    # What belongs to no app (the app list, sub-accounts) needs a statement on every app.
    assert not u.may("subaccounts:read", None)
    assert statements_doc(u.statements) == [{"effect": "allow", "actions": ["*"], "apps": [APP]}]


def test_action_patterns() -> None:
    u = user([{"effect": "allow", "actions": ["words:*", "*:read"], "apps": [str(APP)]}])
    assert u.may("words:write", APP) and u.may("stats:read", APP)
    assert not u.may("push:write", APP)


def test_the_refusal_names_the_user_action_and_app() -> None:
    message = user([]).refusal("accounts:write", APP)
    assert "'carol'" in message and "accounts:write" in message and str(APP) in message


@pytest.mark.parametrize(
    ("policies", "fault"),
    [
        ({}, "a list"),
        ([{"effect": "allow", "actions": ["*"]}], "exactly effect, actions and apps"),
        ([{"effect": "maybe", "actions": ["*"], "apps": ["*"]}], "allow or deny"),
        ([{"effect": "allow", "actions": ["mail:read"], "apps": ["*"]}], "unknown action"),
        ([{"effect": "allow", "actions": ["app:delete"], "apps": ["*"]}], "unknown action"),
        ([{"effect": "allow", "actions": [], "apps": ["*"]}], "1 to 64"),
        ([{"effect": "allow", "actions": ["*"], "apps": ["all"]}], "SDKAppID"),
        ([{"effect": "allow", "actions": ["*"], "apps": [True]}], "SDKAppID"),
        ([{"effect": "allow", "actions": [3], "apps": ["*"]}], "a string"),
    ],
)
def test_malformed_policies_are_refused(policies: object, fault: str) -> None:
    with pytest.raises(PolicyError, match=fault):
        parse_statements(policies)


def test_unknown_preset() -> None:
    with pytest.raises(PolicyError, match="FullAccess"):
        preset("Admin")


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("GET", "/admin/apps", "app:read"),
        ("POST", "/admin/apps", "app:write"),
        ("GET", "/admin/apps/{sdkappid}", "app:read"),
        ("POST", "/admin/apps/{sdkappid}/rotate-key", "app:write"),
        ("PATCH", "/admin/apps/{sdkappid}/settings", "config:write"),
        ("DELETE", "/admin/apps/{sdkappid}/rules/pre-send/{name}", "callbacks:write"),
        ("GET", "/admin/apps/{sdkappid}/sensitive-words/custom", "words:read"),
        ("POST", "/admin/apps/{sdkappid}/users/{user_id}/device-logs", "accounts:write"),
        ("GET", "/admin/audit-log", "audit:read"),
        ("DELETE", "/admin/subaccounts/{username}", "subaccounts:write"),
    ],
)
def test_route_actions(method: str, path: str, action: str) -> None:
    assert route_action(method, path) == action


def test_unknown_routes_have_no_action() -> None:
    assert route_action("GET", "/admin/apps/{sdkappid}/teleport") is None
    assert route_action("GET", "/admin/nowhere") is None
