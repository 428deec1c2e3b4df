"""A short-lived in-memory cache of app records, so hot paths do not read the store per call."""

from __future__ import annotations

import time

from services.common.store.ports import App, AppStore


class AppCache:
    def __init__(self, store: AppStore, ttl_s: float = 5.0) -> None:
        self._store = store
        self._ttl = ttl_s
        self._entries: dict[int, tuple[float, App | None]] = {}

    async def get(self, sdkappid: int) -> App | None:
        now = time.monotonic()
        hit = self._entries.get(sdkappid)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        app = await self._store.get_app(sdkappid)
        self._entries[sdkappid] = (now, app)
        return app

    def invalidate(self, sdkappid: int) -> None:
        self._entries.pop(sdkappid, None)
