"""/admin/apps/{id}/callback and /admin/apps/{id}/callbacks/replay: an app's Tencent-style
callback configuration, and the replay of its dead-lettered after-callbacks.

The rules are services/common/callback_config.py and the replay callback_replay.py, the same
code `tidings callback` and `tidings replay-dlq` run. A change made here reaches every service
within a second or so (im.config); one made with the CLI within the callback service's 1 s
app-cache TTL.
"""

from __future__ import annotations

from typing import Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.common import callback_config
from services.common.callback_replay import replay_dlq
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, current_change


class CallbackPut(Request):
    url: str = Field(description="the app server's URL; Tencent's query string is appended")
    token: str = Field(
        default="",
        max_length=callback_config.MAX_TOKEN_LENGTH,
        description="auth token: requests carry Sign=sha256(token+RequestTime); empty: unsigned",
    )
    commands: Literal["all"] | list[str] = Field(
        default_factory=list, description='"all" or Tencent CallbackCommand names'
    )
    timeout_s: float = Field(
        default=callback_config.DEFAULT_TIMEOUT_S,
        ge=callback_config.MIN_TIMEOUT_S,
        le=callback_config.MAX_TIMEOUT_S,
        description="before-callback timeout",
    )
    fail_policy: Literal["open", "closed"] = Field(
        default="open", description="a before-callback that fails lets the action through (open)"
    )


class CallbackView(BaseModel):
    url: str
    token: str
    commands: Literal["all"] | list[str]
    timeout_s: float
    fail_policy: Literal["open", "closed"]


class ReplayView(BaseModel):
    sdkappid: int
    replayed: int = Field(description="this app's dead letters put back on im.callbacks.retry")
    scanned: int = Field(description="dead letters read (every app's)")
    complete: bool = Field(description="false when the read stopped before the end; call again")


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    @router.get("/apps/{sdkappid}/callback", summary="The app's callback configuration")
    async def get_callback(sdkappid: SdkAppId) -> CallbackView:
        doc = callback_config.view(await deps.load_app(sdkappid))
        if doc is None:
            raise AdminError(404, "not_found", f"app {sdkappid} has no callback configured")
        return CallbackView.model_validate(doc)

    @router.put(
        "/apps/{sdkappid}/callback",
        summary="Set the app's callback URL, token, commands, timeout and fail policy",
        dependencies=[deps.audited("callback.update")],
    )
    async def put_callback(sdkappid: SdkAppId, req: CallbackPut) -> CallbackView:
        app = await deps.load_app(sdkappid)
        try:
            config = callback_config.parse_config(
                req.model_dump(), deps.settings.callback_allow_private
            )
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        app.settings[callback_config.SETTINGS_KEY] = config.doc()
        await deps.save_app(app, callback_config.SETTINGS_KEY)
        return CallbackView.model_validate(config.doc())

    @router.post(
        "/apps/{sdkappid}/callbacks/replay",
        summary="Put the app's dead-lettered after-callbacks back on the retry topic",
        dependencies=[deps.audited("callback.dlq.replay")],
    )
    async def replay(sdkappid: SdkAppId) -> ReplayView:
        await deps.load_app(sdkappid)
        try:
            result = await replay_dlq(deps.settings, sdkappid)
        except (KafkaError, ValueError) as err:
            raise AdminError(503, "unavailable", f"cannot read the DLQ: {err}") from None
        current_change().after = {"replayed": result.replayed}
        return ReplayView(
            sdkappid=sdkappid,
            replayed=result.replayed,
            scanned=result.scanned,
            complete=result.complete,
        )

    return router
