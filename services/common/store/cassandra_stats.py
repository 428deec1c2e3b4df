"""StatsStore on Cassandra (tables in cassandra.SCHEMA_CQL). Members are partitioned by
(app, day, metric), so a figure is one COUNT over one partition; values by (app, day); sessions
and group lives by app. Writes are upserts of absolute values (an INSERT of a member again
changes nothing); a group's creation is IF NOT EXISTS, so that a replay keeps its destroy mark."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.stats import (
    MEMBER_METRICS,
    GroupLife,
    MemberRow,
    SessionRow,
    ValueRow,
    latest_life,
)

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraStatsStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._add_member = cql.prepare(
            "INSERT INTO stats_members (sdkappid, day, metric, member) VALUES (?, ?, ?, ?)"
        )
        self._count_members = cql.prepare(
            "SELECT count(*) FROM stats_members WHERE sdkappid = ? AND day = ? AND metric = ?"
        )
        self._put_value = cql.prepare(
            "INSERT INTO stats_values (sdkappid, day, metric, source, value, upto)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._get_value = cql.prepare(
            "SELECT value, upto FROM stats_values"
            " WHERE sdkappid = ? AND day = ? AND metric = ? AND source = ?"
        )
        self._day_values = cql.prepare(
            "SELECT metric, value FROM stats_values WHERE sdkappid = ? AND day = ?"
        )
        self._put_session = cql.prepare(
            "INSERT INTO stats_sessions (sdkappid, user_id, sessions, source, upto)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._sessions = cql.prepare(
            "SELECT user_id, sessions, source, upto FROM stats_sessions WHERE sdkappid = ?"
        )
        self._create_group = cql.prepare(
            "INSERT INTO stats_groups (sdkappid, group_id, created_ms, destroyed_ms)"
            " VALUES (?, ?, ?, ?) IF NOT EXISTS"
        )
        self._destroy_group = cql.prepare(
            "UPDATE stats_groups SET destroyed_ms = ?"
            " WHERE sdkappid = ? AND group_id = ? AND created_ms = ?"
        )
        self._group_lives = cql.prepare(
            "SELECT created_ms, destroyed_ms FROM stats_groups WHERE sdkappid = ? AND group_id = ?"
        )
        self._all_groups = cql.prepare(
            "SELECT group_id, created_ms, destroyed_ms FROM stats_groups WHERE sdkappid = ?"
        )

    async def add_members(self, rows: Sequence[MemberRow]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._add_member, (r.sdkappid, r.day, r.metric, r.member))
                for r in rows
            )
        )

    async def member_counts(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        keys = [(day, metric) for day in days for metric in MEMBER_METRICS]
        counts = await asyncio.gather(
            *(self._cql.execute(self._count_members, (sdkappid, d, m)) for d, m in keys)
        )
        return {k: int(rows[0][0]) for k, rows in zip(keys, counts, strict=True) if rows[0][0]}

    async def value(self, sdkappid: int, day: str, metric: str, source: str) -> ValueRow | None:
        rows = await self._cql.execute(self._get_value, (sdkappid, day, metric, source))
        if not rows:
            return None
        return ValueRow(sdkappid, day, metric, source, int(rows[0][0]), int(rows[0][1]))

    async def put_values(self, rows: Sequence[ValueRow]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._put_value, (r.sdkappid, r.day, r.metric, r.source, r.value, r.upto)
                )
                for r in rows
            )
        )

    async def value_sums(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        per_day = await asyncio.gather(
            *(self._cql.execute(self._day_values, (sdkappid, day)) for day in days)
        )
        sums: dict[tuple[str, str], int] = {}
        for day, rows in zip(days, per_day, strict=True):
            for metric, value in rows:
                sums[(day, metric)] = sums.get((day, metric), 0) + int(value)
        return sums

    async def sessions(self, sdkappid: int) -> list[SessionRow]:
        rows = await self._cql.execute(self._sessions, (sdkappid,))
        return [SessionRow(sdkappid, u, int(n), s, int(upto)) for u, n, s, upto in rows]

    async def put_sessions(self, rows: Sequence[SessionRow]) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._put_session, (r.sdkappid, r.user, r.sessions, r.source, r.upto)
                )
                for r in rows
            )
        )

    async def group_created(self, life: GroupLife) -> None:
        await self._cql.execute(
            self._create_group, (life.sdkappid, life.group_id, life.created_ms, life.destroyed_ms)
        )

    async def group_destroyed(self, sdkappid: int, group_id: str, destroyed_ms: int) -> None:
        rows = await self._cql.execute(self._group_lives, (sdkappid, group_id))
        lives = [GroupLife(sdkappid, group_id, int(a), int(b or 0)) for a, b in rows]
        life = latest_life(lives, destroyed_ms)
        if life is not None:
            await self._cql.execute(
                self._destroy_group, (destroyed_ms, sdkappid, group_id, life.created_ms)
            )

    async def group_lives(self, sdkappid: int) -> list[GroupLife]:
        rows = await self._cql.execute(self._all_groups, (sdkappid,))
        return [GroupLife(sdkappid, g, int(a), int(b or 0)) for g, a, b in rows]
