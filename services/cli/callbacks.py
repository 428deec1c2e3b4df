"""`tidings callback set|show` and `tidings replay-dlq`: the same rules and replay as the admin
API (callback_config.py, callback_replay.py), against the data dir and Kafka named by TIDINGS_*
variables."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable

import typer

from services.cli import audit_log
from services.common import admin_audit, callback_config
from services.common.callback_replay import ReplayResult, replay_dlq
from services.common.config import get_settings
from services.common.config_versions import bump_if_reachable
from services.common.dlq_replay import replay_topic
from services.common.logging import setup_logging
from services.common.store.factory import open_stores
from services.common.store.ports import App

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
        ).doc()

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "callback.update"))))


@callback_cli.command("show")
def callback_show(app_id: int = typer.Option(..., "--app")) -> None:
    """Print an app's callback configuration as JSON (null when it has none)."""
    typer.echo(json.dumps(asyncio.run(_apply(app_id, lambda app, _: callback_config.view(app)))))


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
