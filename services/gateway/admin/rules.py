"""/admin/apps/{id}/rules: an app's Easemob-style callback rules, pre-send and post-send.

The rules themselves (fields, limits, validation) are services/common/callback_rules.py, the
same code `tidings rules` runs. Errors beyond the common envelope (base.py):
- 409 `too_many_rules`: the app has 4 rules of that kind already;
- 409 `name_taken`: another rule of that kind has the name;
- 404 `not_found`: no rule of that name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from services.common import callback_rules
from services.common.callback_rules import POST_SEND, PRE_SEND, RuleError, RuleKind
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, current_change

RuleName = Annotated[
    str, Path(min_length=1, max_length=callback_rules.MAX_NAME_LENGTH, description="rule name")
]
FilterValues = list[Annotated[str, Field(min_length=1, max_length=128)]]

_STATUS = {"too_many_rules": 409, "name_taken": 409, "not_found": 404}


class PreSendRuleIn(Request):
    name: str = Field(min_length=1, max_length=callback_rules.MAX_NAME_LENGTH)
    url: str = Field(description="the rule's server; the same address guard as callbacks")
    chat_types: list[Literal["single", "group", "chatroom"]] = Field(
        min_length=1, description="chatroom: Tencent AVChatRoom and ChatRoom groups"
    )
    msg_types: list[Literal["txt", "img", "loc", "audio", "video", "file", "custom", "cmd"]] = (
        Field(min_length=1, description="Easemob message types (TIM elements map onto them)")
    )
    timeout_ms: int = Field(
        default=callback_rules.DEFAULT_TIMEOUT_MS,
        ge=callback_rules.MIN_TIMEOUT_MS,
        le=callback_rules.MAX_TIMEOUT_MS,
    )
    on_failure: Literal["pass", "block"] = Field(
        default="pass", description="what a failed or late answer means"
    )
    report_error: bool = Field(
        default=True, description="a blocked sender gets an error (else: silently dropped)"
    )
    enabled: bool = True
    secret: str = Field(
        default="",
        max_length=callback_rules.MAX_SECRET_LENGTH,
        description="security = md5(callId + secret + timestamp); empty: one is drawn",
    )


class PostSendRuleIn(Request):
    name: str = Field(
        min_length=1, max_length=callback_rules.MAX_NAME_LENGTH, pattern=r"^[A-Za-z0-9_]+$"
    )
    url: str
    stream: Literal["chat", "offline"] = Field(
        default="chat", description="chat: every message; offline: one event per offline member"
    )
    include_rest: bool = Field(default=True, description="messages sent through REST too")
    from_ids: FilterValues = Field(default_factory=list, max_length=50)
    to_ids: FilterValues = Field(default_factory=list, max_length=50)
    group_ids: FilterValues = Field(default_factory=list, max_length=50)
    ext_keys: FilterValues = Field(default_factory=list, max_length=50)
    enabled: bool = True
    secret: str = Field(default="", max_length=callback_rules.MAX_SECRET_LENGTH)


class PreSendRuleView(BaseModel):
    name: str
    url: str
    chat_types: list[str]
    msg_types: list[str]
    timeout_ms: int
    on_failure: str
    report_error: bool
    enabled: bool
    secret: str


class PostSendRuleView(BaseModel):
    name: str
    url: str
    stream: str
    include_rest: bool
    from_ids: list[str]
    to_ids: list[str]
    group_ids: list[str]
    ext_keys: list[str]
    enabled: bool
    secret: str


class RulesView(BaseModel):
    pre_send: list[PreSendRuleView]
    post_send: list[PostSendRuleView]


def _error(err: RuleError) -> AdminError:
    return AdminError(_STATUS.get(err.code, 422), err.code, err.message)


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/rules")
    allow_private = deps.settings.callback_allow_private

    def view(rule: callback_rules.PreSendRule | callback_rules.PostSendRule) -> dict[str, object]:
        return rule.doc()

    async def create(sdkappid: int, kind: RuleKind, body: Request) -> dict[str, object]:
        app = await deps.load_app(sdkappid)
        try:
            rule = callback_rules.add_rule(app, kind, body.model_dump(), allow_private)
        except RuleError as err:
            raise _error(err) from None
        current_change().resource = rule.name
        await deps.save_app(app, callback_rules.SETTINGS_KEY)
        return view(rule)

    async def change(sdkappid: int, kind: RuleKind, name: str, body: Request) -> dict[str, object]:
        app = await deps.load_app(sdkappid)
        try:
            rule = callback_rules.replace_rule(app, kind, name, body.model_dump(), allow_private)
        except RuleError as err:
            raise _error(err) from None
        await deps.save_app(app, callback_rules.SETTINGS_KEY)
        return view(rule)

    async def fetch(sdkappid: int, kind: RuleKind, name: str) -> dict[str, object]:
        try:
            return view(callback_rules.get_rule(await deps.load_app(sdkappid), kind, name))
        except RuleError as err:
            raise _error(err) from None

    async def remove(sdkappid: int, kind: RuleKind, name: str) -> Response:
        app = await deps.load_app(sdkappid)
        try:
            callback_rules.delete_rule(app, kind, name)
        except RuleError as err:
            raise _error(err) from None
        await deps.save_app(app, callback_rules.SETTINGS_KEY)
        return Response(status_code=204)

    @router.get("", summary="The app's pre-send and post-send rules")
    async def list_rules(sdkappid: SdkAppId) -> RulesView:
        return RulesView.model_validate(
            callback_rules.rules_of(await deps.load_app(sdkappid)).doc()
        )

    @router.post(
        "/pre-send",
        status_code=201,
        summary="Add a pre-send rule (at most 4)",
        dependencies=[deps.audited("rules.pre_send.create")],
    )
    async def add_pre(sdkappid: SdkAppId, req: PreSendRuleIn) -> PreSendRuleView:
        return PreSendRuleView.model_validate(await create(sdkappid, PRE_SEND, req))

    @router.get("/pre-send/{name}", summary="One pre-send rule")
    async def get_pre(sdkappid: SdkAppId, name: RuleName) -> PreSendRuleView:
        return PreSendRuleView.model_validate(await fetch(sdkappid, PRE_SEND, name))

    @router.put(
        "/pre-send/{name}",
        summary="Replace a pre-send rule (an empty secret keeps it)",
        dependencies=[deps.audited("rules.pre_send.replace")],
    )
    async def put_pre(sdkappid: SdkAppId, name: RuleName, req: PreSendRuleIn) -> PreSendRuleView:
        return PreSendRuleView.model_validate(await change(sdkappid, PRE_SEND, name, req))

    @router.delete(
        "/pre-send/{name}",
        status_code=204,
        summary="Delete a pre-send rule",
        dependencies=[deps.audited("rules.pre_send.delete")],
    )
    async def delete_pre(sdkappid: SdkAppId, name: RuleName) -> Response:
        return await remove(sdkappid, PRE_SEND, name)

    @router.post(
        "/post-send",
        status_code=201,
        summary="Add a post-send rule (at most 4)",
        dependencies=[deps.audited("rules.post_send.create")],
    )
    async def add_post(sdkappid: SdkAppId, req: PostSendRuleIn) -> PostSendRuleView:
        return PostSendRuleView.model_validate(await create(sdkappid, POST_SEND, req))

    @router.get("/post-send/{name}", summary="One post-send rule")
    async def get_post(sdkappid: SdkAppId, name: RuleName) -> PostSendRuleView:
        return PostSendRuleView.model_validate(await fetch(sdkappid, POST_SEND, name))

    @router.put(
        "/post-send/{name}",
        summary="Replace a post-send rule (an empty secret keeps it)",
        dependencies=[deps.audited("rules.post_send.replace")],
    )
    async def put_post(sdkappid: SdkAppId, name: RuleName, req: PostSendRuleIn) -> PostSendRuleView:
        return PostSendRuleView.model_validate(await change(sdkappid, POST_SEND, name, req))

    @router.delete(
        "/post-send/{name}",
        status_code=204,
        summary="Delete a post-send rule",
        dependencies=[deps.audited("rules.post_send.delete")],
    )
    async def delete_post(sdkappid: SdkAppId, name: RuleName) -> Response:
        return await remove(sdkappid, POST_SEND, name)

    return router
