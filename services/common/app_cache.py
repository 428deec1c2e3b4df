"""A short-lived in-memory cache of app records, so hot paths do not read the store per call.

Changes made through the gateway (admin API, REST) are announced on im.config and drop the
entry at once in every service that follows the feed (`ConfigFeed.on(APP, cache.on_app_change)`).
The TTL stays as the fallback for writers that do not announce, such as the `tidings` CLI
(it may run with no broker): their changes apply within `ttl_s`.
"""

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

    def on_app_change(self, sdkappid: int, value_json: bytes) -> None:
        """The im.config listener for the `app` section."""
        self.invalidate(sdkappid)
