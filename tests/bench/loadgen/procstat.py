"""CPU time of processes from /proc/<pid>/stat (utime + stime, every thread included).

CPU per message is the figure the benchmarks compare: it moves far less than latency when the
machine is shared or changes from one day to the next. Ticks are 1/CLK_TCK s (10 ms here), so a
measured interval should hold at least a few seconds of work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of one process, in seconds; 0 when it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from every thread's children list."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a service that forks is counted whole)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


@dataclass
class Watched:
    """Named processes whose CPU is sampled together. A name stands for the process and its
    descendants alive at sampling time."""

    pids: dict[str, int] = field(default_factory=dict)

    def sample(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in tree(pid)) for name, pid in self.pids.items()}


def delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}
