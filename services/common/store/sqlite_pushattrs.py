"""PushAttrStore on the embedded SQLite file (tables in sqlite.SCHEMA)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.common.store.sqlite_tables import execute_many, placeholders

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

Row = tuple[int | str, ...]


class SqlitePushAttrStore:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def _many(self, sql: str, rows: list[Row]) -> None:
        """One transaction for the whole batch."""

        if rows:
            await self._db.run(lambda c: execute_many(c, sql, rows))

    async def get_attr_names(self, sdkappid: int) -> dict[int, str]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT attr, name FROM push_attr_names WHERE sdkappid = ?", (sdkappid,)
            ).fetchall()
        )
        return {int(r[0]): r[1] for r in rows}

    async def set_attr_names(self, sdkappid: int, names: Mapping[int, str]) -> None:
        await self._many(
            "INSERT OR REPLACE INTO push_attr_names (sdkappid, attr, name) VALUES (?, ?, ?)",
            [(sdkappid, attr, name) for attr, name in names.items()],
        )

    async def get_attrs(self, sdkappid: int, users: Sequence[str]) -> dict[str, dict[int, str]]:
        ids = list(dict.fromkeys(users))
        if not ids:
            return {}
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT user_id, attr, value FROM push_user_attrs"
                f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})",
                (sdkappid, *ids),
            ).fetchall()
        )
        found: dict[str, dict[int, str]] = {}
        for user, attr, value in rows:
            found.setdefault(user, {})[int(attr)] = value
        return found

    async def set_attrs(self, sdkappid: int, attrs: Mapping[str, Mapping[int, str]]) -> None:
        await self._many(
            "INSERT OR REPLACE INTO push_user_attrs (sdkappid, user_id, attr, value)"
            " VALUES (?, ?, ?, ?)",
            [
                (sdkappid, user, attr, value)
                for user, values in attrs.items()
                for attr, value in values.items()
            ],
        )

    async def remove_attrs(self, sdkappid: int, attrs: Mapping[str, Sequence[int]]) -> None:
        await self._many(
            "DELETE FROM push_user_attrs WHERE sdkappid = ? AND user_id = ? AND attr = ?",
            [(sdkappid, user, attr) for user, numbers in attrs.items() for attr in numbers],
        )

    async def get_tags(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[str]]:
        ids = list(dict.fromkeys(users))
        if not ids:
            return {}
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT user_id, tag FROM push_user_tags"
                f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})"
                " ORDER BY user_id, tag",
                (sdkappid, *ids),
            ).fetchall()
        )
        found: dict[str, list[str]] = {}
        for user, tag in rows:
            found.setdefault(user, []).append(tag)
        return found

    async def add_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None:
        await self._many(
            "INSERT OR IGNORE INTO push_user_tags (sdkappid, user_id, tag) VALUES (?, ?, ?)",
            [(sdkappid, user, tag) for user, added in tags.items() for tag in added],
        )

    async def remove_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None:
        await self._many(
            "DELETE FROM push_user_tags WHERE sdkappid = ? AND user_id = ? AND tag = ?",
            [(sdkappid, user, tag) for user, removed in tags.items() for tag in removed],
        )

    async def remove_all_tags(self, sdkappid: int, users: Sequence[str]) -> None:
        await self._many(
            "DELETE FROM push_user_tags WHERE sdkappid = ? AND user_id = ?",
            [(sdkappid, user) for user in dict.fromkeys(users)],
        )
