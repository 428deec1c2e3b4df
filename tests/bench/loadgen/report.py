"""Markdown tables for docs/BENCHMARKS.md. CPU per message is CPU seconds over the measured
window divided by the messages delivered in that window, in µs."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from hdrh.histogram import HdrHistogram

from tests.bench.loadgen.shapes import C2CRun, Cpu, GroupRun


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {platform.node()}, {os.cpu_count()} cores ({model}), Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average {load}"
    )


def ms(h: HdrHistogram, q: float) -> float:
    return h.get_value_at_percentile(q) / 1000 if h.get_total_count() else float("nan")


def per_msg_us(cpu_s: float, messages: int) -> float:
    return cpu_s / messages * 1e6 if messages else float("nan")


def cpu_table(cpu: Cpu, messages: int, unit: str = "msg") -> str:
    """One row per process: CPU seconds, share of one core, µs per delivered message."""
    rows = [f"| process | CPU s | % of a core | µs per {unit} |", "|---|---|---|---|"]

    def row(name: str, s: float) -> None:
        rows.append(
            f"| {name} | {s:.2f} | {s / cpu.seconds * 100:.1f} | {per_msg_us(s, messages):,.1f} |"
        )

    for name, s in sorted(cpu.server.items(), key=lambda kv: -kv[1]):
        row(name, s)
    row("**server total**", cpu.server_total)
    for i, s in enumerate(cpu.generator):
        row(f"generator {i}", s)
    if cpu.generator:
        row("generator total", cpu.generator_total)
        row("**all, generator included**", cpu.server_total + cpu.generator_total)
    return "\n".join(rows)


def rest_table(cpu: Cpu) -> str:
    rows = ["| process | % of a core at rest |", "|---|---|"]
    for name, s in sorted(cpu.server.items(), key=lambda kv: -kv[1]):
        rows.append(f"| {name} | {s / cpu.seconds * 100:.1f} |")
    rows.append(f"| **total** | {cpu.server_total / cpu.seconds * 100:.1f} |")
    return "\n".join(rows)


def c2c_heading(name: str, run: C2CRun) -> str:
    h = run.latency
    text = (
        f"**{name}, {run.offered:,.0f} msg/s offered**: delivered {run.delivered:,.0f} msg/s; "
        f"latency p50 {ms(h, 50):.1f} ms, p99 {ms(h, 99):.1f} ms, p99.9 {ms(h, 99.9):.1f} ms "
        f"({h.get_total_count():,} messages sent in the window); refused {run.refused}, "
        f"undelivered at the end {run.undelivered}"
    )
    gen, window = run.cpu.generator_total, run.cpu.seconds
    text += (
        f"; generator {gen / window * 100:.1f} % of a core, "
        f"{per_msg_us(gen, round(run.offered * window)):,.0f} µs per message sent "
        "(all its work for one message)"
    )
    if run.slow_frames:
        text += f"; {run.slow_frames} msg or ack frames off the fast path"
    if run.errors:
        text += "\n  first errors: " + "; ".join(run.errors[:3])
    return text


def c2c_summary_row(name: str, run: C2CRun, floor: tuple[float, float] | None = None) -> str:
    h, n = run.latency, run.delivered_in_window
    floor_text = f"{floor[0]:.1f} / {floor[1]:.1f}" if floor else "–"
    return (
        f"| {name} | {run.offered:,.0f} | {run.delivered:,.0f} | {ms(h, 50):.1f} | "
        f"{ms(h, 99):.1f} | {ms(h, 99.9):.1f} | {per_msg_us(run.cpu.server_total, n):,.0f} | "
        f"{per_msg_us(run.cpu.generator_total, n):,.0f} | {floor_text} |"
    )


C2C_SUMMARY_HEAD = (
    "| server | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms "
    "| server µs/msg | generator µs/msg | broker floor p50 / p99 ms |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def group_report(name: str, run: GroupRun) -> str:
    to_last = sorted(run.to_last_ms)
    p50 = to_last[len(to_last) // 2] if to_last else float("nan")
    worst = to_last[-1] if to_last else float("nan")
    lines = [
        f"**{name}: one sender, {run.audience:,} members receiving**",
        "",
        "| measure | value |",
        "|---|---|",
        f"| time to last delivery, p50 of {len(to_last)} single sends | {p50:,.0f} ms |",
        f"| time to last delivery, max of {len(to_last)} | {worst:,.0f} ms |",
        f"| one delivery's latency (singles), p50 / p99 | {ms(run.single_latency, 50):,.0f} / "
        f"{ms(run.single_latency, 99):,.0f} ms |",
        f"| burst of {run.burst}: deliveries/s | {run.deliveries_per_s:,.0f} "
        f"({run.burst_deliveries:,} in {run.burst_seconds:.2f} s) |",
        f"| burst: one delivery's latency p50 / p99 | {ms(run.burst_latency, 50):,.0f} / "
        f"{ms(run.burst_latency, 99):,.0f} ms |",
        f"| sends that missed a member before the timeout | {run.incomplete} |",
        "",
        f"CPU over the burst ({run.burst_cpu.seconds:.2f} s, from the first send to the last "
        "delivery), per delivery:",
        "",
        cpu_table(run.burst_cpu, run.burst_deliveries, "delivery"),
    ]
    if run.errors:
        lines.append("\nfirst errors: " + "; ".join(run.errors[:3]))
    return "\n".join(lines)
