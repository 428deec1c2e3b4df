"""A broker of each test module's own (Tansu, with the launcher `make run` uses), and settings
that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.config import Settings
from services.common.embedded import ChildProcess, free_port, start_broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    child: ChildProcess = start_broker(port, Path(tmp_path_factory.mktemp("broker")))
    yield f"127.0.0.1:{port}"
    child.stop()


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
