"""Real-time monitoring's pure parts: which metrics a trace event counts in, the buckets and
fields it adds to, replays skipped by the marks, percentiles from latency slots, and the view
the admin API answers (services/common/monitor_buckets.py, services/audit/monitor.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from services.audit.monitor import script_call
from services.common import monitor_buckets as mb
from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent

APP = 1400000001
NOW_S = 1_780_000_000 - 1_780_000_000 % 86400 + 10 * 3600 + 17 * 60 + 5  # 10:17:05 UTC


def ev(event: str, code: int = 0, latency: int = 0, at_s: int = NOW_S, **kw: str) -> TraceEvent:
    return trace.new_trace(
        APP, event, "u1", code=code, latency_ms=latency, time_ms=at_s * 1000, **kw
    )


def test_each_event_counts_in_its_metrics() -> None:
    assert mb.metrics_of(ev(trace.LOGIN)) == ("login",)
    assert mb.metrics_of(ev(trace.C2C_SEND)) == ("c2c_send",)
    assert mb.metrics_of(ev(trace.C2C_SEND, platform="RESTAPI")) == ("c2c_send", "rest")
    assert mb.metrics_of(ev(trace.GROUP_SEND, detail="Public")) == ("group_send",)
    assert mb.metrics_of(ev(trace.GROUP_SEND, detail="AVChatRoom", platform="RESTAPI")) == (
        "group_send",
        "live_group",
        "rest",
    )
    assert mb.metrics_of(ev(trace.CALLBACK, detail="C2C.CallbackBeforeSendMsg")) == ("callback",)
    assert mb.metrics_of(ev(trace.PUSH)) == ("push",)
    for other in (trace.LOGOUT, trace.DISCONNECT, trace.KICK, trace.RECALL):
        assert mb.metrics_of(ev(other)) == ()
    assert mb.metrics_of(TraceEvent(event="from_a_later_version")) == ()


@pytest.mark.parametrize(
    ("ms", "slot"), [(-5, 0), (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (60_000, 27), (60_001, 28)]
)
def test_latency_slots(ms: int, slot: int) -> None:
    assert mb.latency_slot(ms) == slot
    assert mb.SLOTS == 29


def test_an_event_adds_to_one_bucket_of_each_resolution() -> None:
    tally = mb.Tally()
    tally.add(ev(trace.C2C_SEND, code=80001, latency=12, platform="RESTAPI"), NOW_S)
    minute, five, hour = NOW_S - 5, NOW_S - 2 * 60 - 5, NOW_S - 17 * 60 - 5
    assert tally.buckets() == [(60, minute), (300, five), (3600, hour)]
    for step, start in tally.buckets():
        for metric in ("c2c_send", "rest"):
            assert tally.increments[(step, start, f"{metric}:c:80001")] == 1
            assert tally.increments[(step, start, f"{metric}:l:6")] == 1  # (10, 15]
            assert tally.increments[(step, start, f"{metric}:s")] == 12
            assert tally.maxima[(step, start, f"{metric}:x")] == 12
    assert len(tally.increments) == 3 * 2 * 3


def test_an_event_older_than_a_resolution_keeps_skips_it() -> None:
    tally = mb.Tally()
    tally.add(ev(trace.LOGIN, at_s=NOW_S - 3 * 3600), NOW_S)  # past the minutes' 2 h
    tally.add(ev(trace.LOGIN, at_s=NOW_S - 5 * 86400), NOW_S)  # past everything
    assert [step for step, _ in tally.buckets()] == [300, 3600]
    # A zero latency adds no sum and no maximum.
    assert not any(name.endswith((":s", ":x")) for _, _, name in tally.increments)
    assert not tally.maxima


def records(events: Sequence[TraceEvent], partition: int = 0, first: int = 100) -> list[mb.Traced]:
    return [(partition, first + i, e.time_ms, e) for i, e in enumerate(events)]


def test_a_replayed_batch_adds_nothing() -> None:
    batch = records([ev(trace.LOGIN), ev(trace.LOGOUT), ev(trace.LOGIN, code=70001)])
    first = mb.plan(batch, {}, NOW_S)
    assert first is not None and first.replayed == 0
    assert first.marks == [(0, "", f"102:{NOW_S * 1000}")]
    assert first.tally.increments[(60, NOW_S - 5, "login:c:70001")] == 1
    marks = {p: new for p, _, new in first.marks}
    again = mb.plan(batch, marks, NOW_S)
    assert again is not None
    assert (again.replayed, again.marks, again.tally.increments) == (2, [], {})
    # A batch that overlaps the applied one adds only what is past the mark.
    longer = mb.plan([*batch, *records([ev(trace.PUSH, code=1)], first=103)], marks, NOW_S)
    assert longer is not None and longer.replayed == 2
    assert {name for _, _, name in longer.tally.increments} == {"push:c:1", "push:l:0"}
    assert longer.marks == [(0, f"102:{NOW_S * 1000}", f"103:{NOW_S * 1000}")]


def test_marks_are_per_partition_and_a_new_log_is_counted() -> None:
    marks = {0: f"500:{(NOW_S - 600) * 1000}", 1: f"10:{NOW_S * 1000}"}
    # Partition 0: offsets below the mark but ten minutes newer: a broker that lost its log.
    # Partition 1: a replay.
    batch = records([ev(trace.LOGIN)], 0, first=3) + records([ev(trace.LOGIN)], 1, first=9)
    got = mb.plan(batch, marks, NOW_S)
    assert got is not None and got.replayed == 1
    assert got.marks == [(0, marks[0], f"3:{NOW_S * 1000}")]
    assert got.tally.increments[(3600, NOW_S - 17 * 60 - 5, "login:c:0")] == 1
    # A little clock skew between producers is still a replay.
    skewed = records([ev(trace.LOGIN, at_s=NOW_S + 30)], 1, first=10)
    skewed = [(p, o, ts + 30_000, e) for p, o, ts, e in skewed]
    assert mb.plan(skewed, marks, NOW_S) == mb.Plan(mb.Tally(), [], 1)
    assert mb.plan(records([ev(trace.KICK)]), {}, NOW_S) is None


def summary(latencies: Sequence[int], codes: dict[int, int] | None = None) -> mb.Summary:
    s = mb.Summary(codes=codes or {0: len(latencies)})
    for ms in latencies:
        s.slots[mb.latency_slot(ms)] += 1
        s.latency_sum += ms
        s.latency_max = max(s.latency_max, ms)
    return s


def test_percentiles_are_upper_bounds_exact_for_alike_latencies() -> None:
    assert summary([4] * 10).percentile(0.5) == 4  # slot (3, 5], capped by the largest
    assert summary([0] * 3).percentile(0.99) == 0
    mixed = summary([3] * 98 + [40, 400])
    assert (mixed.percentile(0.5), mixed.percentile(0.99), mixed.percentile(1.0)) == (3, 50, 400)
    assert summary([90_000, 1]).percentile(0.99) == 90_000  # past the last edge: the largest
    assert mb.Summary().percentile(0.5) is None


def apply(buckets: dict[str, dict[str, int]], sdkappid: int, plan: mb.Plan) -> None:
    """What APPLY_LUA does to the buckets with script_call's argument (marks aside)."""
    keys, args = script_call(sdkappid, plan)
    arg = json.loads(str(args[0]))
    assert len(arg["expire"]) == len(keys) - 1
    tag = keys[0][keys[0].index("{") : keys[0].index("}") + 1]
    assert all(tag in k for k in keys), "one hash tag: one Redis Cluster slot"
    for index, name, n in arg["inc"]:
        h = buckets.setdefault(keys[index - 1], {})
        h[name] = h.get(name, 0) + n
    for index, name, v in arg["max"]:
        h = buckets.setdefault(keys[index - 1], {})
        h[name] = max(h.get(name, 0), v)


def test_the_view_sums_what_was_written() -> None:
    at = [NOW_S, NOW_S - 30 * 60, NOW_S - 5 * 3600]
    events = [
        ev(trace.C2C_SEND, latency=3, at_s=at[0]),
        ev(trace.C2C_SEND, code=80001, latency=3, at_s=at[1]),
        ev(trace.GROUP_SEND, latency=8, detail="AVChatRoom", platform="RESTAPI", at_s=at[1]),
        ev(trace.GROUP_SEND, latency=8, detail="Work", at_s=at[2]),
        ev(trace.CALLBACK, code=502, latency=120, at_s=at[0]),
    ]
    plan = mb.plan(records(events), {}, NOW_S)
    assert plan is not None
    buckets: dict[str, dict[str, int]] = {}
    apply(buckets, APP, plan)

    def read(window: str) -> dict[str, object]:
        spec = mb.WINDOWS[window]
        starts = mb.window_starts(spec, NOW_S)
        rows = [
            {
                k: str(v)
                for k, v in buckets.get(mb.bucket_key(APP, spec.resolution.step_s, s), {}).items()
            }
            for s in starts
        ]
        today = [
            [str(buckets.get(mb.bucket_key(APP, 3600, s), {}).get(f)) for f in mb.today_fields()]
            for s in mb.today_starts(NOW_S)
        ]
        cleaned = [[None if v == "None" else v for v in row] for row in today]
        return mb.monitor_view(window, NOW_S, rows, mb.today_counts(cleaned))

    hour = read("1h")
    rates = hour["rates"]
    assert isinstance(rates, dict)
    assert rates["c2c_send"] == {
        "total": 2,
        "success": 1,
        "success_rate": 0.5,
        "latency_ms": {"p50": 3, "p99": 3, "avg": 3.0, "max": 3},
        "codes": {"0": 1, "80001": 1},
    }
    assert rates["group_send"]["total"] == rates["live_group"]["total"] == 1  # 5 h ago: out
    assert rates["rest"]["codes"] == {"0": 1}
    assert rates["callback"]["latency_ms"] == {"p50": 120, "p99": 120, "avg": 120.0, "max": 120}
    assert rates["login"] == {
        "total": 0,
        "success": 0,
        "success_rate": None,
        "latency_ms": {"p50": None, "p99": None, "avg": None, "max": None},
        "codes": {},
    }
    series = hour["series"]
    assert isinstance(series, list) and len(series) == 60
    assert series[-1]["start_ms"] == (NOW_S - 5) * 1000
    assert series[-1]["metrics"]["callback"]["total"] == 1
    assert series[-31]["metrics"]["c2c_send"]["total"] == 1
    assert (hour["step_s"], hour["from_ms"]) == (60, (NOW_S - 5 - 59 * 60) * 1000)
    six = read("6h")
    assert six["rates"]["group_send"]["total"] == 2  # type: ignore[index]
    assert (six["step_s"], len(six["series"])) == (300, 72)  # type: ignore[arg-type]
    assert read("3d")["rates"]["c2c_send"]["codes"] == {"0": 1, "80001": 1}  # type: ignore[index]
    # Today (10:17 UTC): all of it, the 5 h old work-group message too.
    assert hour["today"] == {"c2c": 1, "group": 1, "live_group": 1}


def test_window_shapes() -> None:
    for name, points, step in (
        ("1h", 60, 60),
        ("6h", 72, 300),
        ("24h", 24, 3600),
        ("3d", 72, 3600),
    ):
        spec = mb.WINDOWS[name]
        starts = mb.window_starts(spec, NOW_S)
        assert (len(starts), spec.resolution.step_s) == (points, step)
        assert starts[-1] <= NOW_S < starts[-1] + step
        # Every bucket a window reads is still kept.
        assert mb.expires_at(spec.resolution, starts[0]) > NOW_S + spec.resolution.step_s
    assert mb.today_starts(NOW_S) == [NOW_S - NOW_S % 86400 + h * 3600 for h in range(11)]
    with pytest.raises(ValueError, match="buckets for a window"):
        mb.monitor_view("1h", NOW_S, [{}], {})


def test_unknown_fields_are_skipped() -> None:
    parsed = mb.parse_bucket({"login:c:0": "2", "login:l:99": "1", "login:q": "x", "junk": "1"})
    assert parsed["login"].codes == {0: 2} and parsed["login"].total == 2
