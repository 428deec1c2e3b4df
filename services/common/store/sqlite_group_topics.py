"""GroupTopicStore on the embedded SQLite file: one row per (app, group, topic). A create
is INSERT OR IGNORE and a modify an UPDATE of the existing row, so neither can overwrite a
topic created meanwhile nor bring back one destroyed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.group_topics import (
    COLUMNS,
    Topic,
    creation_order,
    topic_columns,
    topic_of_row,
)
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS group_topics (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  topic_id TEXT NOT NULL,
  name TEXT NOT NULL,
  creator TEXT NOT NULL,
  face_url TEXT NOT NULL,
  notification TEXT NOT NULL,
  introduction TEXT NOT NULL,
  custom_string TEXT NOT NULL,
  mute_all INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id, topic_id)
) WITHOUT ROWID;
"""

_PROFILE = ", ".join(COLUMNS)
_SELECT = f"SELECT topic_id, {_PROFILE} FROM group_topics WHERE sdkappid = ? AND group_id = ?"


class SqliteGroupTopicStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def create(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        row = (sdkappid, group_id, topic.topic_id, *topic_columns(topic))
        added = await self._tables.run(
            lambda c: (
                c.execute(
                    f"INSERT OR IGNORE INTO group_topics (sdkappid, group_id, topic_id, {_PROFILE})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).rowcount
            )
        )
        return bool(added)

    async def update(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        assignments = ", ".join(f"{column} = ?" for column in COLUMNS)
        changed = await self._tables.run(
            lambda c: (
                c.execute(
                    f"UPDATE group_topics SET {assignments}"
                    " WHERE sdkappid = ? AND group_id = ? AND topic_id = ?",
                    (*topic_columns(topic), sdkappid, group_id, topic.topic_id),
                ).rowcount
            )
        )
        return bool(changed)

    async def get(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> dict[str, Topic]:
        wanted = list(dict.fromkeys(topic_ids))
        if not wanted:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                _SELECT + f" AND topic_id IN ({placeholders(len(wanted))})",
                (sdkappid, group_id, *wanted),
            ).fetchall()
        )
        return {t.topic_id: t for t in map(topic_of_row, rows)}

    async def list_topics(self, sdkappid: int, group_id: str) -> list[Topic]:
        rows = await self._tables.run(lambda c: c.execute(_SELECT, (sdkappid, group_id)).fetchall())
        return creation_order([topic_of_row(r) for r in rows])

    async def delete(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> None:
        await self._tables.write_many(
            "DELETE FROM group_topics WHERE sdkappid = ? AND group_id = ? AND topic_id = ?",
            [(sdkappid, group_id, t) for t in dict.fromkeys(topic_ids)],
        )

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        await self._tables.run(
            lambda c: c.execute(
                "DELETE FROM group_topics WHERE sdkappid = ? AND group_id = ?",
                (sdkappid, group_id),
            )
        )
