"""Group membership versions against a real Valkey (started as `make run` starts it): the
gateway's bump, and fan-out's read of the versions in the same pipeline as its presence read."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.common.errors import ErrorCode
from services.common.group_versions import (
    TTL_S,
    GroupVersions,
    VersionNotBumped,
    parse_version,
    version_key,
)
from services.common.presence import NodePresence, PresenceIndex
from services.common.redis_state import connect
from services.embedded.launchers import free_port

APP = 1400000811
N1 = "10.2.0.1:7001"


class Local:
    def __init__(self, users: list[str]) -> None:
        self.users = users

    def has(self, sdkappid: int, user: str) -> bool:
        return sdkappid == APP and user in self.users

    def has_app(self, sdkappid: int) -> bool:
        return sdkappid == APP and bool(self.users)

    def by_app(self) -> dict[int, list[str]]:
        return {APP: list(self.users)} if self.users else {}


async def test_a_bump_increments_the_group_s_version_and_keeps_it_a_week(
    client: aioredis.Redis,
) -> None:
    versions = GroupVersions(client)
    key = version_key(APP, "bumped")
    assert parse_version(await client.get(key)) == 0
    await versions.bump(APP, "bumped")
    await versions.bump(APP, "bumped")
    assert parse_version(await client.get(key)) == 2
    assert TTL_S - 60 < await client.ttl(key) <= TTL_S
    await versions.settle(APP, "bumped")
    assert parse_version(await client.get(key)) == 2 and versions.owed == 0


async def test_fan_out_reads_versions_in_its_presence_pipeline(client: aioredis.Redis) -> None:
    node = NodePresence(client, N1, Local(["ann", "bob"]))
    await node.refresh()
    versions = GroupVersions(client)
    await versions.bump(APP, "g1")
    index = PresenceIndex(client)
    keys = [version_key(APP, "g1"), version_key(APP, "never-changed")]
    online, values = await index.locate_and_get({APP: ["ann", "cat"]}, keys)
    assert online == {APP: {"ann": [N1]}}
    assert [parse_version(v) for v in values] == [1, 0]
    # Known nodes now: still one pipeline, and the values come first in it.
    await versions.bump(APP, "g1")
    online, values = await index.locate_and_get({APP: ["bob"]}, keys)
    assert online == {APP: {"bob": [N1]}}
    assert [parse_version(v) for v in values] == [2, 0]
    # No user to ask (a batch of groups whose lists are not held yet): the versions alone.
    online, values = await index.locate_and_get({}, keys[:1])
    assert online == {} and [parse_version(v) for v in values] == [2]
    assert await index.locate({APP: ["ann", "bob"]}) == {APP: {"ann": [N1], "bob": [N1]}}
    await node.close()


async def test_a_bump_that_cannot_reach_redis_is_owed(valkey: str) -> None:
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")
    versions = GroupVersions(dead, retry_s=3600)
    try:
        with pytest.raises(VersionNotBumped) as err:
            await versions.bump(APP, "g1")
        assert err.value.code == ErrorCode.GROUP_INTERNAL
        assert versions.owed == 1
    finally:
        await versions.close()
        await dead.aclose()
