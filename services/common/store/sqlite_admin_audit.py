"""AdminAuditStore on the embedded SQLite file: one row per entry, the entry as JSON beside the
columns a search filters on."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from services.common.store.admin_audit import RETENTION_MS, AuditEntry, AuditQuery
from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_audit (
  entry_id TEXT NOT NULL PRIMARY KEY,
  sdkappid INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS admin_audit_by_app ON admin_audit (sdkappid, entry_id);
CREATE INDEX IF NOT EXISTS admin_audit_by_time ON admin_audit (time_ms);
"""


class SqliteAdminAuditStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def record(self, entry: AuditEntry) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM admin_audit WHERE time_ms < ?", (entry.time_ms - RETENTION_MS,))
            c.execute(
                "INSERT OR REPLACE INTO admin_audit"
                " (entry_id, sdkappid, time_ms, actor, action, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.entry_id,
                    entry.sdkappid,
                    entry.time_ms,
                    entry.actor,
                    entry.action,
                    entry.to_doc(),
                ),
            )

        await self._tables.run(write)

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        sql = "SELECT doc FROM admin_audit WHERE time_ms BETWEEN ? AND ?"
        params: list[object] = [query.since_ms, query.until_ms]
        if query.sdkappid is not None:
            sql += " AND sdkappid = ?"
            params.append(query.sdkappid)
        if query.actor is not None:
            sql += " AND actor = ?"
            params.append(query.actor)
        if query.action is not None:
            # The action itself or one below it; substr, as LIKE would read "_" as a wildcard.
            sql += " AND (action = ? OR substr(action, 1, ?) = ?)"
            params += [query.action, len(query.action) + 1, query.action + "."]
        if query.before_id:
            sql += " AND entry_id < ?"
            params.append(query.before_id)
        sql += " ORDER BY entry_id DESC LIMIT ?"
        params.append(query.limit)
        rows = await self._tables.run(lambda c: c.execute(sql, params).fetchall())
        return [AuditEntry.from_doc(r[0]) for r in rows]
