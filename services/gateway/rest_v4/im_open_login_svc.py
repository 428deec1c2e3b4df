"""im_open_login_svc: accounts (import, delete, check) and kick."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import grpc

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.store.ports import Account
from services.gateway import profiles
from services.gateway.events import emit_rest
from services.gateway.kicks import kick_connections
from services.gateway.quotas import quota_for
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext, RestDeps

log = get_logger(__name__)

BAD = ErrorCode.ACCOUNT_INVALID_PARAM
MAX_BATCH = 100
# Tencent's ResultInfo for an account that does not exist (account_delete's example reply).
NOT_EXIST_INFO = "Err_TLS_PT_Open_Login_Account_Not_Exist"
# An admin kick invalidates the login state: Tencent's SDK reports it as an expired UserSig.
KICK_INFO = "login state invalidated by the app admin; log in again with a new UserSig"


async def existing_users(ctx: RestContext, user_ids: Sequence[str]) -> set[str]:
    """Imported accounts, plus the app's admin accounts, which Tencent creates in the console
    and which exist without an import."""
    found = await ctx.deps.stores.directory.get_accounts(ctx.app.sdkappid, user_ids)
    return set(found) | {u for u in user_ids if ctx.deps.auth.is_admin(ctx.app, u)}


async def _import(ctx: RestContext, entries: Sequence[profiles.ImportEntry]) -> None:
    directory = ctx.deps.stores.directory
    sdkappid = ctx.app.sdkappid
    existing = await directory.get_accounts(sdkappid, [e.user_id for e in entries])
    new = sum(1 for e in entries if e.user_id not in existing)
    limit = quota_for(ctx.app.edition).accounts
    # A batch that would cross the quota imports nothing: an all-or-nothing answer is easier
    # to retry than a partial one.
    if new and limit is not None and await directory.count_accounts(sdkappid) + new > limit:
        raise TidingsError(
            ErrorCode.ACCOUNT_LIMIT, f"the {ctx.app.edition} edition allows {limit} accounts"
        )
    accounts: list[Account] = []
    for e in entries:
        old = existing.get(e.user_id, Account(e.user_id))
        if e.user_id in existing and e.nick is None and e.face_url is None:
            continue
        # Re-importing updates only the profile fields given (Tencent: "updated with the new
        # parameters provided").
        nick = old.nick if e.nick is None else e.nick
        face_url = old.face_url if e.face_url is None else e.face_url
        accounts.append(Account(e.user_id, nick, face_url))
    await directory.upsert_accounts(sdkappid, accounts)
    # Gateways cache whether an account exists, "no" included: tell them it does now.
    imported = [e.user_id for e in entries if e.user_id not in existing]
    if imported:
        await emit_rest(
            ctx, events.ACCOUNTS_IMPORTED, imported[0], {"Accounts": events.accounts(imported)}
        )


async def account_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    await _import(ctx, [profiles.import_entry(body, BAD)])
    return {}


async def multiaccount_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    request = profiles.multi_import(body, MAX_BATCH, BAD)
    await _import(ctx, request.entries)
    return {"FailAccounts": request.rejected}


async def kick_sessions(
    deps: RestDeps, sdkappid: int, user: str, code: ErrorCode, reason: str
) -> int:
    """Close every connection of the user, one Kick per gateway node holding one."""
    (sessions,) = await deps.sessions.lookup([(sdkappid, user)])
    return await kick_connections(deps.channels, sdkappid, user, sessions, int(code), reason)


async def kick(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = profiles.user_id(fields.raw(body, "UserID", "Identifier"), "UserID", BAD)
    if user not in await existing_users(ctx, [user]):
        raise TidingsError(ErrorCode.ACCOUNT_NOT_IMPORTED, f"UserID {user!r} does not exist")
    try:
        await kick_sessions(ctx.deps, ctx.app.sdkappid, user, ErrorCode.SIG_EXPIRED, KICK_INFO)
    except grpc.RpcError as exc:
        log.warning("kick failed", user=user, error=str(exc))
        raise TidingsError(
            ErrorCode.ACCOUNT_INTERNAL_TIMEOUT, "a gateway holding the user did not answer; retry"
        ) from exc
    return {}


def _result(user: str, code: ErrorCode = ErrorCode.OK, info: str = "") -> dict[str, Any]:
    return {"ResultCode": int(code), "ResultInfo": info, "UserID": user}


async def _kick_deleted(deps: RestDeps, sdkappid: int, user: str) -> None:
    try:
        await kick_sessions(deps, sdkappid, user, ErrorCode.ACCOUNT_NOT_IMPORTED, NOT_EXIST_INFO)
    except grpc.RpcError as exc:
        # The account is gone either way: its sessions can no longer log in again.
        log.warning("kick of a deleted account failed", user=user, error=str(exc))


async def account_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    ids = profiles.user_items(fields.raw(body, "DeleteItem"), "DeleteItem", MAX_BATCH, BAD)
    sdkappid = ctx.app.sdkappid
    stores = ctx.deps.stores
    found = await stores.directory.get_accounts(sdkappid, ids)
    admins = {u for u in ids if ctx.deps.auth.is_admin(ctx.app, u)}
    deleted = [u for u in ids if u in found and u not in admins]
    await stores.directory.delete_accounts(sdkappid, deleted)
    # Logins are checked against a cache of known accounts: drop them so a login fails now.
    ctx.deps.auth.forget(sdkappid, deleted)
    # Tencent deletes the user's data with the account.
    await stores.profiles.delete_users(sdkappid, deleted)
    await stores.no_speaking.delete_users(sdkappid, deleted)
    await stores.follows.delete_users(sdkappid, deleted)
    if deleted:
        # Every gateway's directory forgets them: no send reaches them, they cannot log in.
        await emit_rest(
            ctx, events.ACCOUNTS_DELETED, deleted[0], {"Accounts": events.accounts(deleted)}
        )
    await asyncio.gather(*(_kick_deleted(ctx.deps, sdkappid, u) for u in deleted))
    items = []
    for user in ids:
        if user in admins:
            # Admin accounts belong to the app's settings, not to the imported accounts.
            items.append(_result(user, BAD, "app admin accounts cannot be deleted"))
        elif user in found:
            items.append(_result(user))
        else:
            items.append(_result(user, ErrorCode.ACCOUNT_NOT_IMPORTED, NOT_EXIST_INFO))
    return {"ResultItem": items}


async def account_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    ids = profiles.user_items(fields.raw(body, "CheckItem"), "CheckItem", MAX_BATCH, BAD)
    existing = await existing_users(ctx, ids)
    return {
        "ResultItem": [
            {
                "UserID": user,
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "Imported" if user in existing else "NotImported",
            }
            for user in ids
        ]
    }


COMMANDS: dict[str, Handler] = {
    "account_import": account_import,
    "multiaccount_import": multiaccount_import,
    "account_delete": account_delete,
    "account_check": account_check,
    "kick": kick,
}
