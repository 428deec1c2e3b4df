"""The `tidings` command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from services.cli import audit_log
from services.cli.callbacks import callback_cli, replay_dlq_cmd
from services.cli.console import console_cli
from services.cli.custom_fields import custom_fields_cli
from services.cli.events import events_cmd
from services.cli.importer import import_cmd
from services.cli.push import push_cli
from services.cli.rules import rules_cli
from services.cli.send import send_cmd
from services.cli.stats import stats_cmd
from services.cli.tail import tail_cmd
from services.cli.topics_cmd import topics_cli
from services.common import admin_audit, app_settings, apps, messaging_settings, usersig
from services.common.config import get_settings
from services.common.config_versions import bump_if_reachable
from services.common.store.factory import open_stores
from services.common.store.ports import App, Stores
from services.embedded.stack import Stack, preferred_port

T = TypeVar("T")

cli = typer.Typer(help="Tidings: a self-hosted instant-messaging cloud.", no_args_is_help=True)
app_cli = typer.Typer(help="Apps: create, list, rotate keys.", no_args_is_help=True)
cli.add_typer(app_cli, name="app")
app_cli.add_typer(custom_fields_cli, name="custom-fields")
cli.add_typer(callback_cli, name="callback")
cli.add_typer(rules_cli, name="rules")
cli.add_typer(push_cli, name="push")
cli.add_typer(console_cli, name="console")
cli.command("replay-dlq")(replay_dlq_cmd)
cli.command("events")(events_cmd)
cli.command("stats")(stats_cmd)
cli.command("audit-log")(audit_log.audit_log_cmd)
cli.command("import")(import_cmd)
cli.command("send")(send_cmd)
cli.command("tail")(tail_cmd)
cli.add_typer(topics_cli, name="topics")
console = Console()


def _with_stores(fn: Callable[[Stores], Awaitable[T]]) -> T:
    async def run() -> T:
        stores = open_stores(get_settings())
        try:
            return await fn(stores)
        finally:
            await stores.close()

    return asyncio.run(run())


async def _save(stores: Stores, app: App, before: App, action: str) -> None:
    """Write a changed app (`before`: as it was loaded) and its admin audit entry."""
    await stores.apps.save_app(app)
    await audit_log.record_app_change(stores, action, before, app)
    await bump_if_reachable(get_settings().redis_url, app.sdkappid)


@cli.command()
def up(
    http_port: int = typer.Option(8080, help="REST, admin API and console (a free port if taken)"),
    ws_port: int = typer.Option(8081, help="client WebSocket (a free port if taken)"),
) -> None:
    """Start the whole stack embedded, print the URLs, and run until Ctrl-C."""
    settings = get_settings()
    stack = Stack(
        data_dir=settings.data_dir,
        kafka_bootstrap=settings.kafka_bootstrap,
        redis_url=settings.redis_url,
        http_port=preferred_port(http_port),
        ws_port=preferred_port(ws_port),
        partitions=int(os.environ.get("TIDINGS_KAFKA_PARTITIONS", "2")),
        admin_token=settings.admin_token,
        # One gateway process per core, sharing the client ports (TIDINGS_GATEWAY_WORKERS
        # overrides it).
        gateway_workers=int(os.environ.get("TIDINGS_GATEWAY_WORKERS", 0)) or os.cpu_count() or 1,
    )
    started = time.monotonic()
    with console.status("starting broker, valkey and the five services..."):
        stack.start()
    console.print(f"[bold green]Tidings is up[/] in {time.monotonic() - started:.1f}s")
    console.print(f"  REST v4    {stack.rest_url}/v4/<service>/<command>")
    console.print(f"  WebSocket  {stack.ws_url}")
    console.print(f"  OpenAPI    {stack.rest_url}/openapi.json")
    console.print(f"  Admin API  {stack.rest_url}/admin  (bearer admin_token in demo-app.json)")
    console.print(f"  Kafka      {stack.kafka_bootstrap}")
    console.print(f"  Redis      {stack.redis_url}")
    for name, ports in stack.ports.items():
        if ports.workers > 1:
            console.print(
                f"  {name:<9}  {ports.workers} workers: grpc :{ports.grpc}-{ports.grpc_ports[-1]}"
                f"  metrics http://127.0.0.1:{ports.metrics}-{ports.metrics_ports[-1]}/metrics"
            )
            continue
        console.print(
            f"  {name:<9}  grpc :{ports.grpc}  metrics http://127.0.0.1:{ports.metrics}/metrics"
        )
    console.print(
        f"  demo app   {settings.data_dir / 'demo-app.json'}  (SDKAppID {stack.demo['sdkappid']})"
    )
    console.print(f"  logs       {stack.log_dir}")
    console.print("Ctrl-C drains and stops.")
    stopping = asyncio.Event()

    def on_signal(*_: object) -> None:
        stopping.set()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        while not stopping.is_set():
            await asyncio.sleep(0.5)
            for name, child in stack.children.items():
                if not child.alive:
                    console.print(f"[red]{name} exited[/]; see {stack.log_dir / (name + '.log')}")
                    stopping.set()

    try:
        asyncio.run(wait())
    finally:
        with console.status("draining and stopping..."):
            stack.stop()
        console.print("stopped")


@app_cli.command("create")
def app_create(
    name: str = typer.Option(..., "--name"),
    edition: str = typer.Option("Developer", "--edition"),
) -> None:
    """Create an app; prints {sdkappid, key, admin_identifier} as JSON."""

    async def create(stores: Stores) -> App:
        app = await apps.create_app(stores.apps, name, edition)
        await audit_log.record(stores, "app.create", app.sdkappid, after=admin_audit.app_state(app))
        return app

    app = _with_stores(create)
    typer.echo(
        json.dumps(
            {
                "sdkappid": app.sdkappid,
                "key": apps.current_key(app),
                "admin_identifier": "administrator",
                "edition": app.edition,
            }
        )
    )


@app_cli.command("list")
def app_list() -> None:
    """List apps as JSON lines."""
    for app in _with_stores(lambda s: s.apps.list_apps()):
        typer.echo(json.dumps({"sdkappid": app.sdkappid, "name": app.name, "edition": app.edition}))


@app_cli.command("rotate-key")
def app_rotate_key(
    app_id: int = typer.Option(..., "--app"),
    grace: int = typer.Option(86400, "--grace", help="seconds the old key keeps verifying"),
) -> None:
    """Make a new key; the old one stays valid for the grace period."""

    async def rotate(stores: Stores) -> str:
        app = await stores.apps.get_app(app_id)
        if app is None:
            raise typer.BadParameter(f"no app {app_id}")
        before = admin_audit.snapshot(app)
        key = apps.rotate_key(app, grace)
        await _save(stores, app, before, "app.key.rotate")
        return key

    typer.echo(json.dumps({"sdkappid": app_id, "key": _with_stores(rotate), "grace_s": grace}))


@app_cli.command("settings")
def app_settings_cmd(
    app_id: int = typer.Option(..., "--app"),
    whitelist: str | None = typer.Option(
        None, "--whitelist", help="IPs or CIDRs, comma-separated, at most 8; '' allows all"
    ),
    rate: list[str] = typer.Option(  # noqa: B008
        [], "--rate", help="service/command=LIMIT/SECONDS, e.g. openim/sendmsg=500/1; repeatable"
    ),
    admins: str | None = typer.Option(
        None, "--admins", help="admin identifiers besides administrator, comma-separated"
    ),
) -> None:
    """Show an app's REST settings, or change them (a gateway sees the change within 5 s)."""

    async def update(stores: Stores) -> dict[str, object]:
        app = await stores.apps.get_app(app_id)
        if app is None:
            raise typer.BadParameter(f"no app {app_id}")
        if whitelist is None and not rate and admins is None:
            return app_settings.view(app)
        before = admin_audit.snapshot(app)
        try:
            rates = dict(app_settings.parse_rate_arg(r) for r in rate)
            app_settings.apply(
                app,
                rate_limits={
                    **{k: v.doc() for k, v in app_settings.rate_limits_of(app).items()},
                    **{k: v.doc() for k, v in rates.items()},
                }
                if rates
                else None,
                ip_whitelist=None if whitelist is None else _split(whitelist),
                admins=None if admins is None else _split(admins),
            )
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        await _save(stores, app, before, "app.settings.update")
        return app_settings.view(app)

    typer.echo(json.dumps(_with_stores(update)))


@app_cli.command("messaging")
def app_messaging_cmd(
    app_id: int = typer.Option(..., "--app"),
    set_: list[str] = typer.Option(  # noqa: B008
        [], "--set", help='KEY=VALUE, VALUE as JSON: recall_window_s=300, login={"mode":2}'
    ),
    unset: list[str] = typer.Option([], "--unset", help="KEY: back to its default"),  # noqa: B008
) -> None:
    """Show an app's messaging settings, or change them (services see it within seconds)."""
    changes: dict[str, object] = {key: None for key in unset}
    for item in set_:
        key, sep, raw = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE")
        try:
            changes[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key.strip()] = raw

    async def update(stores: Stores) -> dict[str, object]:
        app = await stores.apps.get_app(app_id)
        if app is None:
            raise typer.BadParameter(f"no app {app_id}")
        if changes:
            before = admin_audit.snapshot(app)
            try:
                messaging_settings.apply(app, changes, int(time.time()))
            except messaging_settings.InvalidSetting as err:
                raise typer.BadParameter(str(err)) from None
            await _save(stores, app, before, "messaging.update")
        return messaging_settings.view(app, int(time.time()))

    typer.echo(json.dumps(_with_stores(update)))


def _split(values: str) -> list[str]:
    return [v.strip() for v in values.split(",") if v.strip()]


@cli.command("usersig")
def usersig_cmd(
    app_id: int = typer.Option(..., "--app"),
    user: str = typer.Option(..., "--user"),
    expire: int = typer.Option(usersig.DEFAULT_EXPIRE_S, "--expire"),
) -> None:
    """Print a UserSig for a user of an app, signed with its current key."""

    async def issue(stores: Stores) -> str:
        app = await stores.apps.get_app(app_id)
        if app is None:
            raise typer.BadParameter(f"no app {app_id}")
        sig = usersig.sign(app_id, apps.current_key(app), user, expire)
        await audit_log.record(
            stores, "app.usersig.issue", app_id, after={"user": user, "expire": expire}
        )
        return sig

    typer.echo(_with_stores(issue))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
