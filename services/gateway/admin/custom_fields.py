"""/admin/apps/{id}/custom-fields: the app's declared custom fields (services/common/
custom_fields.py): profile, friend, group and group-member fields, as Tencent's console
declares them. A field is declared once and never deleted, renamed or retyped; its permissions
change, and a group or member field gains group types. A change applies to requests after the
answer (the app record is read again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from services.common import custom_fields
from services.common.custom_fields import CustomFieldError, FieldExists, FieldNotFound
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError

Kind = Annotated[str, Path(description="profile, friend, group or member")]
FieldName = Annotated[str, Path(max_length=16, description="the field's name, without prefix")]


class GroupTypeRow(Request):
    read: str | None = Field(default=None, description="everyone, member, admin or owner")
    write: str | None = Field(default=None, description="everyone, member, admin or owner")
    self: str | None = Field(
        default=None, description="member fields: read_write, read, write or none"
    )


class FieldChange(Request):
    """A declaration (POST) or a change of permissions (PATCH). Which parts a kind takes:
    profile the four permissions, group and member `types`, friend none."""

    name: str | None = Field(default=None, max_length=16)
    type: str | None = Field(default=None, description="string, or integer (profile, friend)")
    app_read: bool | None = None
    app_write: bool | None = None
    admin_read: bool | None = None
    admin_write: bool | None = None
    types: dict[str, GroupTypeRow] | None = Field(
        default=None, max_length=8, description="group type -> permissions"
    )


class CustomFieldsView(BaseModel):
    profile: list[dict[str, Any]]
    friend: list[dict[str, Any]]
    group: list[dict[str, Any]]
    member: list[dict[str, Any]]


def _refusal(err: CustomFieldError) -> AdminError:
    if isinstance(err, FieldNotFound):
        return AdminError(404, "not_found", str(err))
    if isinstance(err, FieldExists):
        return AdminError(409, "already_exists", str(err))
    return AdminError(422, "invalid_argument", str(err))


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    async def change(
        sdkappid: int, kind: str, apply: Callable[[dict[str, object]], custom_fields.Field]
    ) -> dict[str, Any]:
        """Apply one declaration or change to the app's settings and save them."""
        app = await deps.load_app(sdkappid)
        try:
            changed = apply(app.settings)
        except CustomFieldError as err:
            raise _refusal(err) from None
        await deps.save_app(app, custom_fields.RULES[kind].settings_key)
        return changed.doc()

    @router.get("/apps/{sdkappid}/custom-fields", summary="The app's declared custom fields")
    async def list_fields(sdkappid: SdkAppId) -> CustomFieldsView:
        app = await deps.load_app(sdkappid)
        return CustomFieldsView.model_validate(custom_fields.view(app.settings))

    @router.post(
        "/apps/{sdkappid}/custom-fields/{kind}",
        summary="Declare one custom field; it cannot be deleted, renamed or retyped afterwards",
        dependencies=[deps.audited("custom_fields.create")],
        status_code=201,
    )
    async def add_field(sdkappid: SdkAppId, kind: Kind, req: FieldChange) -> dict[str, Any]:
        raw = req.model_dump(exclude_none=True)
        return await change(sdkappid, kind, lambda s: custom_fields.add_field(s, kind, raw))

    @router.patch(
        "/apps/{sdkappid}/custom-fields/{kind}/{name}",
        summary="Change a field's permissions, or add group types to a group or member field",
        dependencies=[deps.audited("custom_fields.update")],
    )
    async def update_field(
        sdkappid: SdkAppId, kind: Kind, name: FieldName, req: FieldChange
    ) -> dict[str, Any]:
        raw = req.model_dump(exclude_none=True)
        return await change(
            sdkappid, kind, lambda s: custom_fields.update_field(s, kind, name, raw)
        )

    return router
