"""JSON documents on Cassandra that change atomically, for the stores whose writes are a
read-modify-write of one small document (group counters and attributes, message extensions).

One partition per document key, clustered by version, newest first; the document is the newest
row, as JSON. A change writes version n+1 with INSERT ... IF NOT EXISTS, a lightweight
transaction: of two changes made from version n, one claims n+1 and the other reads again and
retries. The winner then deletes the versions before its own, so a partition holds one live
row. (A compare-and-set on one row, `UPDATE ... IF version = ?`, would be the obvious form,
but mockylla binds no parameters in IF clauses, so it could not be tested here.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

T = TypeVar("T")

# Changes of one document tried before giving up: each lost round means another change of the
# same document went through.
ATTEMPTS = 16


class VersionedDocuments:
    """The documents of `table`, whose primary key is `key_columns` then `version`."""

    def __init__(self, cql: CassandraSession, table: str, key_columns: Sequence[str]) -> None:
        self._cql = cql
        where = "WHERE " + " AND ".join(f"{c} = ?" for c in key_columns)
        columns = ", ".join(key_columns)
        marks = ", ".join("?" for _ in key_columns)
        self._latest = cql.prepare(
            f"SELECT version, doc FROM {table} {where} ORDER BY version DESC LIMIT 1"
        )
        self._claim = cql.prepare(
            f"INSERT INTO {table} ({columns}, version, doc) VALUES ({marks}, ?, ?) IF NOT EXISTS"
        )
        self._prune = cql.prepare(f"DELETE FROM {table} {where} AND version < ?")
        self._drop = cql.prepare(f"DELETE FROM {table} {where}")

    async def read(self, key: tuple[Any, ...]) -> tuple[int, Any]:
        """The document's version (0: none yet) and its parsed JSON (None: none yet)."""
        rows = await self._cql.execute(self._latest, key)
        if not rows:
            return 0, None
        return int(rows[0][0]), json.loads(rows[0][1])

    async def change(
        self,
        key: tuple[Any, ...],
        change: Callable[[Any], tuple[Any, T]],
        busy: Callable[[], Exception],
    ) -> T:
        """Apply `change` (the current document, None if none, to the new one and a result)
        atomically; raises `busy()` after ATTEMPTS lost rounds."""
        for _ in range(ATTEMPTS):
            version, current = await self.read(key)
            new, result = change(current)
            claimed = await self._cql.execute(self._claim, (*key, version + 1, json.dumps(new)))
            if claimed[0][0]:
                await self._cql.execute(self._prune, (*key, version + 1))
                return result
        raise busy()

    async def drop(self, key: tuple[Any, ...]) -> None:
        await self._cql.execute(self._drop, key)
