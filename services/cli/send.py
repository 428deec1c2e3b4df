"""`tidings send`: a text message as any user (REST sendmsg / send_group_msg with
From_Account) or as the admin identifier (--as-admin), through the running stack, so the send
goes through every rule and callback an app server's send does. Prints the reply's MsgKey,
MsgSeq and MsgTime as JSON."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import typer

from services.cli.rest_v4 import RestClient, StackUnavailable, Target, resolve_target


def send_body(text: str, sender: str | None, to: str | None, group: str | None) -> dict[str, Any]:
    """The sendmsg or send_group_msg body; no sender: the admin identifier sends."""
    body: dict[str, Any] = {
        "MsgRandom": secrets.randbelow(2**32),
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    }
    if group is not None:
        body["GroupId"] = group
        body["Random"] = body.pop("MsgRandom")
    else:
        body["To_Account"] = to
        # 1: the sender's other devices and roaming get it too, as for a client's own send.
        body["SyncOtherMachine"] = 1 if sender is not None else 2
    if sender is not None:
        body["From_Account"] = sender
    return body


async def _send(target: Target, group: str | None, body: dict[str, Any]) -> dict[str, Any]:
    client = RestClient(target)
    try:
        if group is not None:
            return await client.call("group_open_http_svc", "send_group_msg", body)
        return await client.call("openim", "sendmsg", body)
    finally:
        await client.close()


def send_cmd(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    sender: str | None = typer.Option(None, "--from", help="the sending UserID"),
    to: str | None = typer.Option(None, "--to", help="a C2C message to this UserID"),
    group: str | None = typer.Option(None, "--group", help="a group message to this GroupId"),
    text: str = typer.Option(..., "--text", help="the text (one TIMTextElem)"),
    as_admin: bool = typer.Option(False, "--as-admin", help="send as the admin identifier"),
    url: str | None = typer.Option(None, "--url", help="REST base URL (default: demo-app.json)"),
    key: str | None = typer.Option(None, "--key", help="the app's key (default: the data dir)"),
) -> None:
    """Send a text message as a user or as the admin; prints MsgKey, MsgSeq and MsgTime."""
    if (to is None) == (group is None):
        raise typer.BadParameter("give exactly one of --to and --group")
    if as_admin == (sender is not None):
        raise typer.BadParameter("give exactly one of --from and --as-admin")
    target = resolve_target(app_id, url, key)
    body = send_body(text, sender, to, group)
    try:
        reply = asyncio.run(_send(target, group, body))
    except StackUnavailable as exc:
        typer.echo(f"the stack did not answer: {exc}", err=True)
        raise typer.Exit(3) from None
    if reply.get("ErrorCode"):
        typer.echo(f"ErrorCode {reply['ErrorCode']}: {reply.get('ErrorInfo', '')}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({k: reply[k] for k in ("MsgKey", "MsgSeq", "MsgTime") if k in reply}))
