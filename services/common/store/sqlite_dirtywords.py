"""DirtyWordStore on the embedded SQLite file (table in sqlite.SCHEMA)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.sqlite_tables import execute_many

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb


class SqliteDirtyWordStore:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def list_words(self, sdkappid: int) -> list[str]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT word FROM dirty_words WHERE sdkappid = ? ORDER BY word", (sdkappid,)
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def add_words(self, sdkappid: int, words: Sequence[str]) -> None:
        await self._write(
            "INSERT OR IGNORE INTO dirty_words (sdkappid, word) VALUES (?, ?)", sdkappid, words
        )

    async def delete_words(self, sdkappid: int, words: Sequence[str]) -> None:
        await self._write(
            "DELETE FROM dirty_words WHERE sdkappid = ? AND word = ?", sdkappid, words
        )

    async def _write(self, sql: str, sdkappid: int, words: Sequence[str]) -> None:
        rows = [(sdkappid, w) for w in dict.fromkeys(words)]

        if rows:
            await self._db.run(lambda c: execute_many(c, sql, rows))
