"""/admin/apps/{id}/stats: the app's daily statistics (UTC days) from the stats store, which
the audit service's stream processing writes (services/audit/stats.py). `days` (1..90) ends
today; the 7/14/30-day ranges are days=7, 14 and 30. Each day carries its change from the day
before. `format=csv` answers the same as CSV (services/common/store/stats_report.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from services.common.store.stats import StatsStore
from services.common.store.stats_report import MAX_DAYS, daily_report, report_doc, to_csv
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps


class DailyStats(BaseModel):
    sdkappid: int
    timezone: Literal["UTC"] = "UTC"
    days: list[dict[str, object]] = Field(
        description="oldest first: each day's figures and `change` (delta and percent) from "
        "the day before"
    )


def build_router(deps: AdminDeps, store: StatsStore) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/stats")

    @router.get(
        "",
        summary="Daily statistics (UTC days) with day-over-day change, as JSON or CSV",
        response_model=DailyStats,
        responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV"}},
    )
    async def get_stats(
        sdkappid: SdkAppId,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="days ending today")] = 7,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> DailyStats | PlainTextResponse:
        await deps.load_app(sdkappid)
        reports = await daily_report(store, sdkappid, days)
        if format == "csv":
            return PlainTextResponse(
                to_csv(reports),
                media_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="stats-{sdkappid}-{days}d.csv"'
                },
            )
        return DailyStats(sdkappid=sdkappid, days=report_doc(reports))

    return router
