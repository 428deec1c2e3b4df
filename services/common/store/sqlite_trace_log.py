"""TraceStore on the embedded SQLite file: one row per record, keyed (app, time, record id),
the record as its protobuf bytes beside the columns a search filters on. Nothing expires by
itself here: the audit service deletes rows past the 7 days kept on a schedule (`expire`), and
searches never reach past them anyway."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.sqlite_tables import LazyTables
from services.common.store.trace_log import (
    Position,
    TracePage,
    TraceQuery,
    encode_cursor,
    record_id,
    writable,
)

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trace_log (
  sdkappid INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  event TEXT NOT NULL,
  user_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  group_id TEXT NOT NULL,
  code INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (sdkappid, time_ms, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_log_by_user ON trace_log (sdkappid, user_id, time_ms);
CREATE INDEX IF NOT EXISTS trace_log_by_time ON trace_log (time_ms);
"""

_INSERT = (
    "INSERT OR IGNORE INTO trace_log"
    " (sdkappid, time_ms, record_id, event, user_id, peer, group_id, code, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# Deleted a slice at a time, so that the write lock is never held for long against the
# archive's writes in the same file.
_EXPIRE_SLICE = 5000


class SqliteTraceStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def append(self, events: Sequence[TraceEvent]) -> None:
        rows = [
            (
                e.sdkappid,
                e.time_ms,
                record_id(e),
                e.event,
                e.user,
                e.peer,
                e.group_id,
                e.code,
                e.SerializeToString(),
            )
            for e in writable(events, int(time.time() * 1000))
        ]
        await self._tables.write_many(_INSERT, rows)

    async def search(self, query: TraceQuery) -> TracePage:
        sql = "SELECT time_ms, record_id, body FROM trace_log WHERE sdkappid = ?"
        sql += " AND time_ms >= ? AND time_ms <= ?"
        params: list[object] = [query.sdkappid, query.since_ms, query.until_ms]
        if query.after is not None:
            sql += " AND (time_ms, record_id) < (?, ?)"
            params += [query.after.time_ms, query.after.record_id]
        for column, value in (
            ("event", query.event),
            ("user_id", query.user),
            ("peer", query.peer),
            ("group_id", query.group_id),
        ):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        if query.code is not None:
            sql += " AND code = ?"
            params.append(query.code)
        # One more than a page: whether another page follows.
        sql += " ORDER BY time_ms DESC, record_id DESC LIMIT ?"
        params.append(query.limit + 1)
        rows = await self._tables.run(lambda c: c.execute(sql, params).fetchall())
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return TracePage(
            events=[TraceEvent.FromString(r[2]) for r in page],
            next_cursor=encode_cursor(Position(page[-1][0], page[-1][1])) if more else "",
        )

    async def expire(self, before_ms: int) -> int:
        def delete_slice(c: sqlite3.Connection) -> int:
            return c.execute(
                "DELETE FROM trace_log WHERE (sdkappid, time_ms, record_id) IN"
                " (SELECT sdkappid, time_ms, record_id FROM trace_log WHERE time_ms < ? LIMIT ?)",
                (before_ms, _EXPIRE_SLICE),
            ).rowcount

        deleted = 0
        while True:
            n = await self._tables.run(delete_slice)
            deleted += n
            if n < _EXPIRE_SLICE:
                return deleted
