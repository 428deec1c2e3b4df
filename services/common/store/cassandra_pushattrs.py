"""PushAttrStore on Cassandra (tables in cassandra.SCHEMA_CQL).

A user's attributes and tags are one partition each, keyed (sdkappid, user_id); reads go one
query per user, as for accounts (mockylla cannot bind `IN ?`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraPushAttrStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._names = cql.prepare("SELECT attr, name FROM push_attr_names WHERE sdkappid = ?")
        self._set_name = cql.prepare(
            "INSERT INTO push_attr_names (sdkappid, attr, name) VALUES (?, ?, ?)"
        )
        self._attrs = cql.prepare(
            "SELECT attr, value FROM push_user_attrs WHERE sdkappid = ? AND user_id = ?"
        )
        self._set_attr = cql.prepare(
            "INSERT INTO push_user_attrs (sdkappid, user_id, attr, value) VALUES (?, ?, ?, ?)"
        )
        self._remove_attr = cql.prepare(
            "DELETE FROM push_user_attrs WHERE sdkappid = ? AND user_id = ? AND attr = ?"
        )
        self._tags = cql.prepare(
            "SELECT tag FROM push_user_tags WHERE sdkappid = ? AND user_id = ?"
        )
        self._add_tag = cql.prepare(
            "INSERT INTO push_user_tags (sdkappid, user_id, tag) VALUES (?, ?, ?)"
        )
        self._remove_tag = cql.prepare(
            "DELETE FROM push_user_tags WHERE sdkappid = ? AND user_id = ? AND tag = ?"
        )
        self._remove_all = cql.prepare(
            "DELETE FROM push_user_tags WHERE sdkappid = ? AND user_id = ?"
        )

    async def get_attr_names(self, sdkappid: int) -> dict[int, str]:
        rows = await self._cql.execute(self._names, (sdkappid,))
        return {int(r[0]): r[1] for r in rows}

    async def set_attr_names(self, sdkappid: int, names: Mapping[int, str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._set_name, (sdkappid, a, n)) for a, n in names.items())
        )

    async def get_attrs(self, sdkappid: int, users: Sequence[str]) -> dict[str, dict[int, str]]:
        ids = list(dict.fromkeys(users))
        found = await asyncio.gather(*(self._cql.execute(self._attrs, (sdkappid, u)) for u in ids))
        return {
            u: {int(r[0]): r[1] for r in rows} for u, rows in zip(ids, found, strict=True) if rows
        }

    async def set_attrs(self, sdkappid: int, attrs: Mapping[str, Mapping[int, str]]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._set_attr, (sdkappid, user, attr, value))
                for user, values in attrs.items()
                for attr, value in values.items()
            )
        )

    async def remove_attrs(self, sdkappid: int, attrs: Mapping[str, Sequence[int]]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._remove_attr, (sdkappid, user, attr))
                for user, numbers in attrs.items()
                for attr in numbers
            )
        )

    async def get_tags(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[str]]:
        ids = list(dict.fromkeys(users))
        found = await asyncio.gather(*(self._cql.execute(self._tags, (sdkappid, u)) for u in ids))
        # Sorted here: mockylla ignores the clustering order.
        return {u: sorted(r[0] for r in rows) for u, rows in zip(ids, found, strict=True) if rows}

    async def add_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._add_tag, (sdkappid, user, tag))
                for user, added in tags.items()
                for tag in dict.fromkeys(added)
            )
        )

    async def remove_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._remove_tag, (sdkappid, user, tag))
                for user, removed in tags.items()
                for tag in dict.fromkeys(removed)
            )
        )

    async def remove_all_tags(self, sdkappid: int, users: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._remove_all, (sdkappid, u)) for u in dict.fromkeys(users))
        )
