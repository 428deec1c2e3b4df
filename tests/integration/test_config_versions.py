"""App configuration versions against a real Valkey (started as `make run` starts it): a
writer's bump, the readers' one-round-trip read, and what each side does when Redis is gone."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.common.config_versions import ConfigNotCurrent, ConfigVersions, version_key
from services.common.errors import ErrorCode
from services.common.redis_state import connect
from services.embedded.launchers import free_port

APP, OTHER = 1400000821, 1400000822


async def test_a_bump_moves_only_its_app(client: aioredis.Redis) -> None:
    versions = ConfigVersions(client)
    assert await versions.read([APP, OTHER]) == {APP: 0, OTHER: 0}
    assert await versions.bump(APP) == 1
    assert await versions.bump(APP) == 2
    assert await versions.read([APP, OTHER, APP]) == {APP: 2, OTHER: 0}
    assert await client.ttl(version_key(APP)) == -1
    assert await versions.read([]) == {}


async def test_without_redis_a_writer_fails_and_a_reader_degrades() -> None:
    gone = connect(f"redis://127.0.0.1:{free_port()}/0")
    versions = ConfigVersions(gone)
    try:
        with pytest.raises(ConfigNotCurrent) as err:
            await versions.bump(APP)
        assert err.value.code == ErrorCode.OPENIM_INTERNAL
        with pytest.raises(Exception):  # noqa: B017 - any connection error
            await versions.read([APP])
        assert await versions.read_or_none([APP]) == {}
    finally:
        await gone.aclose()
