"""REST v4 sendmsg throughput and latency, driven by wrk (a C load generator, so the figure is
the server's, not a Python client's).

    python -m tests.bench.rest_sendmsg [--seconds 15] [--connections 32 64]

Each request is a C2C sendmsg from one of 100 imported users to its fixed peer (50 ongoing
conversations, as chat traffic is), with a fresh MsgRandom, through the whole pipeline
(gateway -> im.inbound -> router -> im.messages -> reply).
Prints a Markdown row per connection count. Nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from services.common import app_settings
from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.conftest import new_app

USERS = 100

LUA = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) refused = 0 end
response = function(status, headers, body)
  if not string.find(body, '"ErrorCode":0', 1, true) then refused = refused + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("refused") end
  io.write(string.format("Refused: %%d\\n", total))
end
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local a = math.random(0, %(users)d - 1)
  local b = (a + %(users)d / 2) %% %(users)d
  local body = string.format('{"SyncOtherMachine":2,"From_Account":"u%%d","To_Account":"u%%d",'
    .. '"MsgRandom":%%d,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"bench"}}]}',
    a, b, math.random(0, 4294967295))
  return wrk.format(nil, nil, nil, body)
end
"""


def parse(output: str) -> dict[str, float]:
    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    refused = re.search(r"Refused: (\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": ms("50"),
        "p90": ms("90"),
        "p99": ms("99"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "refused": float(refused.group(1)) if refused else float("nan"),
    }


async def lift_rate_limit(stack: Stack, sdkappid: int) -> None:
    """The default 200 requests/s per command would cap the measurement, not the server."""
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        app = await stores.apps.get_app(sdkappid)
        assert app is not None
        app_settings.apply(app, rate_limits={"openim/sendmsg": {"limit": 1_000_000, "per_s": 1}})
        await stores.apps.save_app(app)
    finally:
        await stores.close()


async def main(seconds: int, connections: list[int]) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(data_dir=Path(tmp))
        await asyncio.to_thread(stack.start)
        try:
            app = await new_app(stack)
            await lift_rate_limit(stack, app.sdkappid)
            await app.import_accounts(*(f"u{i}" for i in range(USERS)))
            script = Path(tmp) / "sendmsg.lua"
            script.write_text(LUA % {"users": USERS})
            q = app.admin_params
            url = (
                f"{stack.rest_url}/v4/openim/sendmsg?sdkappid={q['sdkappid']}"
                f"&identifier=administrator&usersig={q['usersig']}&random=1&contenttype=json"
            )
            print(
                f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_version()}"
            )
            print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
            print(
                "| connections | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | ErrorCode != 0 |"
            )
            print("|---|---|---|---|---|---|---|")
            for c in connections:
                done = await asyncio.to_thread(
                    subprocess.run,
                    ["wrk", "-t1", f"-c{c}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = parse(done.stdout)
                print(
                    f"| {c} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p90']:.1f} | "
                    f"{r['p99']:.1f} | {r['non2xx']:.0f} | {r['refused']:.0f} |",
                    flush=True,
                )
        finally:
            await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
