"""/admin/apps/{id}/events: the troubleshooting event log (Tencent's 关键事件排障), the key events
the services traced onto im.trace (services/common/trace.py) as the audit service stored them.

GET searches one time range of the last 7 days, newest first, optionally by event, user,
receiver (peer), group and error code, a page at a time: pass `next_cursor` back as `cursor`
for the next page. The rules are services/common/store/trace_log.py's, shared with
`tidings events`.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import (
    DEFAULT_PAGE,
    MAX_FILTER_LEN,
    MAX_PAGE,
    RETENTION_DAYS,
    TraceQueryError,
    TraceStore,
    build_query,
)
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, CursorPage

EPOCH_MS = "Unix time in milliseconds"


class EventView(BaseModel):
    time: int = Field(description=f"when it happened, {EPOCH_MS}")
    event: str = Field(description=f"one of {', '.join(trace.KINDS)}")
    user: str = Field(description="who acted: the sender, the user who logged in, ...")
    peer: str = Field(description="the receiver of a C2C message or recall")
    group_id: str
    code: int = Field(description="0 for success, else the error code given")
    description: str
    request_id: str
    platform: str
    client_ip: str
    latency_ms: int
    detail: str = Field(description="the callback command, the push vendor, the group type")


class EventPage(CursorPage):
    events: list[EventView]


def view(e: TraceEvent) -> EventView:
    return EventView(
        time=e.time_ms,
        event=e.event,
        user=e.user,
        peer=e.peer,
        group_id=e.group_id,
        code=e.code,
        description=e.description,
        request_id=e.request_id,
        platform=e.platform,
        client_ip=e.client_ip,
        latency_ms=e.latency_ms,
        detail=e.detail,
    )


Filter = Annotated[str, Query(max_length=MAX_FILTER_LEN)]


def build_router(deps: AdminDeps, store: TraceStore) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/events")

    @router.get(
        "",
        summary="Search the app's event log (last 7 days), newest first",
        description=(
            f"Times (`since`, `until`, and `time` in the answer) are {EPOCH_MS}. `since` is"
            f" required and at most {RETENTION_DAYS} days ago; `until` defaults to now. Both"
            " ends are included. A range or an event that is not allowed is refused with 422."
        ),
    )
    async def search_events(
        sdkappid: SdkAppId,
        since: Annotated[int, Query(description=f"start of the range, {EPOCH_MS}")],
        until: Annotated[int | None, Query(description=f"end of the range, {EPOCH_MS}")] = None,
        event: Annotated[
            str, Query(max_length=32, description=f"one of {', '.join(trace.KINDS)}")
        ] = "",
        user: Filter = "",
        peer: Filter = "",
        group: Filter = "",
        code: Annotated[int | None, Query(description="0 for successes only")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str, Query(max_length=64)] = "",
    ) -> EventPage:
        try:
            query = build_query(
                sdkappid,
                since,
                until,
                int(time.time() * 1000),
                event=event,
                user=user,
                peer=peer,
                group_id=group,
                code=code,
                limit=limit,
                cursor=cursor,
            )
        except TraceQueryError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.load_app(sdkappid)
        page = await store.search(query)
        return EventPage(events=[view(e) for e in page.events], next_cursor=page.next_cursor)

    return router
