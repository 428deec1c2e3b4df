"""The daily statistics of an app as the admin API and the CLI show them: one row of figures per
UTC day, each with its change from the day before, and as CSV. Reads the stats store only
(services/common/store/stats.py); the arithmetic is pure.

Definitions (UTC days):
- active_users: distinct users who logged in (im.events state.changed Login) or sent a message;
- new_users: accounts imported (account.imported, new accounts only);
- peak_online: the most users with at least one session at once during the day, from login,
  logout and disconnect state changes (services/audit/stats.py);
- c2c_messages, group_messages: im.messages records of kind MESSAGE, not silent imports;
  senders: their distinct senders;
- new_groups, destroyed_groups: groups created (or imported) and destroyed that day; groups:
  groups existing at the end of the day (all time: created minus destroyed); peak_groups: the
  most groups existing at once during the day; active_groups: groups with a message that day;
- pushes_sent, pushes_failed: im.trace `push` records with code 0, and with another code;
- callbacks_ok, callbacks_failed: im.trace `callback` records likewise; callback_success_rate:
  callbacks_ok over all callbacks, in percent (None on a day without callbacks).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from services.common.store import stats
from services.common.store.stats import DAY_MS, GroupLife, StatsStore, day_start_ms

MAX_DAYS = 90

COUNT_FIGURES: tuple[str, ...] = (
    "active_users",
    "new_users",
    "peak_online",
    "messages",
    "c2c_messages",
    "group_messages",
    "senders",
    "new_groups",
    "destroyed_groups",
    "groups",
    "peak_groups",
    "active_groups",
    "pushes_sent",
    "pushes_failed",
    "callbacks_ok",
    "callbacks_failed",
)
FIGURES: tuple[str, ...] = (*COUNT_FIGURES, "callback_success_rate")


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: str
    active_users: int = 0
    new_users: int = 0
    peak_online: int = 0
    messages: int = 0
    c2c_messages: int = 0
    group_messages: int = 0
    senders: int = 0
    new_groups: int = 0
    destroyed_groups: int = 0
    groups: int = 0
    peak_groups: int = 0
    active_groups: int = 0
    pushes_sent: int = 0
    pushes_failed: int = 0
    callbacks_ok: int = 0
    callbacks_failed: int = 0
    callback_success_rate: float | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """From the day before: the difference, and it in percent of the day before (None when
    the day before was 0 or has no value). A rate's delta is in percentage points."""

    delta: float | None
    percent: float | None


@dataclass(frozen=True, slots=True)
class DayReport:
    figures: DayFigures
    change: dict[str, Change]


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}, not {days}")
    return days


def day_range(last_day: str, days: int) -> list[str]:
    """`days` UTC days ending with last_day, oldest first."""
    last = date.fromisoformat(last_day)
    return [(last - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def group_figures(lives: Sequence[GroupLife], day: str) -> dict[str, int]:
    """new, destroyed, existing at the end, and most existing at once, on one day."""
    start = day_start_ms(day)
    end = start + DAY_MS

    def alive(life: GroupLife, at: int) -> bool:
        return life.created_ms < at and (life.destroyed_ms == 0 or life.destroyed_ms >= at)

    steps: list[tuple[int, int]] = []
    for life in lives:
        if start <= life.created_ms < end:
            steps.append((life.created_ms, 1))
        if start <= life.destroyed_ms < end and life.destroyed_ms:
            steps.append((life.destroyed_ms, -1))
    running = peak = sum(alive(life, start) for life in lives)
    # At one millisecond, destroys before creations: a peak is never made of a coincidence.
    for _, step in sorted(steps):
        running += step
        peak = max(peak, running)
    return {
        "new_groups": sum(step > 0 for _, step in steps),
        "destroyed_groups": sum(step < 0 for _, step in steps),
        "groups": sum(alive(life, end) for life in lives),
        "peak_groups": peak,
    }


def success_rate(ok: int, failed: int) -> float | None:
    total = ok + failed
    return round(100.0 * ok / total, 2) if total else None


def day_figures(
    day: str,
    members: dict[tuple[str, str], int],
    values: dict[tuple[str, str], int],
    lives: Sequence[GroupLife],
) -> DayFigures:
    def member(metric: str) -> int:
        return members.get((day, metric), 0)

    def value(metric: str) -> int:
        return values.get((day, metric), 0)

    c2c, group = value(stats.C2C_MESSAGES), value(stats.GROUP_MESSAGES)
    ok, failed = value(stats.CALLBACKS_OK), value(stats.CALLBACKS_FAILED)
    return DayFigures(
        day=day,
        active_users=member(stats.ACTIVE_USERS),
        new_users=member(stats.NEW_USERS),
        peak_online=value(stats.PEAK_ONLINE),
        messages=c2c + group,
        c2c_messages=c2c,
        group_messages=group,
        senders=member(stats.SENDERS),
        active_groups=member(stats.ACTIVE_GROUPS),
        pushes_sent=value(stats.PUSHES_SENT),
        pushes_failed=value(stats.PUSHES_FAILED),
        callbacks_ok=ok,
        callbacks_failed=failed,
        callback_success_rate=success_rate(ok, failed),
        **group_figures(lives, day),
    )


def change(now: float | None, before: float | None) -> Change:
    if now is None or before is None:
        return Change(None, None)
    delta = round(now - before, 2)
    return Change(delta, round(100.0 * delta / before, 2) if before else None)


def with_changes(figures: Sequence[DayFigures]) -> list[DayReport]:
    """Each day but the first (which only serves as the day before the second) with its
    change from the day before."""
    reports: list[DayReport] = []
    for before, now in itertools.pairwise(figures):
        reports.append(
            DayReport(
                now,
                {f: change(getattr(now, f), getattr(before, f)) for f in FIGURES},
            )
        )
    return reports


async def daily_report(
    store: StatsStore, sdkappid: int, days: int, last_day: str | None = None
) -> list[DayReport]:
    """The last `days` UTC days (ending today), oldest first."""
    # One day more: the first day's change is from the day before it.
    wanted = day_range(last_day or today(), check_days(days) + 1)
    members = await store.member_counts(sdkappid, wanted)
    values = await store.value_sums(sdkappid, wanted)
    lives = await store.group_lives(sdkappid)
    return with_changes([day_figures(d, members, values, lives) for d in wanted])


def report_doc(reports: Sequence[DayReport]) -> list[dict[str, object]]:
    return [
        {
            **asdict(r.figures),
            "change": {f: asdict(c) for f, c in r.change.items()},
        }
        for r in reports
    ]


def to_csv(reports: Sequence[DayReport]) -> str:
    """One line per day: the figures, then each figure's delta and percent change."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["day", *FIGURES, *(f"{f}_delta" for f in FIGURES), *(f"{f}_pct" for f in FIGURES)]
    )

    def cell(v: float | None) -> str:
        return "" if v is None else str(v)

    for r in reports:
        writer.writerow(
            [
                r.figures.day,
                *(cell(getattr(r.figures, f)) for f in FIGURES),
                *(cell(r.change[f].delta) for f in FIGURES),
                *(cell(r.change[f].percent) for f in FIGURES),
            ]
        )
    return out.getvalue()
