"""App configuration versions: a counter per app in Redis that every writer of an app's
settings or sensitive words increments after the store write and before it answers, so that a
change is in effect for everything sent after the answer. See docs/ARCHITECTURE.md,
"Settings take effect on the answer".

im.config tells every service that an app changed, but it arrives when it arrives. A reader on
the message path therefore reads the versions of a batch's apps once per batch, and uses a
cached record or filter only if it was loaded at that version or later (ExpiringCache's
`at_least`): the router before moderation (and it passes the version on to the callback
service's BeforeSend), the callback service for each batch of its consumer. The feed still
drops entries early, and the caches' max age still covers writers that cannot reach Redis.

`cfgv:{<app>:config}` has no TTL: one small key per app, changed only by operators.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis

from services.common import keys
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger

log = get_logger(__name__)


def version_key(sdkappid: int) -> str:
    return keys.redis_key("cfgv", sdkappid, "config")


class ConfigNotCurrent(TidingsError):
    """The change is stored, but readers may not apply it yet: the caller should retry (the
    settings writes are idempotent, and the retry increments again)."""

    def __init__(self, sdkappid: int) -> None:
        super().__init__(
            ErrorCode.OPENIM_INTERNAL,
            f"the settings of app {sdkappid} were saved but are not yet in effect; retry",
        )


class ConfigVersions:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def bump(self, sdkappid: int) -> int:
        """After a change is stored. Raises ConfigNotCurrent if Redis cannot be reached."""
        try:
            return int(await self._client.incr(version_key(sdkappid)))
        except Exception as exc:
            log.warning("config version not bumped", app=sdkappid, error=str(exc))
            raise ConfigNotCurrent(sdkappid) from exc

    async def read(self, sdkappids: Iterable[int]) -> dict[int, int]:
        """The current version of each app (0: never changed). One round trip; one key per
        command, so that it works against a cluster too. Redis errors propagate."""
        apps = list(dict.fromkeys(sdkappids))
        if not apps:
            return {}
        async with self._client.pipeline(transaction=False) as pipe:
            for app in apps:
                pipe.get(version_key(app))
            values = await pipe.execute()
        return {app: int(v) if v is not None else 0 for app, v in zip(apps, values, strict=True)}

    async def read_or_none(self, sdkappids: Iterable[int]) -> dict[int, int]:
        """`read`, for readers that may go on with what they have while Redis is down (the
        im.config feed and the caches' max age still apply): no versions on failure."""
        try:
            return await self.read(sdkappids)
        except Exception as exc:  # noqa: BLE001 - degraded to the feed, logged
            log.warning("config versions unread; using cached settings", error=str(exc))
            return {}


async def bump_if_reachable(redis_url: str, sdkappid: int) -> bool:
    """For writers that may run without Redis (the `tidings` CLI): the change applies at once
    if Redis could be reached, else within the caches' max age. False if it could not, or if no
    Redis is configured (TIDINGS_REDIS_URL)."""
    if not redis_url:
        return False
    client = aioredis.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        await ConfigVersions(client).bump(sdkappid)
    except ConfigNotCurrent:
        return False
    finally:
        await client.aclose()
    return True
