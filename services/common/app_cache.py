"""A short-lived in-memory cache of app records, so hot paths do not read the store per call.

Changes made through the gateway (admin API, REST) are announced on im.config and drop the
entry at once in every service that follows the feed (`ConfigFeed.on(APP, cache.on_app_change)`).
The TTL stays as the fallback for writers that do not announce, such as the `tidings` CLI
(it may run with no broker): their changes apply within `ttl_s`.

Readers on the message path pass the app's configuration version (`at_least`, read from Redis
first: services/common/config_versions.py), which makes a change exact: in effect for every
message sent after the writer answered.
"""

from __future__ import annotations

from services.common.cache import ExpiringCache
from services.common.store.ports import App, AppStore


class AppCache:
    def __init__(self, store: AppStore, ttl_s: float = 5.0) -> None:
        self._store = store
        self._entries: ExpiringCache[int, App | None] = ExpiringCache(ttl_s)

    async def get(self, sdkappid: int, at_least: int = 0) -> App | None:
        return await self._entries.get(
            sdkappid, lambda: self._store.get_app(sdkappid), at_least=at_least
        )

    def invalidate(self, sdkappid: int) -> None:
        self._entries.invalidate(sdkappid)

    def on_app_change(self, sdkappid: int, value_json: bytes) -> None:
        """The im.config listener for the `app` section."""
        self.invalidate(sdkappid)
