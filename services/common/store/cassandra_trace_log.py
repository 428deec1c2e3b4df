"""TraceStore on Cassandra (table trace_log in cassandra.SCHEMA_CQL): partitioned by (app, UTC
day), clustered by time and record id descending, each row written with a TTL of the 7 days
kept, so nothing needs deleting.

A search walks the day partitions of its range, newest first, and filters event, user, peer,
group and code here, on the decoded records: a table per filter would multiply every write,
and Cassandra filters no better than this on non-key columns. What one page costs is bounded:
it reads at most SCAN_CAP rows (about 8 partitions at most, as the range is at most 7 days).
When the cap is reached before the page is full, the page returns what matched so far (maybe
nothing) with a cursor at the last row read, and the next page carries on from there.

mockylla (the contract tests' stand-in) orders rows by the first clustering column only and
ignores multi-column slices, so the cursor's millisecond is read as its own query and every
partition's rows are put in order here; on a real cluster that sort finds them in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import (
    DAY_MS,
    RETENTION_MS,
    Position,
    TracePage,
    TraceQuery,
    day_of,
    encode_cursor,
    record_id,
    writable,
)

if TYPE_CHECKING:
    from cassandra.query import PreparedStatement

    from services.common.store.cassandra import CassandraSession

# Rows one page reads at most, whatever its filters: a selective filter over a busy app gets
# short (even empty) pages with a cursor rather than a read of the whole week.
SCAN_CAP = 1000


def _ordered(rows: list[Any]) -> list[tuple[int, str, bytes]]:
    return sorted(((r[0], r[1], r[2]) for r in rows), reverse=True)


class CassandraTraceStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        # The TTL is spliced, not bound (mockylla cannot bind it); it is one constant.
        self._insert = cql.prepare(
            "INSERT INTO trace_log (sdkappid, day, time_ms, record_id, body)"
            f" VALUES (?, ?, ?, ?, ?) USING TTL {RETENTION_MS // 1000}"
        )
        self._range = cql.prepare(
            "SELECT time_ms, record_id, body FROM trace_log WHERE sdkappid = ? AND day = ?"
            " AND time_ms >= ? AND time_ms <= ? ORDER BY time_ms DESC LIMIT ?"
        )
        self._tied = cql.prepare(
            "SELECT time_ms, record_id, body FROM trace_log WHERE sdkappid = ? AND day = ?"
            " AND time_ms = ? AND record_id < ? LIMIT ?"
        )

    async def append(self, events: Sequence[TraceEvent]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._insert,
                    (e.sdkappid, day_of(e.time_ms), e.time_ms, record_id(e), e.SerializeToString()),
                )
                for e in writable(events, int(time.time() * 1000))
            )
        )

    async def search(self, query: TraceQuery) -> TracePage:
        cap = SCAN_CAP
        app, after = query.sdkappid, query.after
        upper = query.until_ms if after is None else min(query.until_ms, after.time_ms)
        found: list[tuple[Position, TraceEvent]] = []
        scanned = 0
        last = Position(0, "")

        for day in range(day_of(upper), day_of(query.since_ms) - 1, -1):
            reads: list[tuple[PreparedStatement, tuple[object, ...]]] = []
            top = min(upper, day * DAY_MS + DAY_MS - 1)
            if after is not None and after.time_ms == top:
                # The rest of the cursor's millisecond, then what is older.
                reads.append((self._tied, (app, day, after.time_ms, after.record_id)))
                top -= 1
            bottom = max(query.since_ms, day * DAY_MS)
            if top >= bottom:
                reads.append((self._range, (app, day, bottom, top)))
            for statement, params in reads:
                rows = await self._cql.execute(statement, (*params, cap - scanned))
                for time_ms, rid, body in _ordered(rows):
                    scanned += 1
                    last = Position(time_ms, rid)
                    event = TraceEvent.FromString(body)
                    if query.matches(event):
                        found.append((last, event))
                    if len(found) > query.limit:
                        return TracePage(
                            events=[e for _, e in found[: query.limit]],
                            next_cursor=encode_cursor(found[query.limit - 1][0]),
                        )
                if scanned >= cap:
                    return TracePage(events=[e for _, e in found], next_cursor=encode_cursor(last))
        return TracePage(events=[e for _, e in found])

    async def expire(self, before_ms: int) -> int:
        # Every row carries its TTL.
        return 0
