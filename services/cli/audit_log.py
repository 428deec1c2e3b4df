"""`tidings audit-log`: search the admin audit log (the same search as GET /admin/audit-log),
and `record`, what every changing CLI command calls: the entry's actor is the OS user."""

from __future__ import annotations

import asyncio
import datetime
import time

import typer

from services.common import admin_audit
from services.common.config import get_settings
from services.common.store.admin_audit import AuditEntry
from services.common.store.factory import open_stores
from services.common.store.ports import App, Stores


async def record(
    stores: Stores,
    action: str,
    sdkappid: int,
    resource: str = "",
    before: object = None,
    after: object = None,
) -> None:
    await admin_audit.record(
        stores.admin_audit, admin_audit.cli_actor(), sdkappid, action, resource, before, after
    )


async def record_app_change(
    stores: Stores, action: str, before: App, after: App, resource: str = ""
) -> None:
    """The entry of a command that changed an app record: what differs between the two."""
    changed_before, changed_after = admin_audit.app_changes(before, after)
    await record(stores, action, after.sdkappid, resource, changed_before, changed_after)


def _millis(raw: str | None, option: str) -> int | None:
    """Unix milliseconds from Unix milliseconds or an ISO 8601 time (UTC unless it says)."""
    if raw is None:
        return None
    if raw.isdigit():
        return int(raw)
    try:
        when = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise typer.BadParameter(
            f"{option} is Unix milliseconds or an ISO 8601 time, not {raw!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() * 1000)


def audit_log_cmd(
    app_id: int | None = typer.Option(None, "--app", help="one app's entries (else every app's)"),
    actor: str | None = typer.Option(None, "--actor", help="operator, an OS user, a REST admin"),
    action: str | None = typer.Option(
        None, "--action", help="an action, or a prefix of one: rules, app.settings.update"
    ),
    since: str | None = typer.Option(
        None, "--since", help="Unix ms or ISO 8601 (UTC unless given); default: 7 days back"
    ),
    until: str | None = typer.Option(None, "--until", help="Unix ms or ISO 8601; default: now"),
    limit: int = typer.Option(admin_audit.DEFAULT_LIMIT, "--limit", help="entries per page"),
    cursor: str = typer.Option("", "--cursor", help="the cursor the previous page printed"),
) -> None:
    """Print the admin audit log, newest first, as JSON lines; the next page's cursor goes to
    stderr."""
    try:
        query = admin_audit.search_query(
            int(time.time() * 1000),
            sdkappid=app_id,
            actor=actor,
            action=action,
            since_ms=_millis(since, "--since"),
            until_ms=_millis(until, "--until"),
            cursor=cursor,
            limit=limit,
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None

    async def search() -> list[AuditEntry]:
        stores = open_stores(get_settings())
        try:
            return await stores.admin_audit.search(query)
        finally:
            await stores.close()

    entries = asyncio.run(search())
    for entry in entries:
        typer.echo(entry.to_doc())
    more = admin_audit.next_cursor(entries, query)
    if more:
        typer.echo(f"more: --cursor {more}", err=True)
