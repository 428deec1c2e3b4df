"""/admin/apps: create, list and read apps, rotate keys, issue UserSigs, and read or change an
app's REST platform settings (rate limits, IP whitelist, admin accounts).

The app lifecycle is services/common/apps.py and the settings rules services/common/
app_settings.py, the same code the `tidings` CLI runs.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request as HttpRequest

from services.common import admin_audit, app_settings, apps, usersig
from services.common.errors import TidingsError
from services.common.store.ports import App
from services.gateway.admin.base import AdminDeps, AdminError, current_change

ADMIN_IDENTIFIER = app_settings.ADMIN
MAX_GRACE_S = 30 * 86400
MAX_SIG_EXPIRE_S = 10 * 365 * 86400

SdkAppId = Annotated[int, Path(ge=1, le=9_999_999_999, description="the app's SDKAppID")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateApp(Request):
    name: str = Field(min_length=1, max_length=64)
    edition: str = Field(
        default="Developer",
        description="Developer (Trial), Standard (Pro) or Premium (Flagship, Ultimate)",
    )


class CreatedApp(BaseModel):
    sdkappid: int
    key: str
    admin_identifier: str
    name: str
    edition: str


class KeyInfo(BaseModel):
    current: bool
    # Unix seconds after which a rotated key stops verifying; null for the current key.
    valid_until: int | None


class AppInfo(BaseModel):
    sdkappid: int
    name: str
    edition: str
    created_at: int
    admins: list[str]
    keys: list[KeyInfo]
    key: str | None = Field(default=None, description="the current key, only when asked for")


class AppList(BaseModel):
    apps: list[AppInfo]


class RotateKey(Request):
    grace_s: int = Field(
        default=86400, ge=0, le=MAX_GRACE_S, description="seconds the old key keeps verifying"
    )


class RotatedKey(BaseModel):
    sdkappid: int
    key: str
    grace_s: int


class IssueUserSig(Request):
    user: str = Field(min_length=1, max_length=app_settings.MAX_IDENTIFIER_BYTES)
    expire: int = Field(default=usersig.DEFAULT_EXPIRE_S, ge=1, le=MAX_SIG_EXPIRE_S)


class IssuedUserSig(BaseModel):
    sdkappid: int
    user: str
    usersig: str
    expire: int


class VerifyUserSig(Request):
    user: str = Field(min_length=1, max_length=app_settings.MAX_IDENTIFIER_BYTES)
    usersig: str = Field(max_length=usersig.MAX_USERSIG_CHARS)


class UserSigCheck(BaseModel):
    valid: bool = Field(description="the gateway would accept it for this user now")
    error_code: int = Field(description="0, or the login error code (700xx) it would get")
    reason: str = Field(description="why it is refused; empty when valid")
    fix: str = Field(description="what to do about it; empty when valid")
    sdkappid: int | None = Field(description="the UserSig's own claims; null when unreadable")
    user: str | None
    generated_at: int | None = Field(description="Unix seconds")
    validity_s: int | None
    expires_at: int | None = Field(description="Unix seconds")
    expired: bool


class RateModel(Request):
    limit: int = Field(ge=1, le=app_settings.MAX_RATE_LIMIT)
    per_s: int = Field(default=1, ge=1, le=app_settings.MAX_RATE_WINDOW_S)


class SettingsView(BaseModel):
    rate_limits: dict[str, RateModel] = Field(
        description="service/command -> limit per per_s seconds; others use the defaults"
    )
    ip_whitelist: list[str] = Field(description="IPs or CIDRs; empty allows every caller")
    admins: list[str] = Field(description="administrator and up to 15 more REST admins")


class SettingsPatch(Request):
    """Each field given replaces that setting entirely; fields left out stay as they are."""

    rate_limits: dict[str, RateModel] | None = None
    ip_whitelist: list[str] | None = Field(default=None, max_length=app_settings.MAX_WHITELIST)
    admins: list[str] | None = None


def _info(app: App, with_key: bool) -> AppInfo:
    return AppInfo(
        sdkappid=app.sdkappid,
        name=app.name,
        edition=app.edition,
        created_at=app.created_at,
        admins=list(app.admins),
        keys=[KeyInfo(current=k.valid_until is None, valid_until=k.valid_until) for k in app.keys],
        key=apps.current_key(app) if with_key else None,
    )


def _check_user(user: str) -> None:
    if len(user.encode()) > app_settings.MAX_IDENTIFIER_BYTES:
        raise AdminError(
            422,
            "invalid_argument",
            f"user is longer than {app_settings.MAX_IDENTIFIER_BYTES} bytes",
        )


def _sig_check_view(result: usersig.SigCheck) -> UserSigCheck:
    claims = result.claims
    return UserSigCheck(
        valid=result.valid,
        error_code=result.error_code,
        reason=result.reason,
        fix=result.fix,
        sdkappid=claims.sdkappid if claims else None,
        user=claims.identifier if claims else None,
        generated_at=claims.time if claims else None,
        validity_s=claims.expire if claims else None,
        expires_at=result.expires_at,
        expired=result.expired,
    )


def _settings_view(app: App) -> SettingsView:
    return SettingsView.model_validate(app_settings.view(app))


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    @router.post(
        "/apps",
        status_code=201,
        summary="Create an app",
        dependencies=[deps.audited("app.create")],
    )
    async def create_app(req: CreateApp) -> CreatedApp:
        try:
            app = await apps.create_app(deps.apps, req.name, req.edition)
        except TidingsError as err:
            raise AdminError(422, "invalid_argument", err.info) from None
        change = current_change()
        change.sdkappid, change.after = app.sdkappid, admin_audit.app_state(app)
        return CreatedApp(
            sdkappid=app.sdkappid,
            key=apps.current_key(app),
            admin_identifier=ADMIN_IDENTIFIER,
            name=app.name,
            edition=app.edition,
        )

    @router.get("/apps", summary="List apps (without keys): those the caller may read")
    async def list_apps(request: HttpRequest) -> AppList:
        listed = await deps.apps.list_apps()
        readable = [a for a in listed if deps.may(request, "app:read", a.sdkappid)]
        return AppList(apps=[_info(a, with_key=False) for a in readable])

    @router.get("/apps/{sdkappid}", summary="Get one app; its current key only if asked")
    async def get_app(
        sdkappid: SdkAppId,
        request: HttpRequest,
        include_key: Annotated[bool, Query(description="include the current key")] = False,
    ) -> AppInfo:
        # The key signs UserSigs, the administrator's included: only for those who may change
        # the app.
        if include_key and not deps.may(request, "app:write", sdkappid):
            raise AdminError(403, "forbidden", "the app's key needs app:write")
        return _info(await deps.load_app(sdkappid), with_key=include_key)

    @router.post(
        "/apps/{sdkappid}/rotate-key",
        summary="Make a new key; the old one keeps verifying for grace_s seconds",
        dependencies=[deps.audited("app.key.rotate")],
    )
    async def rotate_key(sdkappid: SdkAppId, req: RotateKey) -> RotatedKey:
        app = await deps.load_app(sdkappid)
        key = apps.rotate_key(app, req.grace_s)
        await deps.save_app(app, "key")
        return RotatedKey(sdkappid=sdkappid, key=key, grace_s=req.grace_s)

    @router.post(
        "/apps/{sdkappid}/usersig",
        summary="Issue a UserSig signed with the current key",
        dependencies=[deps.audited("app.usersig.issue")],
    )
    async def issue_usersig(sdkappid: SdkAppId, req: IssueUserSig) -> IssuedUserSig:
        _check_user(req.user)
        app = await deps.load_app(sdkappid)
        sig = usersig.sign(sdkappid, apps.current_key(app), req.user, req.expire)
        current_change().after = {"user": req.user, "expire": req.expire}
        return IssuedUserSig(sdkappid=sdkappid, user=req.user, usersig=sig, expire=req.expire)

    # A read (console_policy.READ_POSTS): POST only so that the UserSig stays out of URLs and
    # access logs.
    @router.post(
        "/apps/{sdkappid}/usersig/verify",
        summary="Check a UserSig as the gateway would: the app's current and rotated keys",
    )
    async def verify_usersig(sdkappid: SdkAppId, req: VerifyUserSig) -> UserSigCheck:
        _check_user(req.user)
        app = await deps.load_app(sdkappid)
        now = int(time.time())
        return _sig_check_view(
            usersig.check(req.usersig, sdkappid, req.user, app.valid_keys(now), now)
        )

    @router.get("/apps/{sdkappid}/settings", summary="Rate limits, IP whitelist, admin accounts")
    async def get_settings(sdkappid: SdkAppId) -> SettingsView:
        return _settings_view(await deps.load_app(sdkappid))

    @router.patch(
        "/apps/{sdkappid}/settings",
        summary="Change rate limits, IP whitelist or admin accounts; applies at once",
        dependencies=[deps.audited("app.settings.update")],
    )
    async def patch_settings(sdkappid: SdkAppId, req: SettingsPatch) -> SettingsView:
        app = await deps.load_app(sdkappid)
        try:
            app_settings.apply(
                app,
                rate_limits=None
                if req.rate_limits is None
                else {k: r.model_dump() for k, r in req.rate_limits.items()},
                ip_whitelist=req.ip_whitelist,
                admins=req.admins,
            )
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.save_app(app, "settings")
        return _settings_view(app)

    return router
