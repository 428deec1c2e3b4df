"""GroupKvStore on the embedded SQLite file: one row per (group, kind), the values as JSON.

A change runs in one IMMEDIATE transaction (sqlite_tables.in_immediate_transaction), so gateway
workers in other processes cannot interleave their own change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from services.common.store.group_kv import ATTRS, COUNTERS, AttrChange, CounterChange
from services.common.store.sqlite_tables import LazyTables, in_immediate_transaction

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

V = TypeVar("V")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS group_kv (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, group_id, kind)
) WITHOUT ROWID;
"""

_READ = "SELECT doc FROM group_kv WHERE sdkappid = ? AND group_id = ? AND kind = ?"


def _read(c: sqlite3.Connection, key: tuple[int, str, str]) -> dict[str, Any]:
    row = c.execute(_READ, key).fetchone()
    return dict(json.loads(row[0])) if row else {}


class SqliteGroupKvStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def _get(self, sdkappid: int, group_id: str, kind: str) -> dict[str, Any]:
        return await self._tables.run(lambda c: _read(c, (sdkappid, group_id, kind)))

    async def _change(
        self,
        sdkappid: int,
        group_id: str,
        kind: str,
        change: Callable[[dict[str, V]], dict[str, V]],
    ) -> dict[str, V]:
        key = (sdkappid, group_id, kind)

        def write(c: sqlite3.Connection) -> dict[str, V]:
            values = change(_read(c, key))
            if values:
                c.execute(
                    "INSERT OR REPLACE INTO group_kv (sdkappid, group_id, kind, doc)"
                    " VALUES (?, ?, ?, ?)",
                    (*key, json.dumps(values)),
                )
            else:
                c.execute(
                    "DELETE FROM group_kv WHERE sdkappid = ? AND group_id = ? AND kind = ?",
                    key,
                )
            return values

        return await self._tables.run(lambda c: in_immediate_transaction(c, write))

    async def get_counters(self, sdkappid: int, group_id: str) -> dict[str, int]:
        return await self._get(sdkappid, group_id, COUNTERS)

    async def change_counters(
        self, sdkappid: int, group_id: str, change: CounterChange
    ) -> dict[str, int]:
        return await self._change(sdkappid, group_id, COUNTERS, change)

    async def get_attrs(self, sdkappid: int, group_id: str) -> dict[str, str]:
        return await self._get(sdkappid, group_id, ATTRS)

    async def change_attrs(
        self, sdkappid: int, group_id: str, change: AttrChange
    ) -> dict[str, str]:
        return await self._change(sdkappid, group_id, ATTRS, change)

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await self._tables.run(
            lambda c: c.execute(
                "DELETE FROM group_kv WHERE sdkappid = ? AND group_id = ?", (sdkappid, group_id)
            )
        )
