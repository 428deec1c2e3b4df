"""MsgExtStore on the embedded SQLite file: one row per message, its extensions as JSON.

A change runs in one IMMEDIATE transaction (sqlite_tables.in_immediate_transaction), so gateway
workers in other processes cannot interleave their own change.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, TypeVar

from services.common.store.msg_ext import ExtChange, MsgExtensions
from services.common.store.sqlite_tables import LazyTables, in_immediate_transaction

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS msg_ext (
  sdkappid INTEGER NOT NULL,
  conversation TEXT NOT NULL,
  msg_seq INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, conversation, msg_seq)
) WITHOUT ROWID;
"""

_READ = "SELECT doc FROM msg_ext WHERE sdkappid = ? AND conversation = ? AND msg_seq = ?"


def _read(c: sqlite3.Connection, key: tuple[int, str, int]) -> MsgExtensions:
    row = c.execute(_READ, key).fetchone()
    return MsgExtensions.from_doc(json.loads(row[0])) if row else MsgExtensions()


class SqliteMsgExtStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def get(self, sdkappid: int, conversation: str, msg_seq: int) -> MsgExtensions:
        return await self._tables.run(lambda c: _read(c, (sdkappid, conversation, msg_seq)))

    async def change(
        self, sdkappid: int, conversation: str, msg_seq: int, change: ExtChange[T]
    ) -> T:
        key = (sdkappid, conversation, msg_seq)

        def write(c: sqlite3.Connection) -> T:
            extensions, result = change(_read(c, key))
            c.execute(
                "INSERT OR REPLACE INTO msg_ext (sdkappid, conversation, msg_seq, doc)"
                " VALUES (?, ?, ?, ?)",
                (*key, json.dumps(extensions.to_doc())),
            )
            return result

        return await self._tables.run(lambda c: in_immediate_transaction(c, write))
