"""/admin/audit-log and /admin/apps/{id}/audit-log: the admin audit log, newest first, a page
at a time (pass next_cursor as `cursor` for the next). Filters: app, actor, action (itself or
any below it: `rules` finds rules.pre_send.create), and since/until in Unix milliseconds (until
defaults to now, since to 7 days before; at most 93 days apart). The same search is
`tidings audit-log`; the rules are services/common/admin_audit.py.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.common import admin_audit
from services.common.store.admin_audit import AuditEntry
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, CursorPage


class AuditEntryView(BaseModel):
    entry_id: str
    sdkappid: int
    time_ms: int
    actor: str = Field(description='"operator" (admin API), the OS user (CLI), a REST admin')
    source: str = Field(description="admin_api, cli or rest")
    client_ip: str = Field(description='the caller\'s IP; "" for the CLI')
    action: str
    resource: str = Field(description="a rule, vendor, template or report within the app")
    before: Any = Field(description="what changed, as it was (secrets redacted)")
    after: Any = Field(description="what changed, as it is now (secrets redacted)")


class AuditPage(CursorPage):
    entries: list[AuditEntryView]


Actor = Annotated[
    str | None, Query(min_length=1, max_length=admin_audit.MAX_ACTOR_CHARS, description="who")
]
Action = Annotated[
    str | None,
    Query(max_length=128, pattern=admin_audit.ACTION_PATTERN, description="an action or prefix"),
]
Millis = Annotated[int | None, Query(ge=0, le=2**53, description="Unix milliseconds")]
Limit = Annotated[int, Query(ge=1, le=admin_audit.MAX_LIMIT)]
Cursor = Annotated[
    str, Query(max_length=32, description="a page's next_cursor; empty for the first page")
]


def _view(entry: AuditEntry) -> AuditEntryView:
    return AuditEntryView.model_validate(entry, from_attributes=True)


def build_router(deps: AdminDeps) -> APIRouter:
    router = deps.router()

    async def search(
        sdkappid: int | None,
        actor: str | None,
        action: str | None,
        since: int | None,
        until: int | None,
        limit: int,
        cursor: str,
    ) -> AuditPage:
        try:
            query = admin_audit.search_query(
                int(time.time() * 1000),
                sdkappid=sdkappid,
                actor=actor,
                action=action,
                since_ms=since,
                until_ms=until,
                cursor=cursor,
                limit=limit,
            )
        except ValueError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        entries = await deps.audit.search(query)
        return AuditPage(
            entries=[_view(e) for e in entries],
            next_cursor=admin_audit.next_cursor(entries, query),
        )

    @router.get("/audit-log", summary="Who changed what, in every app or one, newest first")
    async def audit_log(
        app: Annotated[int | None, Query(ge=1, le=9_999_999_999, description="SDKAppID")] = None,
        actor: Actor = None,
        action: Action = None,
        since: Millis = None,
        until: Millis = None,
        limit: Limit = admin_audit.DEFAULT_LIMIT,
        cursor: Cursor = "",
    ) -> AuditPage:
        return await search(app, actor, action, since, until, limit, cursor)

    @router.get("/apps/{sdkappid}/audit-log", summary="Who changed what in one app, newest first")
    async def app_audit_log(
        sdkappid: SdkAppId,
        actor: Actor = None,
        action: Action = None,
        since: Millis = None,
        until: Millis = None,
        limit: Limit = admin_audit.DEFAULT_LIMIT,
        cursor: Cursor = "",
    ) -> AuditPage:
        # A deleted app's entries stay searchable: the app need not exist.
        return await search(sdkappid, actor, action, since, until, limit, cursor)

    return router
