"""Daily statistics per app (UTC days), written by the audit service's stream processing
(services/audit/stats.py) and read by the admin API and the CLI (stats_report.py).

Every write is idempotent, so that a record replayed after a crash counts once:
- members: one row per (app, day, metric, member), e.g. each user active that day; a figure is
  the number of rows, and writing a row again changes nothing;
- values: one row per (app, day, metric, source) holding an absolute value and the offset of
  the last record it includes (`upto`). A counter has one row per source partition (written
  by the one consumer of that partition, which skips records at or below `upto`); a figure is
  the sum of its rows. A peak has one row (source PEAK), only ever raised;
- sessions: per (app, user), how many sessions the user has and the offset of the last state
  change applied (per source partition, where one user's changes all go);
- group lives: per (app, group, created_ms), when it was destroyed (0: it still exists).
  New, destroyed, cumulative and peak groups of any day are derived from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

# Member metrics.
ACTIVE_USERS = "active_users"
NEW_USERS = "new_users"
SENDERS = "senders"
ACTIVE_GROUPS = "active_groups"
MEMBER_METRICS: tuple[str, ...] = (ACTIVE_USERS, NEW_USERS, SENDERS, ACTIVE_GROUPS)

# Value metrics: counters (summed over sources) and peaks (one row each).
C2C_MESSAGES = "c2c_messages"
GROUP_MESSAGES = "group_messages"
PUSHES_SENT = "pushes_sent"
PUSHES_FAILED = "pushes_failed"
CALLBACKS_OK = "callbacks_ok"
CALLBACKS_FAILED = "callbacks_failed"
PEAK_ONLINE = "peak_online"
VALUE_METRICS: tuple[str, ...] = (
    C2C_MESSAGES,
    GROUP_MESSAGES,
    PUSHES_SENT,
    PUSHES_FAILED,
    CALLBACKS_OK,
    CALLBACKS_FAILED,
    PEAK_ONLINE,
)
# The source of a peak's single row.
PEAK = "peak"

DAY_MS = 86_400_000


def day_of(time_ms: int) -> str:
    """The UTC day of a time, as YYYY-MM-DD (sorts as it reads)."""
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d")


def day_start_ms(day: str) -> int:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(start.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class MemberRow:
    sdkappid: int
    day: str
    metric: str
    member: str


@dataclass(frozen=True, slots=True)
class ValueRow:
    sdkappid: int
    day: str
    metric: str
    source: str
    value: int
    # The offset of the last record of `source` the value includes (-1: none).
    upto: int = -1


@dataclass(frozen=True, slots=True)
class SessionRow:
    sdkappid: int
    user: str
    sessions: int
    source: str
    upto: int


@dataclass(frozen=True, slots=True)
class GroupLife:
    sdkappid: int
    group_id: str
    created_ms: int
    # 0 while the group exists.
    destroyed_ms: int = 0


class StatsStore(Protocol):
    async def add_members(self, rows: Sequence[MemberRow]) -> None:
        """Insert the rows that are not there yet."""

    async def member_counts(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        """(day, metric) -> rows, for the days given (absent: 0)."""

    async def value(self, sdkappid: int, day: str, metric: str, source: str) -> ValueRow | None:
        """One value row, as last written."""

    async def put_values(self, rows: Sequence[ValueRow]) -> None:
        """Write each row's value and upto, replacing what was there."""

    async def value_sums(self, sdkappid: int, days: Sequence[str]) -> dict[tuple[str, str], int]:
        """(day, metric) -> the sum of its rows over the sources, for the days given."""

    async def sessions(self, sdkappid: int) -> list[SessionRow]:
        """Every session row of the app (users who ever logged in)."""

    async def put_sessions(self, rows: Sequence[SessionRow]) -> None: ...

    async def group_created(self, life: GroupLife) -> None:
        """Record a group's creation (again: nothing changes)."""

    async def group_destroyed(self, sdkappid: int, group_id: str, destroyed_ms: int) -> None:
        """Mark destroyed the latest life of the group created at or before destroyed_ms."""

    async def group_lives(self, sdkappid: int) -> list[GroupLife]: ...


def latest_life(lives: Sequence[GroupLife], destroyed_ms: int) -> GroupLife | None:
    """The life a destroy at destroyed_ms ends: the latest one created at or before it."""
    before = [life for life in lives if life.created_ms <= destroyed_ms]
    return max(before, key=lambda life: life.created_ms) if before else None
