"""ConsoleAccountStore on the embedded SQLite file: one row per account, the account as JSON."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from services.common.store.console_accounts import ConsoleAccount
from services.common.store.sqlite_tables import LazyTables

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_accounts (
  username TEXT PRIMARY KEY,
  doc TEXT NOT NULL
) WITHOUT ROWID;
"""


class SqliteConsoleAccountStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def create(self, account: ConsoleAccount) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "INSERT OR IGNORE INTO console_accounts (username, doc) VALUES (?, ?)",
                (account.username, account.to_doc()),
            )
            return cur.rowcount == 1

        return await self._tables.run(write)

    async def save(self, account: ConsoleAccount) -> None:
        await self._tables.run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO console_accounts (username, doc) VALUES (?, ?)",
                (account.username, account.to_doc()),
            )
        )

    async def get(self, username: str) -> ConsoleAccount | None:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT doc FROM console_accounts WHERE username = ?", (username,)
            ).fetchone()
        )
        return ConsoleAccount.from_doc(row[0]) if row else None

    async def list(self) -> list[ConsoleAccount]:
        rows = await self._tables.run(
            lambda c: c.execute("SELECT doc FROM console_accounts ORDER BY username").fetchall()
        )
        return [ConsoleAccount.from_doc(r[0]) for r in rows]

    async def delete(self, username: str) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            cur = c.execute("DELETE FROM console_accounts WHERE username = ?", (username,))
            return cur.rowcount == 1

        return await self._tables.run(write)
