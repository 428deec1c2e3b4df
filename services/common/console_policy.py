"""Console sub-account policies, CAM-like, and which admin API action every route is.

A policy is a list of statements `{"effect": "allow"|"deny", "actions": [...], "apps": [...]}`.
An action is `<resource>:<verb>`: the resources are RESOURCES, the verbs read and write. A
statement names actions as `resource:verb`, `resource:*`, `*:verb` or `*`, and apps as `"*"`
(every app, and what belongs to no app: the app list, the global audit log, sub-accounts) or
SDKAppIDs. Deny by default; an explicit deny wins over any allow. The root account may do
everything.

Every /admin route is one action (`route_action`): its resource from its path, read for GET
(and the READ_POSTS) and write for every other method. tests/unit/test_console_routes_policy.py
walks the gateway's routes and fails on a route that maps to no resource.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RESOURCES: tuple[str, ...] = (
    "app",
    "accounts",
    "groups",
    "config",
    "callbacks",
    "words",
    "push",
    "stats",
    "audit",
    "reports",
    "subaccounts",
)
READ = "read"
WRITE = "write"
VERBS: tuple[str, ...] = (READ, WRITE)
ALLOW = "allow"
DENY = "deny"
ALL = "*"

PRESETS: dict[str, list[dict[str, Any]]] = {
    "FullAccess": [{"effect": ALLOW, "actions": [ALL], "apps": [ALL]}],
    "ReadOnlyAccess": [{"effect": ALLOW, "actions": ["*:read"], "apps": [ALL]}],
}

MAX_STATEMENTS = 32
MAX_ITEMS = 64

# /admin/apps/{sdkappid}/<segment>/...: the resource of each first segment ("" is the app).
APP_SEGMENTS: dict[str, str] = {
    "": "app",
    "rotate-key": "app",
    "usersig": "app",
    "settings": "config",
    "messaging": "config",
    "custom-fields": "config",
    "callback": "callbacks",
    "callbacks": "callbacks",
    "rules": "callbacks",
    "sensitive-words": "words",
    "push": "push",
    "stats": "stats",
    "monitor": "stats",
    "events": "stats",
    "audit-log": "audit",
    "reports": "reports",
    "accounts": "accounts",
    "users": "accounts",
    "device-logs": "accounts",
    "groups": "groups",
}
# /admin/<segment>/... outside one app.
TOP_SEGMENTS: dict[str, str] = {
    "apps": "app",
    "audit-log": "audit",
    "subaccounts": "subaccounts",
}
# Routes any console user may call: they answer only with what the caller may read.
FILTERED: frozenset[tuple[str, str]] = frozenset({("GET", "/admin/apps")})
# POST routes that only read: POST keeps what they are given (a UserSig) out of the URL.
READ_POSTS: frozenset[tuple[str, str]] = frozenset(
    {("POST", "/admin/apps/{sdkappid}/usersig/verify")}
)

_ACTION = re.compile(r"(\*|[a-z]+):(\*|[a-z]+)")


class PolicyError(ValueError):
    """A policy that is not well formed; the message says where."""


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    # None: every app.
    apps: frozenset[int] | None

    def matches(self, action: str, sdkappid: int | None) -> bool:
        if self.apps is not None and (sdkappid is None or sdkappid not in self.apps):
            return False
        return any(_action_matches(pattern, action) for pattern in self.actions)


def _action_matches(pattern: str, action: str) -> bool:
    if pattern == ALL:
        return True
    p_resource, _, p_verb = pattern.partition(":")
    resource, _, verb = action.partition(":")
    return p_resource in (ALL, resource) and p_verb in (ALL, verb)


def _check_action(where: str, action: object) -> str:
    if not isinstance(action, str):
        raise PolicyError(f"{where}: an action is a string")
    if action == ALL:
        return action
    m = _ACTION.fullmatch(action)
    if m is None or m[1] not in (ALL, *RESOURCES) or m[2] not in (ALL, *VERBS):
        raise PolicyError(
            f"{where}: unknown action {action!r}: use <resource>:<verb>, <resource>:*, *:<verb>"
            f" or *, with resources {', '.join(RESOURCES)} and verbs read, write"
        )
    return action


def _check_app(where: str, app: object) -> int | None:
    if app == ALL:
        return None
    if isinstance(app, str) and app.isdigit():
        app = int(app)
    if isinstance(app, bool) or not isinstance(app, int) or not 0 < app < 2**32:
        raise PolicyError(f'{where}: an app is an SDKAppID or "*", not {app!r}')
    return app


def parse_statements(raw: object) -> list[Statement]:
    """The statements of a policy document, validated: PolicyError names the first fault."""
    if not isinstance(raw, list) or len(raw) > MAX_STATEMENTS:
        raise PolicyError(f"policies: a list of at most {MAX_STATEMENTS} statements")
    statements = []
    for i, doc in enumerate(raw):
        where = f"policies[{i}]"
        if not isinstance(doc, dict) or set(doc) != {"effect", "actions", "apps"}:
            raise PolicyError(f"{where}: a statement has exactly effect, actions and apps")
        effect, actions, apps = doc["effect"], doc["actions"], doc["apps"]
        if effect not in (ALLOW, DENY):
            raise PolicyError(f"{where}.effect: allow or deny")
        for name, items in (("actions", actions), ("apps", apps)):
            if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
                raise PolicyError(f"{where}.{name}: a list of 1 to {MAX_ITEMS} items")
        checked = tuple(_check_action(f"{where}.actions", a) for a in actions)
        ids = [_check_app(f"{where}.apps", a) for a in apps]
        scope = None if None in ids else frozenset(i for i in ids if i is not None)
        statements.append(Statement(effect, checked, scope))
    return statements


def statements_doc(statements: Sequence[Statement]) -> list[dict[str, Any]]:
    """The JSON form of parsed statements (what is stored and shown)."""
    return [
        {
            "effect": s.effect,
            "actions": list(s.actions),
            "apps": [ALL] if s.apps is None else sorted(s.apps),
        }
        for s in statements
    ]


def preset(name: str, apps: Sequence[int | str] | None = None) -> list[dict[str, Any]]:
    """A preset's statements, scoped to `apps` when given (else every app)."""
    if name not in PRESETS:
        raise PolicyError(f"preset: one of {', '.join(PRESETS)}")
    docs = [dict(s) for s in PRESETS[name]]
    if apps is not None:
        for doc in docs:
            doc["apps"] = list(apps)
    return statements_doc(parse_statements(docs))


def allows(statements: Sequence[Statement], action: str, sdkappid: int | None) -> bool:
    """Deny by default; an explicit deny wins. `sdkappid` None: an action on no one app, which
    only statements on every app ("*") cover."""
    matching = [s.effect for s in statements if s.matches(action, sdkappid)]
    return DENY not in matching and ALLOW in matching


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A logged-in console account, as the admin API sees it."""

    username: str
    root: bool
    statements: tuple[Statement, ...]

    @property
    def actor(self) -> str:
        """Its name in the admin audit log."""
        return f"console:{self.username}"

    def may(self, action: str, sdkappid: int | None) -> bool:
        return self.root or allows(self.statements, action, sdkappid)

    def refusal(self, action: str, sdkappid: int | None) -> str:
        where = "every app" if sdkappid is None else f"app {sdkappid}"
        return (
            f"console user {self.username!r} may not {action} on {where}:"
            " its policies do not allow it"
        )


def route_action(method: str, path: str) -> str | None:
    """The action of an admin route (its path template, "/admin/apps/{sdkappid}/..."), None
    when its path names no resource."""
    verb = READ if method in ("GET", "HEAD") or (method, path) in READ_POSTS else WRITE
    parts = path.removeprefix("/admin").strip("/").split("/")
    if parts[:2] == ["apps", "{sdkappid}"]:
        resource = APP_SEGMENTS.get(parts[2] if len(parts) > 2 else "")
    else:
        resource = TOP_SEGMENTS.get(parts[0])
    return None if resource is None else f"{resource}:{verb}"
