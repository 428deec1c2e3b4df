"""`tidings app custom-fields list|add|set`: an app's declared custom fields, with the same
rules as the admin API (services/common/custom_fields.py), against the data dir named by
TIDINGS_DATA_DIR. A change applies when the services read the app record again."""

from __future__ import annotations

import asyncio
import json

import typer

from services.cli.callbacks import _apply
from services.common import custom_fields
from services.common.store.ports import App

custom_fields_cli = typer.Typer(
    help="Custom profile, friend, group and group-member fields of an app.", no_args_is_help=True
)

KIND_HELP = "profile, friend, group or member"
SPEC_HELP = (
    'permissions as JSON: profile {"app_read": true, ...}; group and member '
    '{"types": {"Public": {"read": "member", "write": "admin", "self": "read_write"}}}'
)


def _spec(raw: str) -> dict[str, object]:
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as err:
        raise typer.BadParameter(f"--spec is not JSON: {err}") from None
    if not isinstance(spec, dict):
        raise typer.BadParameter("--spec must be a JSON object")
    return spec


@custom_fields_cli.command("list")
def custom_fields_list(app_id: int = typer.Option(..., "--app")) -> None:
    """Print the app's declared fields of every kind as JSON."""
    typer.echo(
        json.dumps(asyncio.run(_apply(app_id, lambda app, _: custom_fields.view(app.settings))))
    )


@custom_fields_cli.command("add")
def custom_fields_add(
    app_id: int = typer.Option(..., "--app"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name: str = typer.Option(..., "--name", help="the name, without Tag_..._Custom_"),
    type_: str = typer.Option("string", "--type", help="string, or integer (profile, friend)"),
    spec: str = typer.Option("{}", "--spec", help=SPEC_HELP),
) -> None:
    """Declare a field; it can never be deleted, renamed or retyped."""
    raw = {**_spec(spec), "name": name, "type": type_}

    def change(app: App, _: bool) -> dict[str, object]:
        return custom_fields.add_field(app.settings, kind, raw).doc()

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "custom_fields.create", name))))


@custom_fields_cli.command("set")
def custom_fields_set(
    app_id: int = typer.Option(..., "--app"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name: str = typer.Option(..., "--name"),
    spec: str = typer.Option(..., "--spec", help=SPEC_HELP),
) -> None:
    """Change a field's permissions, or add group types to a group or member field."""
    raw = _spec(spec)

    def change(app: App, _: bool) -> dict[str, object]:
        return custom_fields.update_field(app.settings, kind, name, raw).doc()

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, "custom_fields.update", name))))
