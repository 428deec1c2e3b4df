"""The admin audit log: who changed an app's configuration, what, from where, and its values
before and after. `record` is the one way an entry is made; the admin API (services/gateway/
admin/base.py), the CLI (services/cli/) and the REST admin commands all call it. The store is
store/admin_audit.py.

Before and after hold only what changed (`app_changes`), with secrets redacted: a value whose
key names a secret (key, secret, token, password, private, pem, sig, usersig) keeps at most its
first 4 characters, and only when it is at least 16 long; push credentials are shown as
push_config shows them. A redacted value that appears in both before and after changed (only
changed parts are kept), even when both look alike.
"""

from __future__ import annotations

import copy
import getpass
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from services.common import push_config
from services.common.store.admin_audit import (
    DAY_MS,
    AdminAuditStore,
    AuditEntry,
    AuditQuery,
    new_entry_id,
)
from services.common.store.ports import App

ADMIN_API = "admin_api"
CLI = "cli"
REST = "rest"
# The admin API's one bearer token is the operator's: it names no person.
OPERATOR = "operator"

MASK = "…"
# A secret shorter than this is masked whole: its first 4 characters would be most of it.
MIN_PREFIXED_SECRET = 16
# Before and after are each kept up to this size; a larger one is replaced by its size.
MAX_VALUE_BYTES = 64 * 1024

_SECRET_WORDS = frozenset(
    {"key", "secret", "token", "password", "passwd", "private", "pem", "sig", "usersig"}
)
_SECRET_PARTS = ("secret", "token", "password", "private")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    source: str
    client_ip: str = ""


def cli_actor() -> Actor:
    """The OS user running the CLI."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = f"uid:{os.getuid()}"
    return Actor(name, CLI)


def is_secret_name(name: str) -> bool:
    words = {w.lower() for w in _WORD.findall(name)}
    lowered = name.lower()
    return not words.isdisjoint(_SECRET_WORDS) or any(p in lowered for p in _SECRET_PARTS)


def mask(value: object) -> object:
    """A secret's value as the log keeps it."""
    if value is None or value == "":
        return value
    if isinstance(value, str):
        if len(value) <= len(MASK) + 4 and value.endswith(MASK):
            return value  # already a redacted view's
        return f"{value[:4]}{MASK}" if len(value) >= MIN_PREFIXED_SECRET else MASK
    return MASK


def redact(value: object) -> object:
    """`value` with every value under a secret's key masked, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): mask(v) if is_secret_name(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def snapshot(app: App) -> App:
    """A copy of the app to compare with once it changed."""
    return copy.deepcopy(app)


def app_state(app: App) -> dict[str, object]:
    """What a change can touch: the settings' sections, and the app's name, edition, admins
    and keys, one key each."""
    return {
        **app.settings,
        "name": app.name,
        "edition": app.edition,
        "admins": list(app.admins),
        "keys": [{"key": k.key, "valid_until": k.valid_until} for k in app.keys],
    }


def _diff_objects(
    before: Mapping[Any, object], after: Mapping[Any, object]
) -> tuple[dict[str, object], dict[str, object]]:
    """The keys whose values differ (a missing key is null), with the parts that differ."""
    b: dict[str, object] = {}
    a: dict[str, object] = {}
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) != after.get(key):
            b[str(key)], a[str(key)] = _diff(before.get(key), after.get(key))
    return b, a


def _diff(before: object, after: object) -> tuple[object, object]:
    """The parts of two values that differ: objects key by key, anything else whole."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return _diff_objects(before, after)
    return before, after


def _push_views(side: dict[str, object], app: App) -> None:
    """Changed push credentials as push_config shows them: a vendor's whole redacted view."""
    push = side.get(push_config.SETTINGS_KEY)
    if not isinstance(push, dict) or not isinstance(push.get("credentials"), dict):
        return
    views = push_config.credentials_view(app)
    push["credentials"] = {vendor: views.get(vendor) for vendor in push["credentials"]}


def app_changes(before: App, after: App) -> tuple[dict[str, object], dict[str, object]]:
    """What changed between two states of an app, before and after (not yet redacted)."""
    b, a = _diff_objects(app_state(before), app_state(after))
    _push_views(b, before)
    _push_views(a, after)
    return b, a


def _bounded(value: object) -> object:
    size = len(orjson.dumps(value))
    return value if size <= MAX_VALUE_BYTES else {"omitted": f"{size} bytes"}


async def record(
    store: AdminAuditStore,
    actor: Actor,
    sdkappid: int,
    action: str,
    resource: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Write one entry; before and after are redacted and bounded here."""
    now_ms = int(time.time() * 1000)
    entry = AuditEntry(
        sdkappid=sdkappid,
        entry_id=new_entry_id(now_ms),
        time_ms=now_ms,
        actor=actor.name,
        source=actor.source,
        client_ip=actor.client_ip,
        action=action,
        resource=resource,
        before=_bounded(redact(before)),
        after=_bounded(redact(after)),
    )
    await store.record(entry)
    return entry


# ---- searching -----------------------------------------------------------------------------

DEFAULT_WINDOW_MS = 7 * DAY_MS
# A search spans at most this: the Cassandra adapter reads one partition per day of it.
MAX_WINDOW_MS = 93 * DAY_MS
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ACTOR_CHARS = 128
ACTION_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
CURSOR_PATTERN = r"^[0-9]{13}-[0-9a-f]{8}$"


def search_query(
    now_ms: int,
    *,
    sdkappid: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    cursor: str = "",
    limit: int = DEFAULT_LIMIT,
) -> AuditQuery:
    """A search, checked: until defaults to now, since to DEFAULT_WINDOW_MS before until.
    Raises ValueError naming what is wrong."""
    until = now_ms if until_ms is None else until_ms
    since = until - DEFAULT_WINDOW_MS if since_ms is None else since_ms
    if since < 0 or until < 0:
        raise ValueError("since and until are Unix milliseconds, not negative")
    if since > until:
        raise ValueError("since is after until")
    if until - since > MAX_WINDOW_MS:
        raise ValueError(f"since to until spans at most {MAX_WINDOW_MS // DAY_MS} days")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit is 1 to {MAX_LIMIT}")
    if actor is not None and not 1 <= len(actor) <= MAX_ACTOR_CHARS:
        raise ValueError(f"actor is 1 to {MAX_ACTOR_CHARS} characters")
    if action is not None and not re.match(ACTION_PATTERN, action):
        raise ValueError("action is a dotted name such as rules or app.settings.update")
    if cursor and not re.match(CURSOR_PATTERN, cursor):
        raise ValueError("cursor is not one this search returned")
    return AuditQuery(
        since_ms=since,
        until_ms=until,
        sdkappid=sdkappid,
        actor=actor,
        action=action,
        before_id=cursor,
        limit=limit,
    )


def next_cursor(entries: list[AuditEntry], query: AuditQuery) -> str:
    """What to pass as the cursor for the next page; "" when this page was the last."""
    return entries[-1].entry_id if len(entries) == query.limit else ""
