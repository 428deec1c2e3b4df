"""/admin/apps/{id}/callbacks/deliveries: the callback delivery log, one item per HTTP try of a
callback to the app server (Tencent's callback or an Easemob rule), newest first. It is the
event log's `callback` records, read by services/common/callback_log.py, the same code
`tidings callback deliveries` runs.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.common.callback_log import (
    MAX_COMMAND_LEN,
    check_search,
    search_deliveries,
)
from services.common.store.trace_log import DEFAULT_PAGE, MAX_PAGE, TraceQueryError, TraceStore
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, CursorPage
from services.gateway.admin.events import EPOCH_MS


class DeliveryView(BaseModel):
    time_ms: int = Field(description=f"when the try ended, {EPOCH_MS}")
    command: str = Field(description="the CallbackCommand, or the Easemob rule's label")
    target_host: str = Field(description="the host (and port) posted to")
    outcome: Literal["ok", "failed"]
    http_status: int = Field(description="the status of a non-2xx answer; 0 otherwise")
    error: str = Field(description="why the try failed; empty when it did not")
    attempt: int = Field(description="1 to 3 inline, then 3 + n for the n-th retry-topic try")
    latency_ms: int
    event_id: str = Field(description="TidingsEventId or callId: the same on every try")


class DeliveryPageView(CursorPage):
    deliveries: list[DeliveryView]


def build_router(deps: AdminDeps, store: TraceStore) -> APIRouter:
    router = deps.router()

    @router.get(
        "/apps/{sdkappid}/callbacks/deliveries",
        summary="The app's callback delivery log (last 7 days), newest first",
        description=(
            f"`since` (default: a day ago) and `until` (default: now) are {EPOCH_MS}, within the"
            " 7 days the event log keeps. A short page with a `next_cursor` means the filters"
            " matched little of what was read: pass the cursor to read on."
        ),
    )
    async def deliveries(
        sdkappid: SdkAppId,
        since: Annotated[int | None, Query(description=EPOCH_MS)] = None,
        until: Annotated[int | None, Query(description=EPOCH_MS)] = None,
        command: Annotated[str, Query(max_length=MAX_COMMAND_LEN)] = "",
        outcome: Annotated[Literal["ok", "failed"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str, Query(max_length=64)] = "",
    ) -> DeliveryPageView:
        try:
            search = check_search(
                sdkappid,
                since,
                until,
                int(time.time() * 1000),
                command=command,
                outcome=outcome or "",
                limit=limit,
                cursor=cursor,
            )
        except TraceQueryError as err:
            raise AdminError(422, "invalid_argument", str(err)) from None
        await deps.load_app(sdkappid)
        page = await search_deliveries(store, search)
        return DeliveryPageView(
            deliveries=[
                DeliveryView.model_validate(dataclasses.asdict(d)) for d in page.deliveries
            ],
            next_cursor=page.next_cursor,
        )

    return router
