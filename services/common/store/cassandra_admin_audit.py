"""AdminAuditStore on Cassandra (table in cassandra.SCHEMA_CQL): one partition per UTC day,
every app's entries in it, kept RETENTION_MS by TTL. A search reads the days of its range,
newest first, and filters here: admin changes are few, a search may span every app, and
mockylla (the contract tests' stand-in) supports neither range reads on a clustering column
nor secondary indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.store.admin_audit import (
    RETENTION_MS,
    AuditEntry,
    AuditQuery,
    day_of,
    matches,
)

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

# Spliced rather than bound: mockylla cannot bind a TTL.
_INSERT = (
    "INSERT INTO admin_audit (day, entry_id, doc) VALUES (?, ?, ?)"
    f" USING TTL {RETENTION_MS // 1000}"
)


class CassandraAdminAuditStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._insert = cql.prepare(_INSERT)
        self._day = cql.prepare("SELECT doc FROM admin_audit WHERE day = ?")

    async def record(self, entry: AuditEntry) -> None:
        await self._cql.execute(
            self._insert, (day_of(entry.time_ms), entry.entry_id, entry.to_doc())
        )

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        newest = query.until_ms
        if query.before_id:
            # The cursor's id starts with its entry's time: no later day can hold a match.
            newest = min(newest, int(query.before_id.partition("-")[0] or 0))
        # Nothing older than the retention is left to read.
        oldest = max(query.since_ms, query.until_ms - RETENTION_MS)
        found: list[AuditEntry] = []
        for day in range(day_of(newest), day_of(oldest) - 1, -1):
            rows = await self._cql.execute(self._day, (day,))
            entries = [AuditEntry.from_doc(r[0]) for r in rows]
            found += sorted(
                (e for e in entries if matches(e, query)), key=lambda e: e.entry_id, reverse=True
            )
            if len(found) >= query.limit:
                break
        return found[: query.limit]
