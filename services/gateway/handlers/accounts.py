"""Accounts: import, existence, kick, search, and profile read and write, with their rules.

REST v4 (im_open_login_svc, profile) and the admin API (/admin/apps/{id}/accounts) are thin
adapters over these. An app's admin accounts exist without an import (Tencent creates them in
the console): they are never missing, and have no directory row until a profile is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.store.ports import Account
from services.common.store.profiles import ProfileValue
from services.gateway import profiles
from services.gateway.events import emit_rest
from services.gateway.kicks import kick_connections
from services.gateway.quotas import quota_for
from services.gateway.rest_v4.accounts_check import profile_values
from services.gateway.rest_v4.context import RestContext, RestDeps

log = get_logger(__name__)

# An admin kick invalidates the login state: Tencent's SDK reports it as an expired UserSig.
KICK_INFO = "login state invalidated by the app admin; log in again with a new UserSig"
MAX_SEARCH_PAGE = 100


async def existing_users(ctx: RestContext, user_ids: Sequence[str]) -> set[str]:
    """Imported accounts, plus the app's admin accounts."""
    found = await ctx.deps.stores.directory.get_accounts(ctx.app.sdkappid, user_ids)
    return set(found) | {u for u in user_ids if ctx.deps.auth.is_admin(ctx.app, u)}


async def import_accounts(ctx: RestContext, entries: Sequence[profiles.ImportEntry]) -> None:
    """Create the accounts, or update the profile fields a re-import gives. A batch that would
    cross the edition's quota imports nothing (70398): all or nothing is easier to retry."""
    directory = ctx.deps.stores.directory
    sdkappid = ctx.app.sdkappid
    existing = await directory.get_accounts(sdkappid, [e.user_id for e in entries])
    new = sum(1 for e in entries if e.user_id not in existing)
    limit = quota_for(ctx.app.edition).accounts
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


async def kick_sessions(
    deps: RestDeps, sdkappid: int, user: str, code: ErrorCode, reason: str
) -> int:
    """Close every connection of the user, one Kick per gateway node holding one."""
    (sessions,) = await deps.sessions.lookup([(sdkappid, user)])
    return await kick_connections(deps.channels, sdkappid, user, sessions, int(code), reason)


async def kick(ctx: RestContext, user: str) -> int:
    """Log the account out everywhere (70107 when it does not exist); the connections closed."""
    if user not in await existing_users(ctx, [user]):
        raise TidingsError(ErrorCode.ACCOUNT_NOT_IMPORTED, f"UserID {user!r} does not exist")
    try:
        return await kick_sessions(
            ctx.deps, ctx.app.sdkappid, user, ErrorCode.SIG_EXPIRED, KICK_INFO
        )
    except grpc.RpcError as exc:
        log.warning("kick failed", user=user, error=str(exc))
        raise TidingsError(
            ErrorCode.ACCOUNT_INTERNAL_TIMEOUT, "a gateway holding the user did not answer; retry"
        ) from exc


async def online(ctx: RestContext, user: str) -> int:
    """How many connections the user has now, over every gateway node."""
    (sessions,) = await ctx.deps.sessions.lookup([(ctx.app.sdkappid, user)])
    return len(sessions)


@dataclass(frozen=True, slots=True)
class AccountPage:
    accounts: list[Account]
    # The last UserID of the page when more may follow, else "".
    next_cursor: str


async def search(ctx: RestContext, prefix: str, cursor: str, limit: int) -> AccountPage:
    """Imported accounts whose UserID starts with `prefix`, in UserID order, after `cursor`."""
    if not 0 < limit <= MAX_SEARCH_PAGE:
        raise TidingsError(
            ErrorCode.ACCOUNT_INVALID_PARAM, f"limit must be in [1, {MAX_SEARCH_PAGE}]"
        )
    directory = ctx.deps.stores.directory
    sdkappid = ctx.app.sdkappid
    ids: list[str] = []
    # The store lists UserIDs greater than a bound: the prefix itself is looked up on its own.
    if not cursor and prefix and await directory.get_accounts(sdkappid, [prefix]):
        ids.append(prefix)
    after = max(cursor, prefix)
    listed = await directory.list_accounts(sdkappid, after, limit + 1 - len(ids))
    ids.extend(u for u in listed if u.startswith(prefix))
    more = len(ids) > limit
    ids = ids[:limit]
    found = await directory.get_accounts(sdkappid, ids)
    return AccountPage([found[u] for u in ids if u in found], ids[-1] if more and ids else "")


async def get_profiles(
    ctx: RestContext, users: Sequence[str]
) -> dict[str, dict[str, ProfileValue]]:
    """Every stored profile field of each existing user (the others are left out); nick and
    image are the directory's."""
    existing = await existing_users(ctx, users)
    return await profile_values(ctx, [u for u in users if u in existing])


async def set_profile(
    ctx: RestContext,
    user: str,
    values: Mapping[str, ProfileValue],
    declared: profiles.Declared,
) -> None:
    """Set checked profile fields (profiles.profile_items) of an existing user (40003 when it
    does not exist). Nick and Image are the account's own nick and face URL, as account_import
    sets them; a custom tag new to the app counts against its custom fields."""
    sdkappid = ctx.app.sdkappid
    directory = ctx.deps.stores.directory
    store = ctx.deps.stores.profiles
    account = (await directory.get_accounts(sdkappid, [user])).get(user)
    if account is None and not ctx.deps.auth.is_admin(ctx.app, user):
        raise TidingsError(
            ErrorCode.PROFILE_ACCOUNT_NOT_FOUND, f"From_Account {user!r} does not exist"
        )
    items = [{"Tag": tag, "Value": value} for tag, value in values.items()]
    rest = dict(values)
    new_tags: list[str] = []
    if any(profiles.is_custom_tag(t) for t in rest):
        new_tags = profiles.new_custom_tags(rest, await store.custom_tags(sdkappid), declared)
    nick = rest.pop(profiles.NICK, None)
    image = rest.pop(profiles.IMAGE, None)
    if nick is not None or image is not None:
        old = account or Account(user)
        await directory.upsert_accounts(
            sdkappid,
            [
                Account(
                    user,
                    old.nick if nick is None else str(nick),
                    old.face_url if image is None else str(image),
                )
            ],
        )
    await store.add_custom_tags(sdkappid, new_tags)
    await store.set_values(sdkappid, user, rest)
    await emit_rest(
        ctx,
        events.PROFILE_SET,
        user,
        {"Operator_Account": ctx.identifier, "From_Account": user, "ProfileItem": items},
    )
