"""StatsStore on the embedded SQLite file (the schema of each table in stats.py's docstring)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.sqlite_tables import LazyTables, in_immediate_transaction, placeholders
from services.common.store.stats import GroupLife, MemberRow, SessionRow, ValueRow, latest_life

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stats_members (
  sdkappid INTEGER NOT NULL,
  day TEXT NOT NULL,
  metric TEXT NOT NULL,
  member TEXT NOT NULL,
  PRIMARY KEY (sdkappid, day, metric, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_values (
  sdkappid INTEGER NOT NULL,
  day TEXT NOT NULL,
  metric TEXT NOT NULL,
  source TEXT NOT NULL,
  value INTEGER NOT NULL,
  upto INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, day, metric, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_sessions (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  sessions INTEGER NOT NULL,
  source TEXT NOT NULL,
  upto INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_groups (
  sdkappid INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  destroyed_ms INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, group_id, created_ms)
) WITHOUT ROWID;
"""


class SqliteStatsStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def add_members(self, rows: Sequence[MemberRow]) -> None:
        await self._tables.write_many(
            "INSERT OR IGNORE INTO stats_members (sdkappid, day, metric, member)"
            " VALUES (?, ?, ?, ?)",
            [(r.sdkappid, r.day, r.metric, r.member) for r in rows],
        )

    async def member_counts(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        if not days:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT day, metric, count(*) FROM stats_members WHERE sdkappid = ?"
                f" AND day IN ({placeholders(len(days))}) GROUP BY day, metric",
                (sdkappid, *days),
            ).fetchall()
        )
        return {(day, metric): int(n) for day, metric, n in rows}

    async def value(self, sdkappid: int, day: str, metric: str, source: str) -> ValueRow | None:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT value, upto FROM stats_values"
                " WHERE sdkappid = ? AND day = ? AND metric = ? AND source = ?",
                (sdkappid, day, metric, source),
            ).fetchone()
        )
        return ValueRow(sdkappid, day, metric, source, int(row[0]), int(row[1])) if row else None

    async def put_values(self, rows: Sequence[ValueRow]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO stats_values (sdkappid, day, metric, source, value, upto)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r.sdkappid, r.day, r.metric, r.source, r.value, r.upto) for r in rows],
        )

    async def value_sums(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        if not days:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT day, metric, sum(value) FROM stats_values WHERE sdkappid = ?"
                f" AND day IN ({placeholders(len(days))}) GROUP BY day, metric",
                (sdkappid, *days),
            ).fetchall()
        )
        return {(day, metric): int(n) for day, metric, n in rows}

    async def sessions(self, sdkappid: int) -> list[SessionRow]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, sessions, source, upto FROM stats_sessions WHERE sdkappid = ?",
                (sdkappid,),
            ).fetchall()
        )
        return [SessionRow(sdkappid, u, int(n), s, int(upto)) for u, n, s, upto in rows]

    async def put_sessions(self, rows: Sequence[SessionRow]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO stats_sessions (sdkappid, user_id, sessions, source, upto)"
            " VALUES (?, ?, ?, ?, ?)",
            [(r.sdkappid, r.user, r.sessions, r.source, r.upto) for r in rows],
        )

    async def group_created(self, life: GroupLife) -> None:
        await self._tables.write_many(
            "INSERT OR IGNORE INTO stats_groups (sdkappid, group_id, created_ms, destroyed_ms)"
            " VALUES (?, ?, ?, ?)",
            [(life.sdkappid, life.group_id, life.created_ms, life.destroyed_ms)],
        )

    async def group_destroyed(self, sdkappid: int, group_id: str, destroyed_ms: int) -> None:
        def mark(c: sqlite3.Connection) -> None:
            rows = c.execute(
                "SELECT created_ms, destroyed_ms FROM stats_groups"
                " WHERE sdkappid = ? AND group_id = ?",
                (sdkappid, group_id),
            ).fetchall()
            lives = [GroupLife(sdkappid, group_id, int(a), int(b)) for a, b in rows]
            life = latest_life(lives, destroyed_ms)
            if life is not None:
                c.execute(
                    "UPDATE stats_groups SET destroyed_ms = ?"
                    " WHERE sdkappid = ? AND group_id = ? AND created_ms = ?",
                    (destroyed_ms, sdkappid, group_id, life.created_ms),
                )

        await self._tables.run(lambda c: in_immediate_transaction(c, mark))

    async def group_lives(self, sdkappid: int) -> list[GroupLife]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT group_id, created_ms, destroyed_ms FROM stats_groups WHERE sdkappid = ?",
                (sdkappid,),
            ).fetchall()
        )
        return [GroupLife(sdkappid, g, int(a), int(b)) for g, a, b in rows]
