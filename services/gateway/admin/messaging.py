"""/admin/apps/{id}/messaging: the app's messaging switches (login mode, recall window, sender
throttle, friend check, blocklist reply, live-group rate and earlier messages for newcomers,
group-member add-on, history retention, conversation pull count, group read receipts, pre-join
history per group type, add-friend verification, blocklist handling, and the feature switches:
communities, topics, message extensions, user status, live-group broadcast and member list,
conversation-deletion sync, follow and fans).

The rules are services/common/messaging_settings.py, the same code `tidings app messaging` runs.
A second history retention change in a calendar month is 409 `retention_changed_this_month`,
naming the date the next change is allowed.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body

from services.common import messaging_settings
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError

SECTION = "messaging"


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    @router.get("/apps/{sdkappid}/messaging", summary="The app's messaging settings")
    async def get_messaging(sdkappid: SdkAppId) -> dict[str, Any]:
        return messaging_settings.view(await deps.load_app(sdkappid), int(time.time()))

    @router.patch(
        "/apps/{sdkappid}/messaging",
        summary="Change some messaging settings; null restores a setting's default",
        dependencies=[deps.audited("messaging.update")],
        responses={409: {"description": "history retention was already changed this month"}},
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": messaging_settings.MessagingSettings.model_json_schema()
                    }
                }
            }
        },
    )
    async def patch_messaging(
        sdkappid: SdkAppId,
        changes: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        app = await deps.load_app(sdkappid)
        now_s = int(time.time())
        try:
            messaging_settings.apply(app, changes, now_s)
        except messaging_settings.RetentionChangedThisMonth as err:
            raise AdminError(409, "retention_changed_this_month", str(err)) from None
        except messaging_settings.InvalidSetting as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.save_app(app, SECTION)
        return messaging_settings.view(app, now_s)

    return router
