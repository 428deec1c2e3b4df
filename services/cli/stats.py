"""`tidings stats --app ID --days N [--csv]`: an app's daily statistics (UTC days, ending
today) with each day's change from the day before, as a table or CSV, read from the store of
the data dir named by TIDINGS_DATA_DIR (or the configured cluster), as the admin API does
(services/common/store/stats_report.py)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from services.common.config import get_settings
from services.common.store.factory import open_stores
from services.common.store.stats_report import (
    FIGURES,
    MAX_DAYS,
    DayReport,
    check_days,
    daily_report,
    to_csv,
)


def _cell(value: float | None, delta: float | None) -> str:
    if value is None:
        return ""
    if not delta:
        return str(value)
    return f"{value} ({'+' if delta > 0 else ''}{delta})"


def stats_table(reports: list[DayReport]) -> Table:
    """One row per figure and one column per day: a week fits a terminal's width."""
    table = Table(title="daily statistics (UTC days; in brackets: change from the day before)")
    table.add_column("figure", no_wrap=True)
    for r in reports:
        table.add_column(r.figures.day, justify="right")
    for figure in FIGURES:
        table.add_row(
            figure,
            *(_cell(getattr(r.figures, figure), r.change[figure].delta) for r in reports),
        )
    return table


async def _report(app_id: int, days: int) -> list[DayReport]:
    stores = open_stores(get_settings())
    try:
        if await stores.apps.get_app(app_id) is None:
            raise typer.BadParameter(f"no app {app_id}")
        return await daily_report(stores.stats, app_id, days)
    finally:
        await stores.close()


def stats_cmd(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    days: int = typer.Option(7, "--days", help=f"days ending today, 1..{MAX_DAYS}"),
    csv: bool = typer.Option(False, "--csv", help="CSV on stdout instead of a table"),
) -> None:
    """An app's daily statistics: users, messages, groups, pushes and callbacks."""
    try:
        check_days(days)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    reports = asyncio.run(_report(app_id, days))
    if csv:
        typer.echo(to_csv(reports), nl=False)
    else:
        Console().print(stats_table(reports))
