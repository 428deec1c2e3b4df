"""/admin/apps/{id}/callback and /admin/apps/{id}/callbacks/dlq, .../replay: an app's
Tencent-style callback configuration, and the listing and replay of its dead-lettered
after-callbacks (the delivery log is callback_log.py).

The rules are services/common/callback_config.py and the DLQ's callback_replay.py, the same
code `tidings callback` and `tidings replay-dlq` run. A change made here reaches every service
within a second or so (im.config); one made with the CLI within the callback service's 1 s
app-cache TTL.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.common import callback_config, callback_replay
from services.common.callback_replay import DEFAULT_LIST, MAX_LIST, replay_dlq
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
    c2c_msg_fail_policy: Literal["open", "closed"] | None = Field(
        default=None,
        description="C2C.CallbackBeforeSendMsg failed or timed out: deliver (open) or refuse; "
        "null: as fail_policy",
    )
    group_msg_fail_policy: Literal["open", "closed"] | None = Field(
        default=None,
        description="Group.CallbackBeforeSendMsg failed or timed out: deliver (open) or refuse; "
        "null: as fail_policy",
    )


class CallbackView(BaseModel):
    url: str
    token: str
    commands: Literal["all"] | list[str]
    timeout_s: float
    fail_policy: Literal["open", "closed"]
    c2c_msg_fail_policy: Literal["open", "closed"] | None
    group_msg_fail_policy: Literal["open", "closed"] | None


class ReplayView(BaseModel):
    sdkappid: int
    replayed: int = Field(description="this app's dead letters put back on im.callbacks.retry")
    scanned: int = Field(description="dead letters read (every app's)")
    complete: bool = Field(description="false when the read stopped before the end; call again")


class DeadLetterView(BaseModel):
    id: str = Field(description="<partition>:<offset> in im.callbacks.dlq")
    command: str
    event_id: str = Field(description="TidingsEventId, or the Easemob rule's callId")
    rule: str = Field(description="the post-send rule it was for; empty: the app's callback")
    event_time: int = Field(description="when the event happened (Unix ms), where its body says")
    failed_at: int = Field(description="when it was dead-lettered, Unix ms")
    attempts: int = Field(description="tries from the retry topic (after the inline ones)")
    last_error: str


class DlqView(BaseModel):
    sdkappid: int
    letters: list[DeadLetterView] = Field(description="oldest first")
    scanned: int = Field(description="dead letters read (every app's)")
    complete: bool = Field(description="false when the read stopped at the limit or its time")


class LetterReplayView(BaseModel):
    sdkappid: int
    id: str
    event_id: str


LetterId = Annotated[str, Path(max_length=32, description="<partition>:<offset>")]


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

    @router.get(
        "/apps/{sdkappid}/callbacks/dlq",
        summary="The app's dead-lettered after-callbacks that a replay would put back",
    )
    async def list_dlq(
        sdkappid: SdkAppId,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = DEFAULT_LIST,
    ) -> DlqView:
        await deps.load_app(sdkappid)
        try:
            listing = await callback_replay.list_dlq(deps.settings, sdkappid, limit)
        except (KafkaError, ValueError) as err:
            raise AdminError(503, "unavailable", f"cannot read the DLQ: {err}") from None
        return DlqView(
            sdkappid=sdkappid,
            letters=[
                DeadLetterView.model_validate(callback_replay.letter_doc(x))
                for x in listing.letters
            ],
            scanned=listing.scanned,
            complete=listing.complete,
        )

    @router.post(
        "/apps/{sdkappid}/callbacks/dlq/{letter_id}/replay",
        summary="Put one dead-lettered after-callback back on the retry topic",
        dependencies=[deps.audited("callback.dlq.replay_one")],
    )
    async def replay_one(sdkappid: SdkAppId, letter_id: LetterId) -> LetterReplayView:
        try:
            callback_replay.parse_letter_id(letter_id)
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.load_app(sdkappid)
        try:
            d = await callback_replay.replay_letter(deps.settings, sdkappid, letter_id)
        except (KafkaError, ValueError) as err:
            raise AdminError(503, "unavailable", f"cannot read the DLQ: {err}") from None
        if d is None:
            raise AdminError(404, "not_found", f"app {sdkappid} has no dead letter {letter_id}")
        current_change().after = {"replayed": 1, "event_id": d.event_id}
        return LetterReplayView(sdkappid=sdkappid, id=letter_id, event_id=d.event_id)

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
