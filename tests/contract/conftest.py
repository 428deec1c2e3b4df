"""Every store adapter runs the same contract suite.

- sqlite: always.
- cassandra: against a real cluster when TIDINGS_CASSANDRA_HOSTS is set.
- cassandra-mockylla: the real Cassandra adapter's driver calls, run through the `mockylla`
  in-memory stand-in. It is NOT a Cassandra server: it ignores clustering order and TTL expiry.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.store.ports import Stores


def _params() -> list[str]:
    params = ["sqlite", "cassandra-mockylla"]
    if os.environ.get("TIDINGS_CASSANDRA_HOSTS"):
        params.append("cassandra")
    return params


@pytest.fixture(params=_params())
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    kind = request.param
    if kind == "sqlite":
        from services.common.store.sqlite import SqliteStores

        s: Stores = SqliteStores(tmp_path / "t.sqlite3")
    elif kind == "cassandra":
        from services.common.store.cassandra import CassandraStores

        hosts = os.environ["TIDINGS_CASSANDRA_HOSTS"].split(",")
        s = CassandraStores(hosts=hosts, keyspace=f"tidings_test_{uuid.uuid4().hex[:8]}")
    else:
        mockylla = pytest.importorskip("mockylla")
        from services.common.store.cassandra import CassandraStores

        # mockylla prints every query; the tests read results, not its chatter.
        with mockylla.MockScyllaDB(), contextlib.redirect_stdout(io.StringIO()):
            s = CassandraStores(hosts=["127.0.0.1"], keyspace="tidings_mockylla")
            yield s
            await s.close()
        return
    yield s
    await s.close()
