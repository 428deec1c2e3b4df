"""Web console logins: /console/api/login, logout and me, the sessions behind the console's
cookie, and the check of that cookie on the admin API (called by HttpLimits before a body is
read).

- A session id is `secrets.token_urlsafe(32)`, sent only in the `tidings_console` cookie
  (HttpOnly, SameSite=Strict, Secure over https, Path=/). Redis keeps the session under the
  SHA-256 of the id, never the id itself, for `console_session_idle_s` after its last use. A
  login always makes a new id and ends the session of any cookie it was sent with, so no id
  known before a login is ever a session after it (no fixation). Logout deletes the session.
- Each session has a CSRF token (`secrets.token_urlsafe(32)`), returned by login and me: a
  non-GET admin request with the cookie must carry it as `X-CSRF-Token` (else 403 `csrf`).
- A session keeps a fingerprint of the account's password hash; every use reads the account
  again, so a deleted account, a changed password or changed policies apply at once.
- Throttling: failed logins are counted per username and per client IP in Redis over a window
  counted from the first failure; at the limit, login answers 429 `too_many_attempts`, even
  with the right password, until the window ends. A success resets the username's count. An
  unknown username costs one argon2 verification, as a wrong password does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.common import console_policy, keys
from services.common.config import Settings
from services.common.console_policy import ConsoleUser
from services.common.store.console_accounts import (
    ConsoleAccount,
    ConsoleAccountStore,
    verify_password,
)
from services.gateway.admin.base import AdminError, envelope

COOKIE = "tidings_console"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FIELD = 256


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_key(session_id: str) -> str:
    return keys.redis_key("console_session", 0, _digest(session_id))


def failures_key(kind: str, value: str) -> str:
    return keys.redis_key("console_login_failures", 0, keys.join(kind, value))


def password_fingerprint(account: ConsoleAccount) -> str:
    return _digest(account.password_hash)[:16]


def cookie_value(headers: list[tuple[bytes, bytes]]) -> str:
    """The console cookie of raw ASGI headers, "" without one."""
    for name, value in headers:
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            key, _, val = part.strip().partition("=")
            if key == COOKIE:
                return val
    return ""


@dataclass(frozen=True, slots=True)
class Session:
    user: ConsoleUser
    csrf_token: str


def console_user(account: ConsoleAccount) -> ConsoleUser:
    return ConsoleUser(
        account.username,
        account.root,
        tuple(console_policy.parse_statements(account.policies)),
    )


class ConsoleAuth:
    def __init__(
        self, settings: Settings, accounts: ConsoleAccountStore, redis: aioredis.Redis
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self.redis = redis

    async def throttled(self, username: str, client_ip: str) -> bool:
        user_count, ip_count = await self.redis.mget(
            [failures_key("user", username), failures_key("ip", client_ip)]
        )
        return (
            int(user_count or 0) >= self.settings.console_login_max_failures
            or int(ip_count or 0) >= self.settings.console_login_max_failures_per_ip
        )

    async def _failed(self, username: str, client_ip: str) -> None:
        window = self.settings.console_login_window_s
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (failures_key("user", username), failures_key("ip", client_ip)):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def login(self, username: str, password: str, client_ip: str) -> tuple[str, Session]:
        """A new session id and its session; AdminError 429 when throttled, 401 on a wrong
        username or password."""
        if await self.throttled(username, client_ip):
            raise AdminError(
                429,
                "too_many_attempts",
                "too many failed logins: try again later",
            )
        account = await self.accounts.get(username)
        stored = account.password_hash if account is not None else ""
        if account is None or not await asyncio.to_thread(verify_password, stored, password):
            await self._failed(username, client_ip)
            raise AdminError(401, "bad_credentials", "wrong username or password")
        await self.redis.delete(failures_key("user", username))
        session_id = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        doc = {"user": username, "csrf": csrf_token, "pw": password_fingerprint(account)}
        await self.redis.set(
            session_key(session_id), orjson.dumps(doc), ex=self.settings.console_session_idle_s
        )
        return session_id, Session(console_user(account), csrf_token)

    async def logout(self, session_id: str) -> None:
        if session_id:
            await self.redis.delete(session_key(session_id))

    async def session(self, session_id: str) -> Session | None:
        """The live session of `session_id` (its idle time starts again), None when there is
        none, or its account is gone or has a new password."""
        if not session_id:
            return None
        key = session_key(session_id)
        raw = await self.redis.getex(key, ex=self.settings.console_session_idle_s)
        if raw is None:
            return None
        doc = orjson.loads(raw)
        account = await self.accounts.get(doc["user"])
        if account is None or not hmac.compare_digest(password_fingerprint(account), doc["pw"]):
            await self.redis.delete(key)
            return None
        return Session(console_user(account), doc["csrf"])

    async def admin_caller(
        self, method: str, headers: list[tuple[bytes, bytes]]
    ) -> ConsoleUser | AdminError:
        """The console user an admin request's cookie opens the API to, or why it does not:
        401 without a live session, 403 `csrf` on a changing request without its token."""
        session = await self.session(cookie_value(headers))
        if session is None:
            return AdminError(
                401,
                "unauthorized",
                "the console session ended: log in again (or send the operator bearer token)",
            )
        if method not in SAFE_METHODS:
            given = next((v for k, v in headers if k == CSRF_HEADER.encode()), b"")
            if not hmac.compare_digest(given, session.csrf_token.encode()):
                return AdminError(
                    403,
                    "csrf",
                    "a console request that changes something needs the "
                    "session's X-CSRF-Token header",
                )
        return session.user


def _me(session: Session) -> dict[str, object]:
    user = session.user
    return {
        "user": user.username,
        "root": user.root,
        "policies": console_policy.statements_doc(user.statements),
        "csrf_token": session.csrf_token,
    }


def _error(err: AdminError) -> JSONResponse:
    return JSONResponse(envelope(err.code, err.message), err.status)


async def _credentials(request: Request) -> tuple[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise AdminError(415, "unsupported_media_type", "send the login as application/json")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise AdminError(400, "bad_request", "the request body is not valid JSON") from None
    username = body.get("username") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(username, str) or not isinstance(password, str):
        raise AdminError(422, "invalid_argument", "username and password are strings")
    if not 0 < len(username) <= MAX_FIELD or not 0 < len(password) <= MAX_FIELD:
        raise AdminError(
            422, "invalid_argument", f"username and password are 1 to {MAX_FIELD} characters"
        )
    return username, password


def build_router(auth: ConsoleAuth) -> APIRouter:
    router = APIRouter(prefix="/console/api", tags=["console"])

    @router.post("/login", summary="Log in to the web console: sets the session cookie")
    async def login(request: Request) -> JSONResponse:
        try:
            username, password = await _credentials(request)
            client_ip = request.client.host if request.client else ""
            session_id, session = await auth.login(username, password, client_ip)
        except AdminError as err:
            return _error(err)
        # The session of the cookie this login came with (if any) ends: it is never promoted.
        await auth.logout(request.cookies.get(COOKIE, ""))
        user = session.user
        response = JSONResponse(
            {"user": user.username, "root": user.root, "csrf_token": session.csrf_token}
        )
        response.set_cookie(
            COOKIE,
            session_id,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout", summary="End the console session")
    async def logout(request: Request) -> JSONResponse:
        await auth.logout(request.cookies.get(COOKIE, ""))
        response = JSONResponse({})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/me", summary="The logged-in console user, its policies and CSRF token")
    async def me(request: Request) -> JSONResponse:
        session = await auth.session(request.cookies.get(COOKIE, ""))
        if session is None:
            return _error(AdminError(401, "unauthorized", "not logged in"))
        return JSONResponse(_me(session))

    return router
