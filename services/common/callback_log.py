"""The callback delivery log: the event log's `callback` records (one per HTTP try, written by
the callback service, services/callback/tracing.py), searched with the event log's own query
(services/common/store/trace_log.py) and filtered by command and outcome on top of it. Shared
by GET /admin/apps/{id}/callbacks/deliveries and `tidings callback deliveries`.

The store filters by event and code only, so a command or a "failed" filter reads whole pages
of callback records and keeps the matching ones: at most MAX_PAGES_READ pages a call; when
they run out first, the page answered is short and `next_cursor` resumes the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import (
    DAY_MS,
    MAX_PAGE,
    Position,
    TraceQueryError,
    TraceStore,
    build_query,
    encode_cursor,
    record_id,
)

Outcome = Literal["ok", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed")
MAX_COMMAND_LEN = 64
# Pages of the event log read for one page of deliveries.
MAX_PAGES_READ = 10
DEFAULT_SINCE_MS = DAY_MS

_CODE_NAMES = {
    trace.CALLBACK_TIMEOUT: "timeout",
    trace.CALLBACK_UNREACHABLE: "unreachable",
    trace.CALLBACK_ADDRESS: "address not allowed",
    trace.CALLBACK_TOO_LARGE: "answer too large",
}


@dataclass(frozen=True, slots=True)
class CallbackDelivery:
    time_ms: int
    command: str
    # The host (and port) posted to; "" for records traced before it was recorded.
    target_host: str
    outcome: Outcome
    # The HTTP status of a non-2xx answer; 0 for a 2xx answer or no answer at all.
    http_status: int
    # Why the try failed ("" when it did not).
    error: str
    # 1 to 3 inline, then 3 + n for the n-th try from the retry topic; 0: not recorded.
    attempt: int
    latency_ms: int
    # TidingsEventId (Tencent callbacks) or callId (Easemob rules): the same on every try.
    event_id: str


@dataclass(frozen=True, slots=True)
class DeliverySearch:
    """A checked search of the delivery log."""

    sdkappid: int
    since_ms: int
    until_ms: int | None
    now_ms: int
    command: str = ""
    outcome: Outcome | None = None
    limit: int = 20
    cursor: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[CallbackDelivery]
    # Pass back as `cursor` for what follows; "" at the end.
    next_cursor: str


def delivery_of(e: TraceEvent) -> CallbackDelivery:
    ok = e.code == 0
    error = "" if ok else e.description or _CODE_NAMES.get(e.code, f"HTTP {e.code}")
    return CallbackDelivery(
        time_ms=e.time_ms,
        command=e.detail,
        target_host=e.target_host,
        outcome="ok" if ok else "failed",
        http_status=e.code if e.code >= 100 else 0,
        error=error,
        attempt=e.attempt,
        latency_ms=e.latency_ms,
        event_id=e.request_id,
    )


def check_search(
    sdkappid: int,
    since_ms: int | None,
    until_ms: int | None,
    now_ms: int,
    *,
    command: str = "",
    outcome: str = "",
    limit: int = 20,
    cursor: str = "",
) -> DeliverySearch:
    """The search asked for, checked before any store is read (TraceQueryError says why);
    `since_ms` defaults to a day ago."""
    if len(command) > MAX_COMMAND_LEN:
        raise TraceQueryError(f"command is longer than {MAX_COMMAND_LEN} characters")
    if outcome and outcome not in OUTCOMES:
        raise TraceQueryError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if not 1 <= limit <= MAX_PAGE:
        raise TraceQueryError(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    since = now_ms - DEFAULT_SINCE_MS if since_ms is None else since_ms
    # The event log's own checks of the range and the cursor.
    build_query(sdkappid, since, until_ms, now_ms, cursor=cursor)
    return DeliverySearch(
        sdkappid,
        since,
        until_ms,
        now_ms,
        command,
        "ok" if outcome == "ok" else "failed" if outcome == "failed" else None,
        limit,
        cursor,
    )


def _wanted(search: DeliverySearch, e: TraceEvent) -> bool:
    return (not search.command or e.detail == search.command) and (
        search.outcome != "failed" or e.code != 0
    )


async def search_deliveries(store: TraceStore, search: DeliverySearch) -> DeliveryPage:
    """The app's callback tries in the range, newest first, that pass the filters."""
    found: list[TraceEvent] = []
    cursor = search.cursor
    for _ in range(MAX_PAGES_READ):
        query = build_query(
            search.sdkappid,
            search.since_ms,
            search.until_ms,
            search.now_ms,
            event=trace.CALLBACK,
            code=0 if search.outcome == "ok" else None,
            limit=MAX_PAGE,
            cursor=cursor,
        )
        page = await store.search(query)
        for e in page.events:
            if not _wanted(search, e):
                continue
            found.append(e)
            if len(found) == search.limit:
                last = Position(e.time_ms, record_id(e))
                return DeliveryPage([delivery_of(x) for x in found], encode_cursor(last))
        cursor = page.next_cursor
        if not cursor:
            break
    return DeliveryPage([delivery_of(x) for x in found], cursor)
