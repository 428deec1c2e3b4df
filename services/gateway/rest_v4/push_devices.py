"""tidings_push: device tokens and push settings, for app servers.

Tencent's REST API has no command to bind a device token (its push service's server API is
all-member and single pushes, recall, attributes and tags: tokens come only from the client
SDK), so this service is Tidings' own, under v4 with Tencent's envelope, admin check and codes:

- bind_device {"UserID", "Vendor", "Token"}: the token now pushes to that user (taken from
  whoever held it, as the WebSocket op `register_push`); unbind_device drops it only if the user
  still holds it. Vendors: apns, fcm, huawei, xiaomi, oppo, vivo, meizu; tokens 1 to 512 bytes.
- get_devices {"UserID"} -> {"Devices": [{"Vendor", "Token", "RegisteredTime"}]}, oldest first,
  RegisteredTime in Unix seconds.
- set_push_settings {"UserID", "Enabled", "DND", "TimeZone"} changes the fields given (at least
  one; "DND": {"Start": "HH:MM", "End": "HH:MM"}, or null for none); get_push_settings
  {"UserID"}. Both answer the whole settings after the change. These are the WebSocket op
  `push_settings`'s fields, named as Tencent names fields.

Codes: 90001 a malformed field (as Tencent's push API answers one), 70107 an account that was
never imported.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.common.push_settings import (
    REST_FIELDS,
    changed_settings,
    check_device,
    settings_doc,
)
from services.common.store.push_devices import MAX_TOKEN_BYTES, VENDORS, PushSettings
from services.gateway.ids import user_id_problem
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.OPENIM_JSON


def _bad(message: str) -> TidingsError:
    return TidingsError(BAD, message)


async def _user(ctx: RestContext, body: dict[str, Any]) -> str:
    """The request's UserID, an imported account."""
    user = fields.raw(body, "UserID")
    problem = user_id_problem(user)
    if problem is not None or not isinstance(user, str):
        raise _bad(f"UserID {problem}")
    if await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, [user]):
        raise TidingsError(ErrorCode.ACCOUNT_NOT_IMPORTED, f"UserID {user!r} was never imported")
    return user


def _device(body: dict[str, Any]) -> tuple[str, str]:
    vendor = fields.text(body, "Vendor", code=BAD)
    token = fields.text(body, "Token", code=BAD)
    try:
        check_device(vendor, token)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    return vendor, token


def settings_reply(user: str, settings: PushSettings) -> Reply:
    return {"UserID": user, **settings_doc(settings, REST_FIELDS)}


def apply_settings(current: PushSettings, body: dict[str, Any]) -> PushSettings:
    """The settings after the fields the request names (pure; checked before they are stored)."""
    if not any(name in body for name in REST_FIELDS.top):
        raise _bad(f"give at least one of {', '.join(REST_FIELDS.top)}")
    try:
        return changed_settings(current, body, REST_FIELDS)
    except ValueError as exc:
        raise _bad(str(exc)) from exc


async def bind_device(ctx: RestContext, body: dict[str, Any]) -> Reply:
    vendor, token = _device(body)
    user = await _user(ctx, body)
    await ctx.deps.stores.push_devices.register(
        ctx.app.sdkappid, user, vendor, token, int(time.time() * 1000)
    )
    return {}


async def unbind_device(ctx: RestContext, body: dict[str, Any]) -> Reply:
    vendor, token = _device(body)
    user = await _user(ctx, body)
    await ctx.deps.stores.push_devices.unregister(ctx.app.sdkappid, user, vendor, token)
    return {}


async def get_devices(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    found = await ctx.deps.stores.push_devices.devices(ctx.app.sdkappid, [user])
    return {
        "Devices": [
            {"Vendor": d.vendor, "Token": d.token, "RegisteredTime": d.registered_ms // 1000}
            for d in found.get(user, [])
        ]
    }


async def set_push_settings(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    store = ctx.deps.stores.push_devices
    current = (await store.get_settings(ctx.app.sdkappid, [user]))[user]
    changed = apply_settings(current, body)
    await store.put_settings(ctx.app.sdkappid, user, changed)
    return settings_reply(user, changed)


async def get_push_settings(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _user(ctx, body)
    current = (await ctx.deps.stores.push_devices.get_settings(ctx.app.sdkappid, [user]))[user]
    return settings_reply(user, current)


COMMANDS: dict[str, Handler] = {
    "bind_device": bind_device,
    "unbind_device": unbind_device,
    "get_devices": get_devices,
    "set_push_settings": set_push_settings,
    "get_push_settings": get_push_settings,
}


# Request bodies for /openapi.json (the handlers above do the validation).
class DeviceRequest(BaseModel):
    UserID: str
    Vendor: str = Field(description=", ".join(VENDORS))
    Token: str = Field(description=f"the vendor's device token, 1 to {MAX_TOKEN_BYTES} bytes")


class UserRequest(BaseModel):
    UserID: str


class DndModel(BaseModel):
    Start: str = Field(description="HH:MM, included")
    End: str = Field(description="HH:MM, excluded; may cross midnight")


class PushSettingsRequest(BaseModel):
    UserID: str
    Enabled: bool | None = None
    DND: DndModel | None = Field(default=None, description="null: no do-not-disturb window")
    TimeZone: str | None = Field(default=None, description='IANA name, e.g. "Asia/Shanghai"')


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "bind_device": DeviceRequest,
    "unbind_device": DeviceRequest,
    "get_devices": UserRequest,
    "set_push_settings": PushSettingsRequest,
    "get_push_settings": UserRequest,
}
