"""`tidings push credentials|templates`: an app's push vendor credentials and push templates,
with the same checks as the admin API (push_config.py), against the data dir named by
TIDINGS_DATA_DIR. Credentials are printed redacted only. A change applies when the services
read the app record again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from services.cli.callbacks import _apply
from services.common import push_config
from services.common.store.ports import App
from services.common.store.push_devices import VENDORS

push_cli = typer.Typer(help="Offline push: vendor credentials and templates.", no_args_is_help=True)
credentials_cli = typer.Typer(help="An app's push vendor credentials.", no_args_is_help=True)
templates_cli = typer.Typer(help="An app's push templates (Easemob's).", no_args_is_help=True)
push_cli.add_typer(credentials_cli, name="credentials")
push_cli.add_typer(templates_cli, name="templates")

VENDOR_HELP = ", ".join(VENDORS)


def _read_credentials(path: Path) -> str:
    """The file's text, read no further than the largest credentials taken."""
    try:
        with path.open(encoding="utf-8") as file:
            text = file.read(push_config.MAX_SERVICE_ACCOUNT_CHARS + 1)
    except (OSError, UnicodeDecodeError) as err:
        raise typer.BadParameter(f"cannot read {path}: {err}") from None
    return text


@credentials_cli.command("set")
def credentials_set(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    vendor: str = typer.Argument(..., help=VENDOR_HELP),
    file: Path = typer.Option(  # noqa: B008
        ...,
        "--file",
        help="the vendor's fields as a JSON object (fcm: the service-account key file)",
    ),
    sandbox: bool = typer.Option(
        False, "--sandbox", help="APNs' sandbox endpoint; vivo's test pushes"
    ),
) -> None:
    """Set a vendor's credentials (checked first); prints them redacted."""
    raw = _read_credentials(file)

    def change(app: App, _: bool) -> dict[str, object]:
        return push_config.set_credentials(app, vendor, raw, sandbox)

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "push.credentials.set", vendor))))


@credentials_cli.command("show")
def credentials_show(app_id: int = typer.Option(..., "--app", help="the app's SDKAppID")) -> None:
    """Print every vendor's credentials of the app, redacted."""

    def show(app: App, _: bool) -> dict[str, object]:
        return dict(push_config.credentials_view(app))

    typer.echo(json.dumps(asyncio.run(_apply(app_id, show))))


@credentials_cli.command("remove")
def credentials_remove(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    vendor: str = typer.Argument(..., help=VENDOR_HELP),
) -> None:
    """Remove a vendor's credentials."""

    def change(app: App, _: bool) -> None:
        push_config.delete_credentials(app, vendor)

    asyncio.run(_apply(app_id, change, "push.credentials.delete", vendor))
    typer.echo(json.dumps({"removed": vendor}))


@templates_cli.command("set")
def templates_set(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    name: str = typer.Argument(..., help="1 to 64 letters and digits; 'default' applies alone"),
    title: list[str] = typer.Option(  # noqa: B008
        ..., "--title", help="a piece of the title; repeat for more, joined in order"
    ),
    content: list[str] = typer.Option(  # noqa: B008
        ..., "--content", help="a piece of the content; repeat for more"
    ),
) -> None:
    """Create or replace a template; prints it."""

    def change(app: App, _: bool) -> dict[str, object]:
        return push_config.set_template(app, name, list(title), list(content))

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "push.templates.set", name))))


@templates_cli.command("list")
def templates_list(app_id: int = typer.Option(..., "--app", help="the app's SDKAppID")) -> None:
    """Print the app's templates as JSON."""

    def show(app: App, _: bool) -> dict[str, object]:
        return {"templates": push_config.templates_view(app)}

    typer.echo(json.dumps(asyncio.run(_apply(app_id, show))))


@templates_cli.command("remove")
def templates_remove(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    name: str = typer.Argument(...),
) -> None:
    """Delete a template."""

    def change(app: App, _: bool) -> None:
        push_config.delete_template(app, name)

    asyncio.run(_apply(app_id, change, "push.templates.delete", name))
    typer.echo(json.dumps({"removed": name}))
