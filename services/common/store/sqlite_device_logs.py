"""DeviceLogStore on the embedded SQLite file: one row per upload, its metadata as JSON beside
its bytes. Uploads are few (an operator asks for each), so each write first deletes every row
past the 7 days kept, of every app, in the same transaction: no schedule is needed, and reads
never return such rows anyway."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from services.common.store.device_logs import RETENTION_MS, DeviceLog, DeviceLogInfo
from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS device_logs (
  sdkappid INTEGER NOT NULL,
  upload_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  uploaded_ms INTEGER NOT NULL,
  info TEXT NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (sdkappid, upload_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_logs_by_user ON device_logs (sdkappid, user_id, upload_id);
CREATE INDEX IF NOT EXISTS device_logs_by_time ON device_logs (uploaded_ms);
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqliteDeviceLogStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def add(self, info: DeviceLogInfo, body: bytes) -> None:
        oldest_kept = _now_ms() - RETENTION_MS

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            with c:
                c.execute("DELETE FROM device_logs WHERE uploaded_ms <= ?", (oldest_kept,))
                if info.uploaded_ms > oldest_kept:
                    c.execute(
                        "INSERT OR REPLACE INTO device_logs"
                        " (sdkappid, upload_id, user_id, uploaded_ms, info, body)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            info.sdkappid,
                            info.upload_id,
                            info.user,
                            info.uploaded_ms,
                            info.to_doc(),
                            body,
                        ),
                    )

        await self._tables.run(write)

    async def list(
        self, sdkappid: int, user: str | None, before_id: str, limit: int
    ) -> list[DeviceLogInfo]:
        sql = "SELECT info FROM device_logs WHERE sdkappid = ? AND uploaded_ms > ?"
        params: list[object] = [sdkappid, _now_ms() - RETENTION_MS]
        if user is not None:
            sql += " AND user_id = ?"
            params.append(user)
        if before_id:
            sql += " AND upload_id < ?"
            params.append(before_id)
        sql += " ORDER BY upload_id DESC LIMIT ?"
        params.append(limit)
        rows = await self._tables.run(lambda c: c.execute(sql, params).fetchall())
        return [DeviceLogInfo.from_doc(r[0]) for r in rows]

    async def get(self, sdkappid: int, upload_id: str) -> DeviceLog | None:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT info, body FROM device_logs"
                " WHERE sdkappid = ? AND upload_id = ? AND uploaded_ms > ?",
                (sdkappid, upload_id, _now_ms() - RETENTION_MS),
            ).fetchone()
        )
        return DeviceLog(DeviceLogInfo.from_doc(row[0]), bytes(row[1])) if row else None
