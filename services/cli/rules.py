"""`tidings rules show|add|replace|delete`: an app's Easemob-style callback rules, with the same
rules as the admin API (callback_rules.py), against the data dir named by TIDINGS_DATA_DIR. A
rule is given as JSON, with the admin API's fields. A change applies when the services read the
app record again (the callback service within a second)."""

from __future__ import annotations

import asyncio
import json

import typer

from services.cli.callbacks import _apply
from services.common import callback_rules
from services.common.callback_rules import POST_SEND, PRE_SEND, RuleKind
from services.common.store.ports import App

rules_cli = typer.Typer(
    help="Easemob-style pre-send and post-send rules of an app.", no_args_is_help=True
)

KIND_HELP = "pre-send or post-send"


def _kind(raw: str) -> RuleKind:
    if raw == PRE_SEND:
        return PRE_SEND
    if raw == POST_SEND:
        return POST_SEND
    raise typer.BadParameter(f"--kind must be {KIND_HELP}")


def _action(kind: RuleKind, verb: str) -> str:
    """The audit action, named as the admin API names it: rules.pre_send.create."""
    return f"rules.{kind.replace('-', '_')}.{verb}"


def _rule_json(raw: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise typer.BadParameter(f"--rule is not JSON: {err}") from None


@rules_cli.command("show")
def rules_show(app_id: int = typer.Option(..., "--app")) -> None:
    """Print the app's rules as JSON."""
    typer.echo(
        json.dumps(asyncio.run(_apply(app_id, lambda app, _: callback_rules.rules_of(app).doc())))
    )


@rules_cli.command("add")
def rules_add(
    app_id: int = typer.Option(..., "--app"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    rule: str = typer.Option(..., "--rule", help="the rule as JSON"),
) -> None:
    """Add a rule (at most 4 of each kind); prints it, with its secret."""
    kind_, raw = _kind(kind), _rule_json(rule)

    def change(app: App, allow_private: bool) -> dict[str, object]:
        return callback_rules.add_rule(app, kind_, raw, allow_private).doc()

    name = str(raw.get("name", "")) if isinstance(raw, dict) else ""
    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, _action(kind_, "create"), name))))


@rules_cli.command("replace")
def rules_replace(
    app_id: int = typer.Option(..., "--app"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name: str = typer.Option(..., "--name", help="the rule to replace"),
    rule: str = typer.Option(..., "--rule", help="the new rule as JSON (no secret: kept)"),
) -> None:
    """Replace a rule in place."""
    kind_, raw = _kind(kind), _rule_json(rule)

    def change(app: App, allow_private: bool) -> dict[str, object]:
        return callback_rules.replace_rule(app, kind_, name, raw, allow_private).doc()

    typer.echo(json.dumps(asyncio.run(_apply(app_id, change, _action(kind_, "replace"), name))))


@rules_cli.command("delete")
def rules_delete(
    app_id: int = typer.Option(..., "--app"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name: str = typer.Option(..., "--name"),
) -> None:
    """Delete a rule."""
    kind_ = _kind(kind)

    def change(app: App, _: bool) -> None:
        callback_rules.delete_rule(app, kind_, name)

    asyncio.run(_apply(app_id, change, _action(kind_, "delete"), name))
    typer.echo(json.dumps({"deleted": name}))
