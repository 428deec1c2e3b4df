"""ReportStore on Cassandra (table in cassandra.SCHEMA_CQL): one partition per app, the report
as JSON. A page reads the app's partition and filters here: reports are few next to messages,
and mockylla (the contract tests' stand-in) supports neither range reads on a clustering column
nor secondary indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.store.reports import Report, page

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraReportStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._save = cql.prepare("INSERT INTO reports (sdkappid, report_id, doc) VALUES (?, ?, ?)")
        self._get = cql.prepare("SELECT doc FROM reports WHERE sdkappid = ? AND report_id = ?")
        self._all = cql.prepare("SELECT doc FROM reports WHERE sdkappid = ?")

    async def add(self, report: Report) -> None:
        await self.save(report)

    async def save(self, report: Report) -> None:
        await self._cql.execute(self._save, (report.sdkappid, report.report_id, report.to_doc()))

    async def get(self, sdkappid: int, report_id: str) -> Report | None:
        rows = await self._cql.execute(self._get, (sdkappid, report_id))
        return Report.from_doc(rows[0][0]) if rows else None

    async def list(
        self, sdkappid: int, status: str | None, before_id: str, limit: int
    ) -> list[Report]:
        rows = await self._cql.execute(self._all, (sdkappid,))
        return page([Report.from_doc(r[0]) for r in rows], status, before_id, limit)
