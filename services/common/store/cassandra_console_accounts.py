"""ConsoleAccountStore on Cassandra (table in cassandra.SCHEMA_CQL): one partition per
account, the account as JSON. Creating one is a lightweight transaction, so two creators of a
username cannot both win; listing reads the whole table, which holds a handful of rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.store.console_accounts import ConsoleAccount

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraConsoleAccountStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        p = cql.prepare
        self._create = p("INSERT INTO console_accounts (username, doc) VALUES (?, ?) IF NOT EXISTS")
        self._save = p("INSERT INTO console_accounts (username, doc) VALUES (?, ?)")
        self._get = p("SELECT doc FROM console_accounts WHERE username = ?")
        self._all = p("SELECT username, doc FROM console_accounts")
        self._delete = p("DELETE FROM console_accounts WHERE username = ? IF EXISTS")

    async def create(self, account: ConsoleAccount) -> bool:
        rows = await self._cql.execute(self._create, (account.username, account.to_doc()))
        return bool(rows[0][0])

    async def save(self, account: ConsoleAccount) -> None:
        await self._cql.execute(self._save, (account.username, account.to_doc()))

    async def get(self, username: str) -> ConsoleAccount | None:
        rows = await self._cql.execute(self._get, (username,))
        return ConsoleAccount.from_doc(rows[0][0]) if rows else None

    async def list(self) -> list[ConsoleAccount]:
        rows = await self._cql.execute(self._all, ())
        return [ConsoleAccount.from_doc(r[1]) for r in sorted(rows, key=lambda r: r[0])]

    async def delete(self, username: str) -> bool:
        rows = await self._cql.execute(self._delete, (username,))
        return bool(rows[0][0])
