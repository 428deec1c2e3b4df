"""/admin/apps/{id}/accounts: search, import, profile and kick, the operations REST v4's
im_open_login_svc and profile commands carry out (services/gateway/handlers/accounts.py).

- GET lists imported accounts whose UserID starts with `prefix`, in UserID order, a page at a
  time: pass `next_cursor` as `cursor` for the next. The app's admin accounts are not listed
  (they are the app's settings, not imported accounts) but can be read and changed.
- GET .../{user} is its profile (every field set, by Tencent's tag names) and how many
  connections it has now.
- PATCH .../{user} sets profile fields by Tencent's tag names, checked as portrait_set checks
  them.
- POST .../import imports up to 100 accounts; each row answers on its own, as
  multiaccount_import's FailAccounts does, and a batch over the edition's quota imports none.
- POST .../{user}/kick logs the account out of every device, as REST kick does.

A refusal carries Tencent's error code in its message ("70107 ...", "40003 ..."): 404 for an
unknown account, 422 for a bad value, 409 for a quota, 503 when a gateway did not answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request as HttpRequest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.common.store.profiles import ProfileValue
from services.gateway import ids, profiles
from services.gateway.admin.apps import ADMIN_IDENTIFIER, Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, CursorPage, current_change
from services.gateway.handlers import accounts
from services.gateway.rest_v4.context import RestContext, RestDeps

UserId = Annotated[
    str, Path(min_length=1, max_length=ids.MAX_USER_ID_BYTES, description="the account's UserID")
]
MAX_IMPORT = 100
MAX_PROFILE_FIELDS = 32

_NOT_FOUND = {
    ErrorCode.ACCOUNT_NOT_IMPORTED,
    ErrorCode.PROFILE_ACCOUNT_NOT_FOUND,
    ErrorCode.GROUP_NOT_FOUND,
    ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
}
_CONFLICT = {ErrorCode.ACCOUNT_LIMIT, ErrorCode.GROUP_NO_PERMISSION}
_UNAVAILABLE = {ErrorCode.ACCOUNT_INTERNAL_TIMEOUT}


def refusal(err: TidingsError) -> AdminError:
    """A handler's refusal in the admin envelope, Tencent's code leading its message."""
    message = f"{int(err.code)} {err.info}"
    if err.code in _NOT_FOUND:
        return AdminError(404, "not_found", message)
    if err.code in _CONFLICT:
        return AdminError(409, "refused", message)
    if err.code in _UNAVAILABLE:
        return AdminError(503, "unavailable", message)
    return AdminError(422, "invalid_argument", message)


def admin_context(app: App, request: HttpRequest, rest: RestDeps) -> RestContext:
    """A handler's context for the admin API: it acts as the app's first admin account, the
    Operator_Account its events and callbacks name."""
    identifier = app.admins[0] if app.admins else ADMIN_IDENTIFIER
    client_ip = request.client.host if request.client else ""
    return RestContext(app, identifier, client_ip, rest)


def checked_user(user: UserId) -> str:
    """A UserID as REST v4 checks it (bytes, control characters), else a 422."""
    try:
        return profiles.user_id(user, "user", ErrorCode.ACCOUNT_INVALID_PARAM)
    except TidingsError as err:
        raise refusal(err) from None


# The {user} of a route's path, checked before the route runs.
CheckedUser = Annotated[str, Depends(checked_user)]


class AccountView(BaseModel):
    user: str
    nick: str
    face_url: str
    created_at: int = Field(description="Unix seconds; 0 when not known")


class AccountPage(CursorPage):
    accounts: list[AccountView]


class AccountDetail(BaseModel):
    user: str
    profile: dict[str, ProfileValue] = Field(
        description="every profile field set, by Tencent's tag (Tag_Profile_IM_Nick, ...)"
    )
    connections: int = Field(description="connections the account has now")


class ProfilePatch(Request):
    profile: dict[str, ProfileValue] = Field(
        min_length=1,
        max_length=MAX_PROFILE_FIELDS,
        description="fields to set, by Tencent's tag: Tag_Profile_IM_Nick, Tag_Profile_IM_Image,"
        " Tag_Profile_IM_Gender, Tag_Profile_IM_SelfSignature, Tag_Profile_Custom_*, ...",
    )


class ImportRow(Request):
    user: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)
    nick: str | None = Field(default=None, max_length=profiles.MAX_VALUE_BYTES)
    face_url: str | None = Field(default=None, max_length=profiles.MAX_VALUE_BYTES)


class ImportBatch(Request):
    accounts: list[ImportRow] = Field(min_length=1, max_length=MAX_IMPORT)


class ImportResult(BaseModel):
    user: str
    ok: bool
    error: str = Field(default="", description="why the row was not imported")


class ImportReply(BaseModel):
    results: list[ImportResult]


class Kicked(BaseModel):
    user: str
    connections: int = Field(description="connections closed")


def import_entries(rows: list[ImportRow]) -> tuple[list[profiles.ImportEntry], dict[str, str]]:
    """The rows to import (a repeated user: the last row wins), and why each other one cannot
    be imported."""
    entries: dict[str, profiles.ImportEntry] = {}
    rejected: dict[str, str] = {}
    for row in rows:
        try:
            entries[row.user] = profiles.import_entry(
                {"UserID": row.user, "Nick": row.nick, "FaceUrl": row.face_url},
                ErrorCode.ACCOUNT_INVALID_PARAM,
            )
        except TidingsError as err:
            rejected[row.user] = f"{int(err.code)} {err.info}"
    return list(entries.values()), rejected


async def detail_of(ctx: RestContext, user: str) -> AccountDetail:
    found = await accounts.get_profiles(ctx, [user])
    if user not in found:
        raise refusal(
            TidingsError(ErrorCode.ACCOUNT_NOT_IMPORTED, f"UserID {user!r} does not exist")
        )
    return AccountDetail(
        user=user, profile=found[user], connections=await accounts.online(ctx, user)
    )


def build_router(deps: AdminDeps, rest: RestDeps) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/accounts")

    async def context(sdkappid: SdkAppId, request: HttpRequest) -> RestContext:
        return admin_context(await deps.load_app(sdkappid), request, rest)

    # The handlers' context, as a default: a closure is not visible to the postponed
    # annotations FastAPI resolves in the module's globals.
    as_admin = Depends(context)

    @router.get("", summary="Find imported accounts by UserID prefix, a page at a time")
    async def search(
        ctx: RestContext = as_admin,
        prefix: Annotated[str, Query(max_length=ids.MAX_USER_ID_BYTES)] = "",
        cursor: Annotated[str, Query(max_length=ids.MAX_USER_ID_BYTES)] = "",
        limit: Annotated[int, Query(ge=1, le=accounts.MAX_SEARCH_PAGE)] = 20,
    ) -> AccountPage:
        page = await accounts.search(ctx, prefix, cursor, limit)
        return AccountPage(
            accounts=[
                AccountView(
                    user=a.user_id, nick=a.nick, face_url=a.face_url, created_at=a.created_at
                )
                for a in page.accounts
            ],
            next_cursor=page.next_cursor,
        )

    @router.post(
        "/import",
        summary="Import up to 100 accounts; each row answers on its own",
        dependencies=[deps.audited("accounts.import")],
    )
    async def import_batch(batch: ImportBatch, ctx: RestContext = as_admin) -> ImportReply:
        entries, rejected = import_entries(batch.accounts)
        try:
            await accounts.import_accounts(ctx, entries)
        except TidingsError as err:
            raise refusal(err) from None
        imported = [e.user_id for e in entries]
        change = current_change()
        change.after, change.saved = {"users": imported}, bool(imported)
        return ImportReply(
            results=[
                ImportResult(user=user, ok=user not in rejected, error=rejected.get(user, ""))
                for user in dict.fromkeys(row.user for row in batch.accounts)
            ]
        )

    @router.get("/{user}", summary="An account's profile, and its connections now")
    async def detail(user: CheckedUser, ctx: RestContext = as_admin) -> AccountDetail:
        return await detail_of(ctx, user)

    @router.patch(
        "/{user}",
        summary="Set profile fields, checked as portrait_set checks them",
        dependencies=[deps.audited("accounts.profile.update")],
    )
    async def set_profile(
        user: CheckedUser, patch: ProfilePatch, ctx: RestContext = as_admin
    ) -> AccountDetail:
        declared = profiles.declared_custom_fields(ctx.app.settings)
        items = [{"Tag": tag, "Value": value} for tag, value in patch.profile.items()]
        try:
            values = profiles.profile_items(items, declared)
            await accounts.set_profile(ctx, user, values, declared)
        except TidingsError as err:
            raise refusal(err) from None
        change = current_change()
        change.after, change.saved = dict(values), True
        return await detail_of(ctx, user)

    @router.post(
        "/{user}/kick",
        summary="Log the account out of every device, as REST kick does",
        dependencies=[deps.audited("accounts.kick")],
    )
    async def kick(user: CheckedUser, ctx: RestContext = as_admin) -> Kicked:
        try:
            closed = await accounts.kick(ctx, user)
        except TidingsError as err:
            raise refusal(err) from None
        return Kicked(user=user, connections=closed)

    return router
