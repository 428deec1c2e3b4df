"""`tidings console passwd --user U`: set a web console account's password (a random one unless
--password is given), or make a root account of that name when there is none. The account's
sessions end (they keep the old password's fingerprint). When demo-app.json names the account,
it gets the new password too. Recorded in the admin audit log (its actor: the OS user)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import typer

from services.cli import audit_log
from services.common.config import get_settings
from services.common.store.console_accounts import ConsoleAccount, hash_password
from services.common.store.factory import open_stores
from services.embedded.stack import demo_file

console_cli = typer.Typer(help="Web console accounts.", no_args_is_help=True)
MIN_PASSWORD = 8


async def set_password(user: str, password: str) -> bool:
    """Sets the password; True when it made a new root account."""
    stores = open_stores(get_settings())
    try:
        now = int(time.time() * 1000)
        password_hash = await asyncio.to_thread(hash_password, password)
        account = await stores.console_accounts.get(user)
        created = account is None
        if account is None:
            account = ConsoleAccount(user, password_hash, True, [], now, now)
            if not await stores.console_accounts.create(account):
                raise typer.BadParameter(f"console account {user!r} was just created: try again")
        else:
            account.password_hash, account.updated_ms = password_hash, now
            await stores.console_accounts.save(account)
        action = "subaccount.create" if created else "subaccount.password"
        await audit_log.record(stores, action, 0, user, None, {"root": account.root})
        return created
    finally:
        await stores.close()


@console_cli.command("passwd")
def passwd_cmd(
    user: str = typer.Option(..., "--user", help="the console username"),
    password: str | None = typer.Option(
        None, "--password", help=f"the new password, {MIN_PASSWORD}+ characters (else random)"
    ),
) -> None:
    """Set a console account's password; make it a root account if it does not exist."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise typer.BadParameter(f"a password has at least {MIN_PASSWORD} characters")
    new = password or secrets.token_urlsafe(12)
    created = asyncio.run(set_password(user, new))
    path = demo_file(get_settings().data_dir)
    doc = json.loads(path.read_text()) if path.exists() else None
    if isinstance(doc, dict) and doc.get("console_user") == user:
        doc["console_password"] = new
        path.write_text(json.dumps(doc, indent=2))
    typer.echo(f"{'created root' if created else 'updated'} console account {user}")
    if password is None:
        typer.echo(f"password: {new}")
