"""Group membership versions: a counter per group in Redis that the gateway increments after
every change of who gets the group's messages, or how (members joined, added, imported,
exited, removed; a MsgFlag changed; the group created, imported or destroyed), and before the
change is answered. Fan-out reads the versions of a batch's groups in the pipeline it already
sends for presence, and uses a cached member list only if it was read at the current version
(services/router/fanout.py). See docs/ARCHITECTURE.md, "Fan-out".

`gmv:{app:group:<id>}` shares the group conversation's hash tag, so it lives in the slot of
the group's other keys. Its TTL (a week, pushed on by every change) is far longer than fan-out
holds a list (MemberCache's max age): a key that expired and starts again from 1 cannot make a
list read before it look current, because that list is gone by then.

The gateway's side (`GroupVersions`): a failed increment is owed, retried in the background
until it lands, and paid first by the next change or retry of the same group on this node;
the change it followed stands (the store write is done) but is answered with 10002, so that the
caller retries.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from services.common import conversation, keys
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger

log = get_logger(__name__)

# A key outlives the last change of its group by this much (it must exceed the time fan-out
# may hold a list: services/router/fanout.MEMBERS_MAX_AGE_S).
TTL_S = 7 * 24 * 3600
# After a failed increment: how long until the owed ones are tried again.
RETRY_S = 1.0


def version_key(sdkappid: int, group_id: str) -> str:
    return keys.redis_key("gmv", sdkappid, conversation.group(group_id))


def parse_version(value: object) -> int:
    """A GET reply as a version: 0 when the group has none (never changed, or expired)."""
    if value is None:
        return 0
    return int(value.decode() if isinstance(value, bytes) else str(value))


class VersionNotBumped(TidingsError):
    """The change was made, but fan-out may not see it yet: the caller should retry (the
    membership operations are idempotent, and the retry pays the owed increment)."""

    def __init__(self, group_id: str) -> None:
        super().__init__(
            ErrorCode.GROUP_INTERNAL,
            f"group {group_id!r} changed, but its delivery list could not be updated; retry",
        )


class GroupVersions:
    """The gateway's writer: `bump` after a change, `settle` where an operation changed nothing
    (a retry) but an earlier increment of the group on this node may still be owed."""

    def __init__(self, client: aioredis.Redis, ttl_s: int = TTL_S, retry_s: float = RETRY_S):
        self._client = client
        self._ttl = ttl_s
        self._retry_s = retry_s
        self._owed: dict[tuple[int, str], None] = {}
        self._retrying: asyncio.Task[None] | None = None

    @property
    def owed(self) -> int:
        return len(self._owed)

    async def bump(self, sdkappid: int, group_id: str) -> None:
        """Increment the group's version; on failure the increment is owed and this raises
        VersionNotBumped."""
        if not await self._try(sdkappid, group_id):
            raise VersionNotBumped(group_id)

    async def settle(self, sdkappid: int, group_id: str) -> None:
        """Pay the group's owed increment, if any (raises VersionNotBumped if it fails again)."""
        if (sdkappid, group_id) in self._owed:
            await self.bump(sdkappid, group_id)

    async def _try(self, sdkappid: int, group_id: str) -> bool:
        key = version_key(sdkappid, group_id)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - owed, retried; the caller gets 10002
            log.warning("group version not bumped", app=sdkappid, group=group_id, error=str(exc))
            self._owed[(sdkappid, group_id)] = None
            self._retry_later()
            return False
        self._owed.pop((sdkappid, group_id), None)
        return True

    def _retry_later(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(self._retry_owed())

    async def _retry_owed(self) -> None:
        while self._owed:
            await asyncio.sleep(self._retry_s)
            for sdkappid, group_id in list(self._owed):
                if not await self._try(sdkappid, group_id):
                    break

    async def close(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
