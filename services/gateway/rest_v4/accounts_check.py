"""What the relationship commands (sns, follow) check and show of the accounts they name.

An app's admin accounts exist without an import (Tencent creates them in the console), so they
are never reported missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.common.errors import ErrorCode, TidingsError
from services.common.store.profiles import ProfileValue
from services.gateway import profiles
from services.gateway.rest_v4.context import RestContext


async def require_account(ctx: RestContext, user: str) -> None:
    """Refuse the whole request with 30003 when `user` (the From_Account) does not exist."""
    if ctx.deps.auth.is_admin(ctx.app, user):
        return
    if await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, [user]):
        raise TidingsError(ErrorCode.SNS_ACCOUNT_NOT_FOUND, f"From_Account {user!r} does not exist")


async def missing_accounts(ctx: RestContext, users: Iterable[str]) -> set[str]:
    """The users that are neither imported nor admin accounts."""
    candidates = [u for u in users if not ctx.deps.auth.is_admin(ctx.app, u)]
    return set(await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, candidates))


async def profile_values(
    ctx: RestContext, users: Sequence[str]
) -> dict[str, dict[str, ProfileValue]]:
    """Every stored Tag_Profile_* value of each user, nick and image being the directory's."""
    if not users:
        return {}
    sdkappid = ctx.app.sdkappid
    stored = await ctx.deps.stores.profiles.get_values(sdkappid, users)
    accounts = await ctx.deps.stores.directory.get_accounts(sdkappid, users)
    values: dict[str, dict[str, ProfileValue]] = {}
    for user in users:
        merged = dict(stored.get(user, {}))
        account = accounts.get(user)
        if account is not None:
            merged[profiles.NICK] = account.nick
            merged[profiles.IMAGE] = account.face_url
        values[user] = merged
    return values
