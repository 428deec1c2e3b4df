"""deploy/cassandra/schema.cql is the adapter's own schema, spelled out for keyspace `tidings`."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.store.cassandra import SCHEMA_CQL, render_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "deploy" / "cassandra" / "schema.cql"


def test_deploy_schema_is_the_adapter_schema() -> None:
    expected = SCHEMA_CQL.replace("{keyspace}", "tidings").replace("{replication_factor}", "1")
    assert SCHEMA_FILE.read_text() == expected
    assert render_schema("tidings", 1) == expected


def test_keyspace_name_is_checked() -> None:
    with pytest.raises(ValueError, match="keyspace name"):
        render_schema("tidings; DROP KEYSPACE x", 1)
