"""ReportStore on the embedded SQLite file: one row per report, the report as JSON."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from services.common.store.reports import Report
from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
  sdkappid INTEGER NOT NULL,
  report_id TEXT NOT NULL,
  status TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, report_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reports_by_status ON reports (sdkappid, status, report_id);
"""


class SqliteReportStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def add(self, report: Report) -> None:
        await self.save(report)

    async def save(self, report: Report) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR REPLACE INTO reports (sdkappid, report_id, status, doc)"
                " VALUES (?, ?, ?, ?)",
                (report.sdkappid, report.report_id, report.status, report.to_doc()),
            )

        await self._tables.run(write)

    async def get(self, sdkappid: int, report_id: str) -> Report | None:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT doc FROM reports WHERE sdkappid = ? AND report_id = ?",
                (sdkappid, report_id),
            ).fetchone()
        )
        return Report.from_doc(row[0]) if row else None

    async def list(
        self, sdkappid: int, status: str | None, before_id: str, limit: int
    ) -> list[Report]:
        sql = "SELECT doc FROM reports WHERE sdkappid = ?"
        params: list[object] = [sdkappid]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if before_id:
            sql += " AND report_id < ?"
            params.append(before_id)
        sql += " ORDER BY report_id DESC LIMIT ?"
        params.append(limit)
        rows = await self._tables.run(lambda c: c.execute(sql, params).fetchall())
        return [Report.from_doc(r[0]) for r in rows]
