"""Archive im.messages into the message store, one write per batch, idempotent by seq."""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.common.app_cache import AppCache
from services.common.bus import Record
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.retention import retention_seconds
from services.common.store.ports import MessageStore


class Archiver:
    def __init__(self, messages: MessageStore, apps: AppCache) -> None:
        self._messages = messages
        self._apps = apps

    async def handle(self, records: Sequence[Record]) -> None:
        decoded = [Message.FromString(r.value) for r in records]
        by_ttl: dict[int, list[Message]] = {}
        for m in decoded:
            app = await self._apps.get(m.sdkappid)
            ttl = retention_seconds(app.edition if app else "Developer")
            by_ttl.setdefault(ttl, []).append(m)
        for ttl, batch in by_ttl.items():
            await self._messages.append(batch, ttl_s=ttl)
        now_ms = time.time() * 1000
        for m in decoded:
            STAGE_MESSAGES.labels("archive", str(m.sdkappid), "ok").inc()
            if m.received_at_ms:
                STAGE_LATENCY.labels("archive").observe(max(0.0, now_ms - m.received_at_ms) / 1000)
