"""/admin/apps/{id}/sensitive-words: what the app's word lists do (services/common/
word_settings.py). The custom words themselves are managed through REST openim_dirty_words.
A change reaches the routers through im.config within a second or so.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.common import word_settings
from services.common.store.ports import App
from services.common.word_settings import ListAction
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import ERROR_RESPONSES, AdminDeps, AdminError, operator_check


class WordActionsPatch(Request):
    builtin: ListAction | None = Field(
        default=None, description="the built-in list: mask with ***, block (80001) or off"
    )
    custom: ListAction | None = Field(
        default=None, description="the app's openim_dirty_words: mask, block (80001) or off"
    )


class WordActionsView(BaseModel):
    builtin: ListAction
    custom: ListAction


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

    @router.get("/apps/{sdkappid}/sensitive-words", summary="What the app's word lists do")
    async def get_actions(sdkappid: SdkAppId) -> WordActionsView:
        actions = word_settings.actions_of(await load(sdkappid))
        return WordActionsView.model_validate(actions.doc())

    @router.patch(
        "/apps/{sdkappid}/sensitive-words",
        summary="Set what the built-in list and the app's custom words do; applies at once",
    )
    async def patch_actions(sdkappid: SdkAppId, req: WordActionsPatch) -> WordActionsView:
        app = await load(sdkappid)
        try:
            actions = word_settings.parse_actions(
                req.model_dump(exclude_none=True), word_settings.actions_of(app)
            )
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        app.settings[word_settings.SETTINGS_KEY] = actions.doc()
        await deps.apps.save_app(app)
        await deps.app_saved(sdkappid, word_settings.SETTINGS_KEY)
        return WordActionsView.model_validate(actions.doc())

    return router
