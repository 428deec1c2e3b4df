"""The Tidings stack under a benchmark: started through services.embedded.stack.Stack (as `make
run` and the tests do), an app with its limits lifted, its users and groups, and the stack's
processes by name for CPU sampling."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common import apps, usersig
from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.bench.loadgen.procstat import Watched
from tests.conftest import http_client

# Senders send hundreds of frames a second on one connection, and a group's sender a burst
# back to back: the benchmarks measure the pipeline, not the per-connection frame limit.
LOAD_GENERATOR_ENV = {"TIDINGS_WS_MAX_FRAMES_PER_S": "1000000", "TIDINGS_WS_FRAME_BURST": "1000000"}
IMPORT_PAGE = 100
ADD_MEMBER_PAGE = 500
# Display names: "kafka" is the Tansu broker.
PROCESS_LABELS = {"kafka": "tansu (broker)"}


@dataclass
class BenchApp:
    sdkappid: int
    key: str
    rest_url: str

    def sig(self, user: str) -> str:
        return usersig.sign(self.sdkappid, self.key, user)

    async def rest(self, service: str, command: str, body: Any) -> dict[str, Any]:
        params: dict[str, str | int] = {
            "sdkappid": self.sdkappid,
            "identifier": "administrator",
            "usersig": self.sig("administrator"),
            "random": 1,
            "contenttype": "json",
        }
        async with http_client(timeout=120) as http:
            r = await http.post(f"{self.rest_url}/v4/{service}/{command}", params=params, json=body)
        r.raise_for_status()
        reply: dict[str, Any] = r.json()
        if reply.get("ErrorCode") != 0:
            raise RuntimeError(f"{service}/{command}: {reply}")
        return reply

    async def import_accounts(self, users: list[str]) -> None:
        for i in range(0, len(users), IMPORT_PAGE):
            page = users[i : i + IMPORT_PAGE]
            await self.rest("im_open_login_svc", "multiaccount_import", {"Accounts": page})

    async def make_group(self, owner: str, members: list[str]) -> str:
        """A Meeting group of `owner` and `members`; its ID."""
        reply = await self.rest(
            "group_open_http_svc",
            "create_group",
            {"Owner_Account": owner, "Type": "Meeting", "Name": "bench"},
        )
        group_id = str(reply["GroupId"])
        for i in range(0, len(members), ADD_MEMBER_PAGE):
            page = [{"Member_Account": u} for u in members[i : i + ADD_MEMBER_PAGE]]
            await self.rest(
                "group_open_http_svc",
                "add_group_member",
                {"GroupId": group_id, "Silence": 1, "MemberList": page},
            )
        return group_id


async def new_bench_app(stack: Stack, edition: str = "Standard", **settings: Any) -> BenchApp:
    """A fresh app with the per-sender throttle lifted (tests/conftest.py's new_app, without
    importing the SDK and pytest into the benchmark)."""
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        app = await apps.create_app(stores.apps, "bench", edition)
        app.settings["send_rate"] = {"limit": 1_000_000, "per_s": 1}
        app.settings.update(settings)
        await stores.apps.save_app(app)
    finally:
        await stores.close()
    return BenchApp(app.sdkappid, apps.current_key(app), stack.rest_url)


def watched(stack: Stack) -> Watched:
    """Every process the stack started, by its name in Stack.children."""
    return Watched(
        {PROCESS_LABELS.get(n, n): c.proc.pid for n, c in stack.children.items() if c.alive}
    )


@asynccontextmanager
async def running_stack(
    gateways: int = 1, keep: bool = False, workers: int = 1
) -> AsyncIterator[Stack]:
    """A stack in a fresh data dir, stopped (and the dir removed unless `keep`) on the way out,
    whatever happens."""
    data_dir = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    stack = Stack(
        data_dir=data_dir,
        instances={"gateway": gateways},
        gateway_workers=workers,
        extra_env=dict(LOAD_GENERATOR_ENV),
    )
    started = threading.Event()

    def start() -> None:
        try:
            stack.start()
        finally:
            started.set()

    try:
        await asyncio.shield(asyncio.ensure_future(asyncio.to_thread(start)))
        yield stack
    finally:
        # Synchronous on purpose: a second Ctrl-C must not cut the stop short, and a start
        # still running in its thread must finish spawning before its children are stopped.
        started.wait()
        stack.stop()
        if keep:
            print(f"data dir kept: {data_dir}", flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
