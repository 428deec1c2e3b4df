"""/admin/apps/{id}/push: an app's push vendor credentials and push templates.

The checks, the stored form and the redaction are services/common/push_config.py, the same
code `tidings push` runs. Credentials are answered redacted only (a secret's first four
characters); stored ones that no longer pass the checks (a certificate expired since) are
answered as {"unusable": why, "sandbox": ...}. Errors beyond the common envelope (base.py):
- 404 `not_found`: the app has no credentials for that vendor, or no template of that name;
- 409 `too_many_templates`: the app has push_config.MAX_TEMPLATES templates already;
- 422 `invalid_argument`: credentials that fail their checks (a key that does not load, a
  missing field), a bad template, or a preview whose arguments do not fit the template.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from services.common import push_config, push_templates
from services.common.push_config import PushConfigError
from services.common.push_templates import TemplateError
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError

Vendor = Annotated[
    Literal["apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "meizu"],
    Path(description="the push vendor"),
]
TemplateName = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9]{1,64}$",
        description="1 to 64 letters and digits; `default` "
        "applies to every message that names no template",
    ),
]
Piece = Annotated[str, Field(max_length=push_templates.MAX_PATTERN_CHARS)]
Arg = Annotated[str, Field(max_length=push_templates.MAX_ARG_CHARS)]

_STATUS = {"not_found": 404, "too_many_templates": 409}


class CredentialsIn(Request):
    credentials: dict[str, Any] = Field(
        description="the vendor's fields: apns {team_id, key_id, private_key_pem, bundle_id} "
        "or {cert_pem, key_pem, bundle_id}; fcm: the service-account key file as it is; "
        "huawei {app_id, client_secret}; xiaomi {app_secret, package_name}; oppo {app_key, "
        "master_secret}; vivo {app_id, app_key, app_secret}; meizu {app_id, app_secret}",
        max_length=32,
    )
    sandbox: bool = Field(
        default=False,
        description="APNs: the sandbox (development) endpoint; vivo: test pushes; the other "
        "vendors have none (kept for the record)",
    )


class TemplateIn(Request):
    title: list[Piece] = Field(
        min_length=1, max_length=push_templates.MAX_PIECES, description="pieces, joined in order"
    )
    content: list[Piece] = Field(min_length=1, max_length=push_templates.MAX_PIECES)


class TemplateView(BaseModel):
    name: str
    title: list[str]
    content: list[str]


class TemplatesView(BaseModel):
    templates: list[TemplateView]


class PreviewIn(Request):
    sender: str = Field(
        alias="from", min_length=1, max_length=128, description="the sender's user id"
    )
    from_nickname: str = Field(
        default="", max_length=128, description="the sender's push nickname (else its id)"
    )
    msg: str = Field(default="", max_length=4096, description="the message's text, as {$msg}")
    remark: str = Field(
        default="", max_length=128, description="the receiver's remark for the sender"
    )
    group_nickname: str = Field(default="", max_length=128, description="group messages")
    title_args: list[Arg] | None = Field(default=None, max_length=push_templates.MAX_ARGS)
    content_args: list[Arg] | None = Field(default=None, max_length=push_templates.MAX_ARGS)


class PreviewView(BaseModel):
    title: str
    content: str


def _error(err: PushConfigError) -> AdminError:
    return AdminError(_STATUS.get(err.code, 422), err.code, err.message)


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/push")

    @router.get("/credentials", summary="The app's push credentials of every vendor, redacted")
    async def list_credentials(sdkappid: SdkAppId) -> dict[str, dict[str, Any]]:
        return push_config.credentials_view(await deps.load_app(sdkappid))

    @router.get("/credentials/{vendor}", summary="One vendor's push credentials, redacted")
    async def get_credentials(sdkappid: SdkAppId, vendor: Vendor) -> dict[str, Any]:
        try:
            return push_config.credential_view(await deps.load_app(sdkappid), vendor)
        except PushConfigError as err:
            raise _error(err) from None

    @router.put(
        "/credentials/{vendor}",
        summary="Set a vendor's push credentials (checked; answered redacted)",
        dependencies=[deps.audited("push.credentials.set")],
    )
    async def put_credentials(
        sdkappid: SdkAppId, vendor: Vendor, req: CredentialsIn
    ) -> dict[str, Any]:
        app = await deps.load_app(sdkappid)
        try:
            view = push_config.set_credentials(app, vendor, req.credentials, req.sandbox)
        except PushConfigError as err:
            raise _error(err) from None
        await deps.save_app(app, push_config.SETTINGS_KEY)
        return view

    @router.delete(
        "/credentials/{vendor}",
        status_code=204,
        summary="Remove a vendor's push credentials",
        dependencies=[deps.audited("push.credentials.delete")],
    )
    async def delete_credentials(sdkappid: SdkAppId, vendor: Vendor) -> Response:
        app = await deps.load_app(sdkappid)
        try:
            push_config.delete_credentials(app, vendor)
        except PushConfigError as err:
            raise _error(err) from None
        await deps.save_app(app, push_config.SETTINGS_KEY)
        return Response(status_code=204)

    @router.get("/templates", summary="The app's push templates")
    async def list_templates(sdkappid: SdkAppId) -> TemplatesView:
        views = push_config.templates_view(await deps.load_app(sdkappid))
        return TemplatesView.model_validate({"templates": views})

    @router.get("/templates/{name}", summary="One push template")
    async def get_template(sdkappid: SdkAppId, name: TemplateName) -> TemplateView:
        try:
            view = push_config.template_view(await deps.load_app(sdkappid), name)
        except PushConfigError as err:
            raise _error(err) from None
        return TemplateView.model_validate(view)

    @router.put(
        "/templates/{name}",
        summary=f"Create or replace a push template (at most {push_config.MAX_TEMPLATES})",
        dependencies=[deps.audited("push.templates.set")],
    )
    async def put_template(sdkappid: SdkAppId, name: TemplateName, req: TemplateIn) -> TemplateView:
        app = await deps.load_app(sdkappid)
        try:
            view = push_config.set_template(app, name, req.title, req.content)
        except PushConfigError as err:
            raise _error(err) from None
        await deps.save_app(app, push_config.SETTINGS_KEY)
        return TemplateView.model_validate(view)

    @router.delete(
        "/templates/{name}",
        status_code=204,
        summary="Delete a push template",
        dependencies=[deps.audited("push.templates.delete")],
    )
    async def delete_template(sdkappid: SdkAppId, name: TemplateName) -> Response:
        app = await deps.load_app(sdkappid)
        try:
            push_config.delete_template(app, name)
        except PushConfigError as err:
            raise _error(err) from None
        await deps.save_app(app, push_config.SETTINGS_KEY)
        return Response(status_code=204)

    @router.post(
        "/templates/{name}/preview",
        summary="Render a push template for a sample message",
    )
    async def preview_template(
        sdkappid: SdkAppId, name: TemplateName, req: PreviewIn
    ) -> PreviewView:
        sample = push_config.Sample(
            sender_id=req.sender,
            msg=req.msg,
            from_nickname=req.from_nickname,
            remark=req.remark,
            group_nickname=req.group_nickname,
            title_args=req.title_args,
            content_args=req.content_args,
        )
        try:
            title, content = push_config.preview(await deps.load_app(sdkappid), name, sample)
        except PushConfigError as err:
            raise _error(err) from None
        except TemplateError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        return PreviewView(title=title, content=content)

    return router
