"""GroupTopicStore on Cassandra (the group_topics table of cassandra.SCHEMA_CQL).

One partition per group, clustered by topic ID: a group's topics are a single-partition read,
ordered here (mockylla ignores clustering order), and a topic is one row. A topic ID is
claimed with a lightweight transaction (INSERT ... IF NOT EXISTS), and a modify only lands on
a topic that still exists (UPDATE ... IF EXISTS), so a modify racing a destroy cannot bring the
topic back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.group_topics import (
    COLUMNS,
    Topic,
    creation_order,
    topic_columns,
    topic_of_row,
)

if TYPE_CHECKING:
    # cassandra.py builds this store, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

_PROFILE = ", ".join(COLUMNS)
_GROUP = " WHERE sdkappid = ? AND group_id = ?"
_ONE = _GROUP + " AND topic_id = ?"


class CassandraGroupTopicStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        p = cql.prepare
        self._claim = p(
            f"INSERT INTO group_topics (sdkappid, group_id, topic_id, {_PROFILE})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
        )
        assignments = ", ".join(f"{column} = ?" for column in COLUMNS)
        self._update = p(f"UPDATE group_topics SET {assignments}" + _ONE + " IF EXISTS")
        self._one = p(f"SELECT topic_id, {_PROFILE} FROM group_topics" + _ONE)
        self._all = p(f"SELECT topic_id, {_PROFILE} FROM group_topics" + _GROUP)
        self._delete = p("DELETE FROM group_topics" + _ONE)
        self._drop = p("DELETE FROM group_topics" + _GROUP)

    async def create(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        rows = await self._cql.execute(
            self._claim, (sdkappid, group_id, topic.topic_id, *topic_columns(topic))
        )
        return bool(rows[0][0])

    async def update(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        rows = await self._cql.execute(
            self._update, (*topic_columns(topic), sdkappid, group_id, topic.topic_id)
        )
        return bool(rows[0][0])

    async def get(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> dict[str, Topic]:
        found = await asyncio.gather(
            *(
                self._cql.execute(self._one, (sdkappid, group_id, t))
                for t in dict.fromkeys(topic_ids)
            )
        )
        return {t.topic_id: t for rows in found for t in map(topic_of_row, rows)}

    async def list_topics(self, sdkappid: int, group_id: str) -> list[Topic]:
        rows = await self._cql.execute(self._all, (sdkappid, group_id))
        return creation_order([topic_of_row(r) for r in rows])

    async def delete(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._delete, (sdkappid, group_id, t))
                for t in dict.fromkeys(topic_ids)
            )
        )

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await self._cql.execute(self._drop, (sdkappid, group_id))
