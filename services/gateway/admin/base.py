"""What every admin endpoint shares: its dependencies, the operator token check, and the one
error envelope.

Every admin error is JSON `{"error": {"code": "<code>", "message": "<text>"}}` with:
- 400 `bad_request`: the body is not JSON;
- 401 `unauthorized`: no or a wrong operator bearer token (`admin_disabled` when the server has
  no TIDINGS_ADMIN_TOKEN, so the API is off), and no live console session cookie;
- 403 `csrf`: a console session's changing request without its X-CSRF-Token; 403 `forbidden`:
  the console user's policies do not allow the route's action (services/common/console_policy.py);
- 404 `not_found`: no such app (or path);
- 405 `method_not_allowed`;
- 422 `invalid_argument`: a field is missing, of the wrong type, unknown, or out of range.

The caller is the operator (the bearer token: every right) or a console user (the session cookie,
checked with its CSRF token by HttpLimits before the body is read, then its policy here, by the
routers' dependency, on the action `console_policy.route_action` names for the route).

Every route that changes something declares its audit action (`AdminDeps.audited`): the request
makes exactly one admin audit entry (services/common/admin_audit.py) once it succeeds, with the
app as load_app found it and as save_app wrote it.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.common import admin_audit
from services.common.admin_audit import Actor
from services.common.app_cache import AppCache
from services.common.config import Settings
from services.common.config_feed import APP, ConfigAnnouncer
from services.common.config_versions import ConfigNotCurrent
from services.common.console_policy import FILTERED, ConsoleUser, route_action
from services.common.store.admin_audit import AdminAuditStore
from services.common.store.dirtywords import DirtyWordStore
from services.common.store.ports import App, AppStore


@dataclass(slots=True)
class AdminDeps:
    settings: Settings
    apps: AppStore
    # The gateway's own cache of app records: a change made here is dropped from it at once.
    cache: AppCache
    dirty_words: DirtyWordStore
    # Announces changes, so that every service applies them to what is sent after the answer.
    config: ConfigAnnouncer
    audit: AdminAuditStore

    def router(self, prefix: str = "/admin") -> APIRouter:
        """An admin router: operator token required, errors in the admin envelope."""
        return APIRouter(
            prefix=prefix,
            tags=["admin"],
            dependencies=[Depends(operator_check(self.settings))],
            responses=ERROR_RESPONSES,
        )

    def may(self, request: Request, action: str, sdkappid: int | None) -> bool:
        """Whether the caller may do `action` on the app (the operator may do everything)."""
        user = console_user_of(request)
        return user is None or user.may(action, sdkappid)

    def audited(self, action: str) -> Any:
        """The dependency of a route that changes something, named `action` in the audit log."""
        return Depends(Audited(self.audit, action), scope="function")

    async def load_app(self, sdkappid: int) -> App:
        app = await self.apps.get_app(sdkappid)
        if app is None:
            raise AdminError(404, "not_found", f"app {sdkappid} does not exist")
        change = _CHANGE.get()
        if change is not None and change.loaded is None:
            change.loaded = admin_audit.snapshot(app)
        return app

    async def save_app(self, app: App, changed: str) -> None:
        await self.apps.save_app(app)
        change = _CHANGE.get()
        if change is not None:
            change.saved = True
            if change.loaded is not None:
                change.before, change.after = admin_audit.app_changes(change.loaded, app)
        await self.app_saved(app.sdkappid, changed)

    async def app_saved(self, sdkappid: int, changed: str) -> None:
        """After an app record was written: this gateway drops its copy now, and the message
        path reads the record again for what is sent after the answer."""
        self.cache.invalidate(sdkappid)
        await announce(self.config, sdkappid, APP, {"changed": changed})


async def announce(
    config: ConfigAnnouncer, sdkappid: int, section: str, value: dict[str, object]
) -> None:
    """ConfigAnnouncer.announce, with its failure as the admin API's 503."""
    try:
        await config.announce(sdkappid, section, value)
    except ConfigNotCurrent as err:
        raise AdminError(503, "not_in_effect", err.info) from None


@dataclass(slots=True)
class AdminChange:
    """The audit entry of the admin request being served, filled in as its handler runs."""

    action: str
    actor: Actor
    sdkappid: int
    resource: str = ""
    before: object = None
    after: object = None
    # The app as first loaded, to compare with what is saved.
    loaded: App | None = field(default=None, repr=False)
    # Something was written: the entry is made even if the request fails afterwards.
    saved: bool = False


_CHANGE: ContextVar[AdminChange | None] = ContextVar("admin_change", default=None)


def current_change() -> AdminChange:
    """The audit entry of the route being served, for a handler to fill in what save_app
    does not (a created app, words, a replay)."""
    change = _CHANGE.get()
    if change is None:
        raise RuntimeError("not inside a route declared with AdminDeps.audited")
    return change


class Audited:
    """Makes one audit entry per request of a changing route: when it succeeds, or when it
    fails after it saved something. Path parameters other than the SDKAppID name the
    resource."""

    def __init__(self, store: AdminAuditStore, action: str) -> None:
        self.store = store
        self.action = action

    async def __call__(self, request: Request) -> AsyncIterator[AdminChange]:
        params = {k: str(v) for k, v in request.path_params.items()}
        sdkappid = params.pop("sdkappid", "")
        user = console_user_of(request)
        change = AdminChange(
            action=self.action,
            actor=Actor(
                admin_audit.OPERATOR if user is None else user.actor,
                admin_audit.ADMIN_API,
                request.client.host if request.client else "",
            ),
            sdkappid=int(sdkappid) if sdkappid.isdigit() else 0,
            resource="/".join(params.values()),
        )
        token = _CHANGE.set(change)
        succeeded = False
        try:
            yield change
            succeeded = True
        finally:
            _CHANGE.reset(token)
            if succeeded or change.saved:
                await self.record(change)

    async def record(self, change: AdminChange) -> None:
        try:
            await admin_audit.record(
                self.store,
                change.actor,
                change.sdkappid,
                change.action,
                change.resource,
                change.before,
                change.after,
            )
        except Exception as err:
            raise AdminError(
                503, "audit_unavailable", f"changed, but the audit entry was not written: {err}"
            ) from err


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class CursorPage(BaseModel):
    """A page of a list read a page at a time."""

    next_cursor: str = Field(description="pass as `cursor` for the next page; empty at the end")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


def envelope(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorEnvelope, "description": "missing or wrong operator token"},
    422: {"model": ErrorEnvelope, "description": "invalid input"},
    503: {"model": ErrorEnvelope, "description": "saved, but not yet in effect: retry"},
}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="operator",
    description="The operator token (TIDINGS_ADMIN_TOKEN; `tidings up` writes it to "
    "demo-app.json as admin_token).",
)


# The request scope's key for the console user HttpLimits found the session cookie of.
CONSOLE_USER = "tidings.console_user"


def console_user_of(request: Request) -> ConsoleUser | None:
    """The console user making the request, None for the operator."""
    user = request.scope.get(CONSOLE_USER)
    return user if isinstance(user, ConsoleUser) else None


def operator_check(
    settings: Settings,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[None]]:
    """A dependency that lets the operator token through, and a console user whose policies
    allow the route's action."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
    ) -> None:
        user = console_user_of(request)
        if user is None:
            refused = token_refusal(settings, credentials.credentials if credentials else "")
            if refused is not None:
                raise refused
            return
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        if (request.method, path) in FILTERED:
            return
        action = route_action(request.method, path) or f"unmapped route {path}"
        sdkappid = str(request.path_params.get("sdkappid", ""))
        app = int(sdkappid) if sdkappid.isdigit() else None
        if not user.may(action, app):
            raise AdminError(403, "forbidden", user.refusal(action, app))

    return check


def token_refusal(settings: Settings, given: str) -> AdminError | None:
    """Why `given` does not open the admin API, or None when it is the operator token. Shared
    by operator_check and the HTTP middleware that checks it before any body is read."""
    token = settings.admin_token
    if not token:
        return AdminError(
            401, "admin_disabled", "the admin API is disabled: set TIDINGS_ADMIN_TOKEN"
        )
    if not hmac.compare_digest(given.encode(), token.encode()):
        return AdminError(401, "unauthorized", "a valid operator bearer token is required")
    return None
