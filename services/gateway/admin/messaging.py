"""/admin/apps/{id}/messaging: the app's messaging switches (login mode, recall window, sender
throttle, friend check, blocklist reply, live-group rate, group-member add-on).

The rules are services/common/messaging_settings.py, the same code `tidings app messaging` runs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from services.common import messaging_settings
from services.common.store.ports import App
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import ERROR_RESPONSES, AdminDeps, AdminError, operator_check

SECTION = "messaging"


def build_router(deps: AdminDeps) -> APIRouter:
    router = APIRouter(
        prefix="/admin",
        tags=["admin"],
        dependencies=[Depends(operator_check(deps.settings))],
        responses=ERROR_RESPONSES,
    )

    async def load(sdkappid: int) -> App:
        app = await deps.apps.get_app(sdkappid)
        if app is None:
            raise AdminError(404, "not_found", f"app {sdkappid} does not exist")
        return app

    @router.get("/apps/{sdkappid}/messaging", summary="The app's messaging settings")
    async def get_messaging(sdkappid: SdkAppId) -> dict[str, Any]:
        return messaging_settings.view((await load(sdkappid)).settings)

    @router.patch(
        "/apps/{sdkappid}/messaging",
        summary="Change some messaging settings; null restores a setting's default",
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
        app = await load(sdkappid)
        try:
            messaging_settings.apply(app.settings, changes)
        except messaging_settings.InvalidSetting as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.apps.save_app(app)
        await deps.app_saved(sdkappid, SECTION)
        return messaging_settings.view(app.settings)

    return router
