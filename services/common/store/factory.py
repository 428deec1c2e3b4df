"""Pick the store adapter named by the config."""

from __future__ import annotations

from services.common.config import Settings
from services.common.store.ports import Stores


def open_stores(settings: Settings) -> Stores:
    if settings.store == "cassandra":
        from services.common.store.cassandra import CassandraStores

        return CassandraStores(
            hosts=[h.strip() for h in settings.cassandra_hosts.split(",") if h.strip()],
            keyspace=settings.cassandra_keyspace,
        )
    from services.common.store.sqlite import SqliteStores

    return SqliteStores(settings.sqlite_path)
