"""Where Valkey's time goes, per message: INFO commandstats before and after a run, as the calls
and microseconds (Valkey's own, inside the server) of each command per message delivered."""

from __future__ import annotations

import redis.asyncio as aioredis

Stats = dict[str, tuple[int, int]]


async def commandstats(url: str) -> Stats:
    client = aioredis.from_url(url)
    try:
        info = await client.info("commandstats")
    finally:
        await client.aclose()
    return {
        name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for name, v in info.items()
        if isinstance(v, dict)
    }


def table(before: Stats, after: Stats, messages: int, top: int = 8) -> str:
    rows = []
    for name, (calls, usec) in after.items():
        c0, u0 = before.get(name, (0, 0))
        if calls > c0:
            rows.append((name, calls - c0, usec - u0))
    rows.sort(key=lambda r: -r[2])
    n = max(messages, 1)
    lines = ["| Valkey command | calls per msg | µs per msg (inside Valkey) |", "|---|---|---|"]
    lines += [f"| {name} | {calls / n:.3f} | {usec / n:.1f} |" for name, calls, usec in rows[:top]]
    total = sum(u for _, _, u in rows)
    lines.append(f"| **all** | {sum(c for _, c, _ in rows) / n:.3f} | {total / n:.1f} |")
    return "\n".join(lines)
