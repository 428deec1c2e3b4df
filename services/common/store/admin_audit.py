"""The admin audit log's store: one entry per change made to an app's configuration through the
admin API, the CLI or a REST admin command (services/common/admin_audit.py records them).

Entry ids sort by the time the change was made (13-digit Unix ms, then random hex), so newest
first is descending id order and a page ends at an id (the cursor). Unlike the other ports, a
search may span every app: it is the operator's view of who changed what.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson

DAY_MS = 86_400_000
# Entries are kept a year (Cassandra TTL; the SQLite adapter deletes older rows as it writes).
RETENTION_MS = 365 * DAY_MS


def new_entry_id(time_ms: int) -> str:
    return f"{time_ms:013d}-{secrets.token_hex(4)}"


def day_of(time_ms: int) -> int:
    """The UTC day number (days since the epoch) of a time: the Cassandra partition."""
    return time_ms // DAY_MS


@dataclass(slots=True)
class AuditEntry:
    sdkappid: int
    entry_id: str
    time_ms: int
    # Who: "operator" (the admin API's bearer token), the OS user (CLI), the admin identifier
    # (REST); source says which front end: admin_api, cli or rest.
    actor: str
    source: str
    # The caller's IP ("" for the CLI, which runs on the host).
    client_ip: str
    # What: a dotted name such as app.settings.update or rules.pre_send.create, and the thing
    # within the app it acted on ("" for the app as a whole): a rule, vendor or template name.
    action: str
    resource: str
    # The parts that changed, before and after, as JSON values with their secrets redacted.
    before: Any = None
    after: Any = None

    def to_doc(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_doc(cls, doc: str | bytes) -> AuditEntry:
        return cls(**orjson.loads(doc))


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Entries with since_ms <= time_ms <= until_ms, optionally of one app, actor, and action
    (the action itself or any below it: "rules" finds rules.pre_send.create), with ids below
    before_id ("" for the first page), newest first, at most limit."""

    since_ms: int
    until_ms: int
    sdkappid: int | None = None
    actor: str | None = None
    action: str | None = None
    before_id: str = ""
    limit: int = 50


def action_matches(action: str, wanted: str) -> bool:
    return action == wanted or action.startswith(wanted + ".")


def matches(entry: AuditEntry, query: AuditQuery) -> bool:
    return (
        query.since_ms <= entry.time_ms <= query.until_ms
        and (not query.before_id or entry.entry_id < query.before_id)
        and (query.sdkappid is None or entry.sdkappid == query.sdkappid)
        and (query.actor is None or entry.actor == query.actor)
        and (query.action is None or action_matches(entry.action, query.action))
    )


class AdminAuditStore(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        """The entries that match, newest first, at most query.limit."""
