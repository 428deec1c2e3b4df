"""DeviceLogStore on Cassandra (tables device_logs and device_log_blobs in cassandra.SCHEMA_CQL),
every row written with a TTL of the 7 days kept, so nothing needs deleting.

The metadata is one partition per app, so a listing reads it without the bytes, and filters
user and page here (uploads are few: an operator asks for each; mockylla, the contract tests'
stand-in, supports neither range reads on a clustering column nor secondary indexes). The bytes
(up to the upload cap, a few MiB) are a partition of their own per upload, read only to
download it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from services.common.store.device_logs import (
    RETENTION_MS,
    DeviceLog,
    DeviceLogInfo,
    page,
)

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


_TTL_S = RETENTION_MS // 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


class CassandraDeviceLogStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._all = cql.prepare("SELECT info FROM device_logs WHERE sdkappid = ?")
        self._info = cql.prepare(
            "SELECT info FROM device_logs WHERE sdkappid = ? AND upload_id = ?"
        )
        self._body = cql.prepare(
            "SELECT body FROM device_log_blobs WHERE sdkappid = ? AND upload_id = ?"
        )
        # The TTL is spliced, not bound (mockylla cannot bind it); it is one constant. Uploads
        # are stored as they arrive, so it ends the 7 days at about uploaded_ms + RETENTION_MS,
        # and reads hide anything past that meanwhile.
        self._insert_info = cql.prepare(
            "INSERT INTO device_logs (sdkappid, upload_id, info) VALUES (?, ?, ?)"
            f" USING TTL {_TTL_S}"
        )
        self._insert_body = cql.prepare(
            "INSERT INTO device_log_blobs (sdkappid, upload_id, body) VALUES (?, ?, ?)"
            f" USING TTL {_TTL_S}"
        )

    async def add(self, info: DeviceLogInfo, body: bytes) -> None:
        if info.expired(_now_ms()):
            return
        # The bytes first: a listed upload can always be downloaded.
        await self._cql.execute(self._insert_body, (info.sdkappid, info.upload_id, body))
        await self._cql.execute(self._insert_info, (info.sdkappid, info.upload_id, info.to_doc()))

    async def list(
        self, sdkappid: int, user: str | None, before_id: str, limit: int
    ) -> list[DeviceLogInfo]:
        rows = await self._cql.execute(self._all, (sdkappid,))
        infos = (DeviceLogInfo.from_doc(r[0]) for r in rows)
        return page(infos, user, before_id, limit, _now_ms())

    async def get(self, sdkappid: int, upload_id: str) -> DeviceLog | None:
        infos, bodies = await asyncio.gather(
            self._cql.execute(self._info, (sdkappid, upload_id)),
            self._cql.execute(self._body, (sdkappid, upload_id)),
        )
        if not infos or not bodies:
            return None
        info = DeviceLogInfo.from_doc(infos[0][0])
        return None if info.expired(_now_ms()) else DeviceLog(info, bytes(bodies[0][0]))
