"""`tidings callback set|show|deliveries|dlq` and `tidings replay-dlq`: the same rules, delivery
log, DLQ listing and replay as the admin API (callback_config.py, callback_log.py,
callback_replay.py), against the data dir and Kafka named by TIDINGS_* variables."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable

import typer

from services.cli import audit_log
from services.cli.events import parse_range
from services.common import admin_audit, callback_config, callback_replay
from services.common.callback_log import (
    DeliveryPage,
    DeliverySearch,
    check_search,
    search_deliveries,
)
from services.common.callback_replay import ReplayResult, replay_dlq
from services.common.config import get_settings
from services.common.config_versions import bump_if_reachable
from services.common.dlq_replay import replay_topic
from services.common.logging import setup_logging
from services.common.store.factory import open_stores
from services.common.store.ports import App
from services.common.store.trace_log import DEFAULT_PAGE, MAX_PAGE

callback_cli = typer.Typer(
    help="Tencent-style callbacks of an app: URL, token, commands.", no_args_is_help=True
)


async def _apply(
    app_id: int,
    change: Callable[[App, bool], dict[str, object] | None],
    action: str | None = None,
    resource: str = "",
) -> dict[str, object] | None:
    """Run `change` on the app (with the SSRF setting) and save the app if it changed it. A
    command that changes something names its `action`: it makes one admin audit entry."""
    settings = get_settings()
    stores = open_stores(settings)
    try:
        app = await stores.apps.get_app(app_id)
        if app is None:
            raise typer.BadParameter(f"no app {app_id}")
        before = admin_audit.snapshot(app)
        try:
            result = change(app, settings.callback_allow_private)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        if app.settings != before.settings:
            await stores.apps.save_app(app)
            await bump_if_reachable(settings.redis_url, app_id)
        if action is not None:
            await audit_log.record_app_change(stores, action, before, app, resource)
        return result
    finally:
        await stores.close()


@callback_cli.command("set")
def callback_set(
    app_id: int = typer.Option(..., "--app"),
    url: str | None = typer.Option(None, "--url", help="the app server's callback URL"),
    token: str | None = typer.Option(None, "--token", help="auth token: Sign=sha256(token+time)"),
    enable: str | None = typer.Option(
        None, "--enable", help="'all', or CallbackCommand names, comma-separated"
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="before-callback timeout in seconds (default 2)"
    ),
    fail: str | None = typer.Option(
        None, "--fail", help="when a before-callback fails: open (let through) or closed"
    ),
    c2c_fail: str | None = typer.Option(
        None,
        "--c2c-msg-fail",
        help="when the before-C2C-message callback fails: open, closed, or default (as --fail)",
    ),
    group_fail: str | None = typer.Option(
        None,
        "--group-msg-fail",
        help="when the before-group-message callback fails: open, closed, or default (as --fail)",
    ),
) -> None:
    """Set an app's callbacks; options left out keep their value. Applies within a second."""

    def change(app: App, allow_private: bool) -> dict[str, object]:
        return callback_config.update(
            app,
            allow_private,
            url=url,
            token=token,
            commands=enable,
            timeout_s=timeout,
            fail_policy=fail,
            c2c_msg_fail_policy=c2c_fail,
            group_msg_fail_policy=group_fail,
        ).doc()

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "callback.update"))))


@callback_cli.command("show")
def callback_show(app_id: int = typer.Option(..., "--app")) -> None:
    """Print an app's callback configuration as JSON (null when it has none)."""
    typer.echo(json.dumps(asyncio.run(_apply(app_id, lambda app, _: callback_config.view(app)))))


async def _deliveries(search: DeliverySearch) -> DeliveryPage:
    stores = open_stores(get_settings())
    try:
        if await stores.apps.get_app(search.sdkappid) is None:
            raise typer.BadParameter(f"no app {search.sdkappid}")
        return await search_deliveries(stores.trace_log, search)
    finally:
        await stores.close()


@callback_cli.command("deliveries")
def callback_deliveries(
    app_id: int = typer.Option(..., "--app"),
    since: str = typer.Option(
        "1d", "--since", help="start: a span ago (90m, 6h, 3d), Unix ms or ISO-8601; at most 7d"
    ),
    until: str | None = typer.Option(None, "--until", help="end, as --since; default now"),
    command: str = typer.Option("", "--command", help="one CallbackCommand"),
    outcome: str = typer.Option("", "--outcome", help="ok or failed"),
    limit: int = typer.Option(DEFAULT_PAGE, "--limit", help=f"at most {MAX_PAGE}"),
    cursor: str = typer.Option("", "--cursor", help="the next_cursor a previous page printed"),
) -> None:
    """Print an app's callback delivery log (one item per HTTP try, newest first) as JSON."""
    now = int(time.time() * 1000)
    try:
        search = check_search(
            app_id,
            *parse_range(since, until, now),
            now,
            command=command,
            outcome=outcome,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as err:  # TraceQueryError is one
        raise typer.BadParameter(str(err)) from None
    page = asyncio.run(_deliveries(search))
    doc = {
        "deliveries": [dataclasses.asdict(d) for d in page.deliveries],
        "next_cursor": page.next_cursor,
    }
    typer.echo(json.dumps(doc))


async def _replay_letter(app_id: int, letter: str) -> dict[str, object]:
    settings = get_settings()
    d = await callback_replay.replay_letter(settings, app_id, letter)
    if d is None:
        raise typer.BadParameter(f"app {app_id} has no dead letter {letter}")
    stores = open_stores(settings)
    try:
        await audit_log.record(
            stores,
            "callback.dlq.replay_one",
            app_id,
            letter,
            after={"replayed": 1, "event_id": d.event_id},
        )
    finally:
        await stores.close()
    return {"sdkappid": app_id, "id": letter, "event_id": d.event_id}


@callback_cli.command("dlq")
def callback_dlq(
    app_id: int = typer.Option(..., "--app"),
    limit: int = typer.Option(
        callback_replay.DEFAULT_LIST, "--limit", help=f"at most {callback_replay.MAX_LIST}"
    ),
    replay: str | None = typer.Option(
        None, "--replay", help="put this dead letter (<partition>:<offset>) back on the retry topic"
    ),
) -> None:
    """List an app's dead-lettered after-callbacks (what `tidings replay-dlq --app` would put
    back, oldest first) as JSON, or replay one of them by its id. Needs
    TIDINGS_KAFKA_BOOTSTRAP."""
    setup_logging("tidings-cli", "console", "warning")
    try:
        if replay is not None:
            callback_replay.parse_letter_id(replay)
            typer.echo(json.dumps(asyncio.run(_replay_letter(app_id, replay))))
            return
        listing = asyncio.run(callback_replay.list_dlq(get_settings(), app_id, limit))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    doc = {
        "sdkappid": app_id,
        "letters": [callback_replay.letter_doc(x) for x in listing.letters],
        "scanned": listing.scanned,
        "complete": listing.complete,
    }
    typer.echo(json.dumps(doc))


async def _replay_app(app_id: int) -> ReplayResult:
    """An app's replay, and its admin audit entry (a topic's replay is no app's change)."""
    settings = get_settings()
    result = await replay_dlq(settings, app_id)
    stores = open_stores(settings)
    try:
        await audit_log.record(
            stores, "callback.dlq.replay", app_id, after={"replayed": result.replayed}
        )
    finally:
        await stores.close()
    return result


def replay_dlq_cmd(
    topic: str | None = typer.Option(
        None, "--topic", help="put <topic>.dlq's poison records back on <topic>"
    ),
    app_id: int | None = typer.Option(
        None, "--app", help="put this app's dead-lettered after-callbacks back on the retry topic"
    ),
) -> None:
    """Replay a dead-letter topic (needs TIDINGS_KAFKA_BOOTSTRAP). With --topic T: the records
    of T.dlq go back on T, as they were (fix what made them poison first). With --app: that
    app's dead-lettered after-callbacks go back on im.callbacks.retry, and the callback service
    posts them again."""
    if (topic is None) == (app_id is None):
        raise typer.BadParameter("give exactly one of --topic or --app")
    # stdout carries the JSON result only; warnings go to stderr.
    setup_logging("tidings-cli", "console", "warning")
    settings = get_settings()
    try:
        if topic is not None:
            replayed = asyncio.run(replay_topic(settings, topic))
            typer.echo(json.dumps(dataclasses.asdict(replayed)))
        else:
            result = asyncio.run(_replay_app(app_id or 0))
            typer.echo(json.dumps(dataclasses.asdict(result)))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
