"""Pieces the SQLite adapters share: placeholders for IN lists, and tables made by a store's
first call."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    # sqlite.py builds the stores that use this, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

T = TypeVar("T")


def placeholders(n: int) -> str:
    """n comma-separated "?" marks, for an IN (...) list of n values."""
    return ",".join("?" * n)


def execute_many(c: sqlite3.Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    """On the db thread: sql once per row, in one transaction, committed on success and rolled
    back if a row fails, so that no transaction is left open on the shared connection."""
    if not rows:
        return
    c.execute("BEGIN")
    with c:
        c.executemany(sql, rows)


def in_immediate_transaction(c: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """On the db thread: fn in one IMMEDIATE transaction, rolled back if it raises. The write
    lock is taken before fn reads, so a read-modify-write stays atomic even against writers in
    other processes (the gateway's workers share the file)."""
    c.execute("BEGIN IMMEDIATE")
    try:
        result = fn(c)
    except BaseException:
        c.execute("ROLLBACK")
        raise
    c.execute("COMMIT")
    return result


class LazyTables:
    """A store's tables, created by its first call on the db thread.

    The constructors cannot await. The db thread runs calls one at a time, in order, and it
    alone reads the flag, so the script runs once, before any statement that needs it.
    """

    def __init__(self, db: SqliteDb, schema: str) -> None:
        self._db = db
        self._schema = schema
        self._ready = False

    def ensure(self, c: sqlite3.Connection) -> None:
        """On the db thread, before a statement of this store inside another's transaction."""
        if not self._ready:
            c.executescript(self._schema)
            self._ready = True

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """fn on the db thread, the tables made first if this is the first call."""

        def with_tables(c: sqlite3.Connection) -> T:
            self.ensure(c)
            return fn(c)

        return await self._db.run(with_tables)

    async def write_many(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        """sql once per row, all in one transaction; nothing at all when there are no rows."""
        if rows:
            await self.run(lambda c: execute_many(c, sql, rows))
