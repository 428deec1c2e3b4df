"""/admin/apps/{id}/sensitive-words: what the app's word lists do (services/common/
word_settings.py), and /admin/apps/{id}/sensitive-words/custom: the app's own words, the same
list as REST openim_dirty_words (same limits: 50 words a request, 200 bytes a word, 10,000 an
app). A change reaches the routers through im.config within a second or so.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.common import word_settings
from services.common.config_versions import ConfigNotCurrent
from services.common.errors import TidingsError
from services.common.word_settings import ListAction
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, current_change
from services.gateway.rest_v4 import openim_dirty_words


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


class CustomWordsChange(Request):
    add: list[str] = Field(default_factory=list, description="words to add")
    delete: list[str] = Field(default_factory=list, description="words to delete")


class CustomWordsView(BaseModel):
    words: list[str]


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    @router.get("/apps/{sdkappid}/sensitive-words", summary="What the app's word lists do")
    async def get_actions(sdkappid: SdkAppId) -> WordActionsView:
        actions = word_settings.actions_of(await deps.load_app(sdkappid))
        return WordActionsView.model_validate(actions.doc())

    @router.patch(
        "/apps/{sdkappid}/sensitive-words",
        summary="Set what the built-in list and the app's custom words do; applies at once",
        dependencies=[deps.audited("words.actions.update")],
    )
    async def patch_actions(sdkappid: SdkAppId, req: WordActionsPatch) -> WordActionsView:
        app = await deps.load_app(sdkappid)
        try:
            actions = word_settings.parse_actions(
                req.model_dump(exclude_none=True), word_settings.actions_of(app)
            )
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        app.settings[word_settings.SETTINGS_KEY] = actions.doc()
        await deps.save_app(app, word_settings.SETTINGS_KEY)
        return WordActionsView.model_validate(actions.doc())

    @router.get("/apps/{sdkappid}/sensitive-words/custom", summary="The app's own words")
    async def get_custom(sdkappid: SdkAppId) -> CustomWordsView:
        await deps.load_app(sdkappid)
        return CustomWordsView(words=await deps.dirty_words.list_words(sdkappid))

    @router.post(
        "/apps/{sdkappid}/sensitive-words/custom",
        summary="Add and delete the app's own words (deletes first); applies within seconds",
        dependencies=[deps.audited("words.change")],
    )
    async def change_custom(sdkappid: SdkAppId, req: CustomWordsChange) -> CustomWordsView:
        await deps.load_app(sdkappid)
        if not req.add and not req.delete:
            raise AdminError(422, "invalid_argument", "give words to add or delete")
        # The audit entry: the words deleted before, the words added after.
        change = current_change()
        try:
            # Both lists are checked before anything is written.
            to_delete = openim_dirty_words.parse_words(req.delete) if req.delete else []
            to_add = openim_dirty_words.parse_words(req.add) if req.add else []
            if to_delete:
                await openim_dirty_words.delete_words(
                    deps.dirty_words, deps.config, sdkappid, to_delete
                )
                change.before, change.saved = {"words": to_delete}, True
            if to_add:
                await openim_dirty_words.add_words(deps.dirty_words, deps.config, sdkappid, to_add)
                change.after, change.saved = {"words": to_add}, True
        except ConfigNotCurrent as err:
            raise AdminError(503, "not_in_effect", err.info) from None
        except TidingsError as err:
            raise AdminError(422, "invalid_argument", err.info) from None
        return CustomWordsView(words=await deps.dirty_words.list_words(sdkappid))

    return router
