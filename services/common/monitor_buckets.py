"""Real-time monitoring: per-app time buckets of im.trace outcomes, written by the audit service
(services/audit/monitor.py) and read by the admin API (services/gateway/admin/monitor.py).

A bucket is a Redis hash, `mon:{<app>:monitor}:<step_s>:<start_s>`, of one app and one span of
time, at three resolutions: a minute (kept 2 h: the 1 h window), five minutes (kept 7 h: the
6 h window) and an hour (kept 4 days: the 24 h and 3 d windows, and today). Its fields, per
metric (`METRICS`):
- `<metric>:c:<code>`: outcomes with that code (0 is success);
- `<metric>:l:<slot>`: outcomes whose latency fell in that slot of `LATENCY_BOUNDS_MS`, so a
  window's percentiles come from summing the slots of its buckets;
- `<metric>:s` and `<metric>:x`: the sum and the largest of the latencies.

The metrics are the trace events that have a success rate, plus two views of the sends:
`live_group` (group sends to AVChatRoom groups, from the event's detail) and `rest` (sends
through REST v4, platform RESTAPI). Everything here is pure.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from services.common import keys, trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent

LIVE_GROUP: Final = "live_group"
REST: Final = "rest"
METRICS: tuple[str, ...] = (
    trace.LOGIN,
    trace.C2C_SEND,
    trace.GROUP_SEND,
    LIVE_GROUP,
    trace.CALLBACK,
    trace.PUSH,
    REST,
)
# Tencent's live group; its messages count apart ("today's live-group messages").
LIVE_GROUP_TYPE: Final = "AVChatRoom"
REST_PLATFORM: Final = "RESTAPI"

# Upper edges of the latency slots, in ms; one more slot holds what is slower than the last.
LATENCY_BOUNDS_MS: tuple[int, ...] = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
    1000, 1500, 2000, 3000, 5000, 7000, 10_000, 15_000, 20_000, 30_000, 60_000,
)  # fmt: skip
SLOTS = len(LATENCY_BOUNDS_MS) + 1


@dataclass(frozen=True, slots=True)
class Resolution:
    step_s: int
    # How long a bucket is kept after its span ends: its longest window and a margin.
    keep_s: int


MINUTE = Resolution(60, 2 * 3600)
FIVE_MINUTES = Resolution(300, 7 * 3600)
HOUR = Resolution(3600, 4 * 86400)
RESOLUTIONS: tuple[Resolution, ...] = (MINUTE, FIVE_MINUTES, HOUR)


@dataclass(frozen=True, slots=True)
class Window:
    resolution: Resolution
    points: int


# A window is its resolution's last `points` buckets, the current (partial) one included.
WINDOWS: dict[str, Window] = {
    "1h": Window(MINUTE, 60),
    "6h": Window(FIVE_MINUTES, 72),
    "24h": Window(HOUR, 24),
    "3d": Window(HOUR, 72),
}
DAY_S = 86400


def bucket_key(sdkappid: int, step_s: int, start_s: int) -> str:
    return keys.redis_key("mon", sdkappid, "monitor", step_s, start_s)


def applied_key(sdkappid: int) -> str:
    """partition -> the last record of the app applied from it (`Mark`); beside the buckets,
    so one script updates both."""
    return keys.redis_key("mon", sdkappid, "monitor", "applied")


def count_field(metric: str, code: int) -> str:
    return f"{metric}:c:{code}"


def slot_field(metric: str, slot: int) -> str:
    return f"{metric}:l:{slot}"


def sum_field(metric: str) -> str:
    return f"{metric}:s"


def max_field(metric: str) -> str:
    return f"{metric}:x"


def metrics_of(event: TraceEvent) -> tuple[str, ...]:
    """The metrics a trace event counts in; () for events without a success rate (logout,
    disconnect, kick, recall) and for kinds this version does not know."""
    if event.event in (trace.LOGIN, trace.CALLBACK, trace.PUSH):
        return (event.event,)
    if event.event not in (trace.C2C_SEND, trace.GROUP_SEND):
        return ()
    out = [event.event]
    if event.event == trace.GROUP_SEND and event.detail == LIVE_GROUP_TYPE:
        out.append(LIVE_GROUP)
    if event.platform == REST_PLATFORM:
        out.append(REST)
    return tuple(out)


def latency_slot(latency_ms: int) -> int:
    return bisect.bisect_left(LATENCY_BOUNDS_MS, max(latency_ms, 0))


def bucket_start(time_s: int, step_s: int) -> int:
    return time_s - time_s % step_s


def expires_at(resolution: Resolution, start_s: int) -> int:
    return start_s + resolution.step_s + resolution.keep_s


# --- the writer's side --------------------------------------------------------------------

BucketField = tuple[int, int, str]  # (step_s, start_s, field)


@dataclass(slots=True)
class Tally:
    """What one app's events add to its buckets: counts to increment, maxima to raise."""

    increments: dict[BucketField, int] = field(default_factory=dict)
    maxima: dict[BucketField, int] = field(default_factory=dict)

    def add(self, event: TraceEvent, now_s: int) -> None:
        metrics = metrics_of(event)
        if not metrics:
            return
        time_s = event.time_ms // 1000
        latency = max(event.latency_ms, 0)
        for res in RESOLUTIONS:
            start = bucket_start(time_s, res.step_s)
            if expires_at(res, start) <= now_s:
                continue  # older than this resolution keeps
            for metric in metrics:
                for name, n in (
                    (count_field(metric, event.code), 1),
                    (slot_field(metric, latency_slot(latency)), 1),
                    (sum_field(metric), latency),
                ):
                    if n:
                        at = (res.step_s, start, name)
                        self.increments[at] = self.increments.get(at, 0) + n
                if latency:
                    top = (res.step_s, start, max_field(metric))
                    self.maxima[top] = max(self.maxima.get(top, 0), latency)

    def buckets(self) -> list[tuple[int, int]]:
        """(step_s, start_s) of every bucket touched, in a stable order."""
        return sorted({(step, start) for step, start, _ in self.increments})


@dataclass(frozen=True, slots=True)
class Mark:
    """The last record of an app applied from a partition: its offset, and the latest record
    timestamp applied from there."""

    offset: int
    timestamp_ms: int

    def encode(self) -> str:
        return f"{self.offset}:{self.timestamp_ms}"

    @staticmethod
    def decode(value: str) -> Mark | None:
        offset, _, ts = value.partition(":")
        try:
            return Mark(int(offset), int(ts))
        except ValueError:
            return None


# A record at or below the mark whose timestamp is later than the mark's by more than this is
# from a new log (a broker that lost its topics while Redis kept its marks), not a replay.
# Producers' clocks and batching order records in a partition only this well.
NEW_LOG_AFTER_MS = 60_000


def is_applied(mark: Mark | None, offset: int, timestamp_ms: int) -> bool:
    return (
        mark is not None
        and offset <= mark.offset
        and timestamp_ms <= mark.timestamp_ms + NEW_LOG_AFTER_MS
    )


def advance(mark: Mark | None, kept: Sequence[tuple[int, int]]) -> Mark:
    """The mark after applying `kept` (offset, timestamp) records of one partition (not empty):
    the highest offset applied (lower than the old mark only on a new log)."""
    latest = max(ts for _, ts in kept)
    if mark is not None:
        latest = max(latest, mark.timestamp_ms)
    return Mark(max(offset for offset, _ in kept), latest)


# (partition, offset, record timestamp ms, event): one trace record as the writer plans it.
Traced = tuple[int, int, int, TraceEvent]


@dataclass(slots=True)
class Plan:
    """One app's share of a batch: what it adds, the marks it moves ((partition, the mark as
    read, the new mark), applied only if every mark is still as read), and how many records
    were skipped as already applied."""

    tally: Tally
    marks: list[tuple[int, str, str]]
    replayed: int


def plan(records: Sequence[Traced], marks: Mapping[int, str], now_s: int) -> Plan | None:
    """One app's records of a batch against its marks (partition -> Mark.encode, as stored);
    None when none counts in a metric."""
    tally = Tally()
    kept: dict[int, list[tuple[int, int]]] = {}
    replayed = 0
    for partition, offset, timestamp_ms, event in records:
        if not metrics_of(event):
            continue
        if is_applied(Mark.decode(marks.get(partition, "")), offset, timestamp_ms):
            replayed += 1
            continue
        tally.add(event, now_s)
        kept.setdefault(partition, []).append((offset, timestamp_ms))
    if not kept and not replayed:
        return None
    moved = [
        (p, marks.get(p, ""), advance(Mark.decode(marks.get(p, "")), rows).encode())
        for p, rows in sorted(kept.items())
    ]
    return Plan(tally, moved, replayed)


# --- the reader's side --------------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """One metric over some buckets."""

    codes: dict[int, int] = field(default_factory=dict)
    slots: list[int] = field(default_factory=lambda: [0] * SLOTS)
    latency_sum: int = 0
    latency_max: int = 0

    @property
    def total(self) -> int:
        return sum(self.codes.values())

    @property
    def success(self) -> int:
        return self.codes.get(0, 0)

    def merge(self, other: Summary) -> None:
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
        for i, n in enumerate(other.slots):
            self.slots[i] += n
        self.latency_sum += other.latency_sum
        self.latency_max = max(self.latency_max, other.latency_max)

    def percentile(self, q: float) -> int | None:
        """The upper edge of the slot holding the q-quantile, capped by the largest latency
        seen: an upper bound, exact when the latencies are alike. None with no outcome."""
        counted = sum(self.slots)
        if not counted:
            return None
        rank = max(1, math.ceil(q * counted))
        seen = 0
        for slot, n in enumerate(self.slots):
            seen += n
            if seen >= rank:
                edge = LATENCY_BOUNDS_MS[slot] if slot < len(LATENCY_BOUNDS_MS) else None
                return self.latency_max if edge is None else min(edge, self.latency_max)
        return self.latency_max


def parse_bucket(values: Mapping[str, str]) -> dict[str, Summary]:
    """A bucket hash, as metric -> Summary; fields this version does not know are skipped."""
    out: dict[str, Summary] = {}
    for name, raw in values.items():
        metric, _, rest = name.partition(":")
        kind, _, arg = rest.partition(":")
        try:
            n = int(raw)
            summary = out.setdefault(metric, Summary())
            if kind == "c":
                code = int(arg)
                summary.codes[code] = summary.codes.get(code, 0) + n
            elif kind == "l" and 0 <= int(arg) < SLOTS:
                summary.slots[int(arg)] += n
            elif kind == "s":
                summary.latency_sum += n
            elif kind == "x":
                summary.latency_max = max(summary.latency_max, n)
        except ValueError:
            continue
    return out


def window_starts(window: Window, now_s: int) -> list[int]:
    """The starts of the window's buckets, oldest first, ending with the current one."""
    step = window.resolution.step_s
    last = bucket_start(now_s, step)
    return [last - (window.points - 1 - i) * step for i in range(window.points)]


def today_starts(now_s: int) -> list[int]:
    """The hour buckets of the current UTC day so far."""
    day = now_s - now_s % DAY_S
    return list(range(day, bucket_start(now_s, HOUR.step_s) + 1, HOUR.step_s))


def today_fields() -> list[str]:
    return [count_field(m, 0) for m in (trace.C2C_SEND, trace.GROUP_SEND, LIVE_GROUP)]


def today_counts(rows: Iterable[Sequence[str | None]]) -> dict[str, int]:
    """Today's messages sent (successful sends) from each hour bucket's `today_fields`, in
    that order. Group messages are those to groups of every other type."""
    c2c = group = live = 0
    for row in rows:
        a, b, c = (int(v) if v else 0 for v in row)
        c2c, group, live = c2c + a, group + b, live + c
    return {"c2c": c2c, "group": group - live, "live_group": live}


def rate_view(summary: Summary, with_codes: bool = True) -> dict[str, object]:
    """One metric as the admin API answers it."""
    total = summary.total
    view: dict[str, object] = {
        "total": total,
        "success": summary.success,
        "success_rate": round(summary.success / total, 4) if total else None,
        "latency_ms": {
            "p50": summary.percentile(0.5),
            "p99": summary.percentile(0.99),
            "avg": round(summary.latency_sum / total, 1) if total else None,
            "max": summary.latency_max if total else None,
        },
    }
    if with_codes:
        view["codes"] = {str(code): n for code, n in sorted(summary.codes.items())}
    return view


def monitor_view(
    window: str, now_s: int, buckets: Sequence[Mapping[str, str]], today: dict[str, int]
) -> dict[str, object]:
    """The monitor answer but for online_now, from the window's bucket hashes (oldest first,
    as window_starts) and today's counts."""
    spec = WINDOWS[window]
    starts = window_starts(spec, now_s)
    if len(buckets) != len(starts):
        raise ValueError(f"{len(buckets)} buckets for a window of {len(starts)}")
    totals = {m: Summary() for m in METRICS}
    series: list[dict[str, object]] = []
    for start, values in zip(starts, buckets, strict=True):
        parsed = parse_bucket(values)
        point: dict[str, object] = {}
        for metric in METRICS:
            summary = parsed.get(metric, Summary())
            totals[metric].merge(summary)
            point[metric] = rate_view(summary, with_codes=False)
        series.append({"start_ms": start * 1000, "metrics": point})
    return {
        "window": window,
        "step_s": spec.resolution.step_s,
        "from_ms": starts[0] * 1000,
        "to_ms": now_s * 1000,
        "today": today,
        "rates": {m: rate_view(s) for m, s in totals.items()},
        "series": series,
    }
