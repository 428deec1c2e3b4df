"""/admin/apps/{id}/reports: the messages an app's users reported, for the operator to review.

- GET lists them newest first, optionally of one status (pending, upheld, dismissed), a page
  at a time: pass the last id of a page as `before` for the next.
- POST .../{report_id}/resolve sets the outcome (upheld: the message breaks the rules;
  dismissed: it does not) with a note, and may recall the message, as a REST recall would
  (admin_msgwithdraw, group_msg_recall): everyone in the conversation sees it recalled.
  Resolving again changes the outcome; a message already recalled stays so.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.common.errors import TidingsError
from services.common.store.reports import Report
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, current_change
from services.gateway.handlers import recall as recalls
from services.gateway.rest_v4.context import RestDeps

ReportId = Annotated[str, Path(min_length=1, max_length=64, description="the report's id")]
MAX_PAGE = 100


class ReportView(BaseModel):
    report_id: str
    reporter: str
    conversation: str
    seq: int
    sender: str
    group_id: str
    category: str
    reason: str
    msg_body: list[dict[str, object]] = Field(description="the message as it was reported")
    cloud_custom_data: str
    msg_time_ms: int
    created_ms: int
    status: Literal["pending", "upheld", "dismissed"]
    note: str
    resolved_ms: int
    recalled: bool


class ReportPage(BaseModel):
    reports: list[ReportView]
    next_before: str = Field(description="pass as `before` for the next page; empty at the end")


class Resolve(Request):
    status: Literal["upheld", "dismissed"]
    note: str = Field(default="", max_length=1024)
    recall: bool = Field(default=False, description="recall the reported message too")


def _view(report: Report) -> ReportView:
    return ReportView.model_validate(report, from_attributes=True)


def build_router(deps: AdminDeps, rest: RestDeps) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/reports")

    async def recall(report: Report) -> None:
        got = await rest.archive.get(report.sdkappid, report.conversation, [report.seq])
        in_group = bool(report.group_id)
        try:
            target = got[0] if got else None
            await recalls.recall(rest.publisher, target, in_group, recalls.rest_origin())
        except TidingsError as refused:
            if refused.code in recalls.ALREADY_RECALLED:
                return
            if refused.code in recalls.GONE:
                raise AdminError(
                    409, "message_gone", "the reported message no longer exists"
                ) from None
            raise AdminError(
                503, "unavailable", f"the recall failed: {int(refused.code)} {refused.info}"
            ) from None

    @router.get("", summary="The app's message reports, newest first")
    async def list_reports(
        sdkappid: SdkAppId,
        status: Annotated[
            Literal["pending", "upheld", "dismissed"] | None, Query(description="only these")
        ] = None,
        before: Annotated[str, Query(max_length=64, description="a page's last id")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    ) -> ReportPage:
        await deps.load_app(sdkappid)
        reports = await rest.stores.reports.list(sdkappid, status, before, limit)
        return ReportPage(
            reports=[_view(r) for r in reports],
            next_before=reports[-1].report_id if len(reports) == limit else "",
        )

    @router.get("/{report_id}", summary="One report")
    async def get_report(sdkappid: SdkAppId, report_id: ReportId) -> ReportView:
        await deps.load_app(sdkappid)
        report = await rest.stores.reports.get(sdkappid, report_id)
        if report is None:
            raise AdminError(404, "not_found", f"app {sdkappid} has no report {report_id}")
        return _view(report)

    @router.post(
        "/{report_id}/resolve",
        summary="Resolve a report (upheld or dismissed), optionally recalling the message",
        dependencies=[deps.audited("reports.resolve")],
    )
    async def resolve(sdkappid: SdkAppId, report_id: ReportId, req: Resolve) -> ReportView:
        await deps.load_app(sdkappid)
        report = await rest.stores.reports.get(sdkappid, report_id)
        if report is None:
            raise AdminError(404, "not_found", f"app {sdkappid} has no report {report_id}")
        change = current_change()
        change.before = {"status": report.status, "note": report.note, "recalled": report.recalled}
        if req.recall:
            await recall(report)
            report.recalled = change.saved = True
        report.status = req.status
        report.note = req.note
        report.resolved_ms = int(time.time() * 1000)
        await rest.stores.reports.save(report)
        change.after = {"status": report.status, "note": report.note, "recalled": report.recalled}
        return _view(report)

    return router
