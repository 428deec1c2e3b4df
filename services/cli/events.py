"""`tidings events`: search an app's troubleshooting event log (the last 7 days), newest first,
as a table, reading the store of the data dir named by TIDINGS_DATA_DIR (or the configured
cluster). The rules are the admin API's (services/common/store/trace_log.py)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from services.common import trace
from services.common.config import get_settings
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.factory import open_stores
from services.common.store.trace_log import (
    DEFAULT_PAGE,
    MAX_PAGE,
    TracePage,
    TraceQuery,
    build_query,
)

_AGO = re.compile(r"(\d{1,6})([smhd])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_time(text: str, now_ms: int) -> int:
    """A moment as Unix ms: a span ago ("90m", "6h", "3d"), Unix milliseconds, or an ISO-8601
    date-time (UTC unless it names its offset)."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return now_ms - int(ago.group(1)) * _UNIT_MS[ago.group(2)]
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: give a span ago (90m, 6h, 3d), Unix milliseconds"
            " or an ISO-8601 date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_range(since: str, until: str | None, now_ms: int) -> tuple[int, int | None]:
    """--since and --until as Unix ms (until None: now)."""
    return parse_time(since, now_ms), parse_time(until, now_ms) if until is not None else None


def _when(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def event_table(events: list[TraceEvent]) -> Table:
    count = f"{len(events)} event" + ("" if len(events) == 1 else "s")
    table = Table(title=f"{count}, newest first (UTC)")
    for name in ("time", "event", "user", "peer/group", "code", "description"):
        table.add_column(name, no_wrap=name in ("time", "event"))
    for name in ("request id", "platform", "client ip", "ms", "detail"):
        table.add_column(name)
    for e in events:
        table.add_row(
            _when(e.time_ms),
            e.event,
            e.user,
            e.peer or e.group_id,
            str(e.code),
            e.description,
            e.request_id,
            e.platform,
            e.client_ip,
            str(e.latency_ms) if e.latency_ms else "",
            e.detail,
        )
    return table


async def _search(query: TraceQuery) -> TracePage:
    stores = open_stores(get_settings())
    try:
        if await stores.apps.get_app(query.sdkappid) is None:
            raise typer.BadParameter(f"no app {query.sdkappid}")
        return await stores.trace_log.search(query)
    finally:
        await stores.close()


def events_cmd(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    user: str = typer.Option("", "--user", help="who acted (the sender of a message)"),
    peer: str = typer.Option("", "--peer", help="the receiver of a C2C message"),
    group: str = typer.Option("", "--group", help="the GroupID"),
    event: str = typer.Option("", "--event", help=", ".join(trace.KINDS)),
    code: int | None = typer.Option(None, "--code", help="the error code (0: successes)"),
    since: str = typer.Option(
        "1h", "--since", help="start: a span ago (90m, 6h, 3d), Unix ms or ISO-8601; at most 7d"
    ),
    until: str | None = typer.Option(None, "--until", help="end, as --since; default now"),
    limit: int = typer.Option(DEFAULT_PAGE, "--limit", help=f"at most {MAX_PAGE}"),
    cursor: str = typer.Option("", "--cursor", help="the cursor a previous page printed"),
) -> None:
    """Search an app's event log (the last 7 days): logins, sends, recalls, kicks, callbacks,
    pushes, with their codes."""
    now = int(time.time() * 1000)
    try:
        query = build_query(
            app_id,
            *parse_range(since, until, now),
            now,
            event=event,
            user=user,
            peer=peer,
            group_id=group,
            code=code,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as err:  # TraceQueryError is one
        raise typer.BadParameter(str(err)) from None
    page = asyncio.run(_search(query))
    console = Console()
    console.print(event_table(page.events))
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")
