"""The operator's admin API under /admin: JSON, protected by a bearer token (see base.py for the
error envelope). Mounted into the gateway's HTTP app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from services.gateway.admin import apps, callbacks, messaging, rules, words
from services.gateway.admin.base import AdminDeps, AdminError, envelope

PREFIX = "/admin"

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def _is_admin(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


async def _admin_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdminError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(envelope(exc.code, exc.message), exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_admin(request):
        return await request_validation_exception_handler(request, exc)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(envelope("bad_request", "the request body is not valid JSON"), 400)
    message = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors
    )
    return JSONResponse(envelope("invalid_argument", message), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not _is_admin(request):
        return await http_exception_handler(request, exc)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(envelope(code, str(exc.detail)), exc.status_code, headers=exc.headers)


def mount_admin(app: FastAPI, deps: AdminDeps) -> None:
    app.include_router(apps.build_router(deps))
    app.include_router(callbacks.build_router(deps))
    app.include_router(messaging.build_router(deps))
    app.include_router(words.build_router(deps))
    app.include_router(rules.build_router(deps))
    app.add_exception_handler(AdminError, _admin_error)
    # Only /admin answers in the admin envelope; other routes keep FastAPI's own.
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
