"""Shared fixtures. The stack is started once per pytest process (each xdist worker of `make test`
has its own), through the same code as `make run`; each test gets its own app (SDKAppID), so tests
never see each other's data."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common import apps, usersig
from services.common.store.ports import Account
from services.common.store.sqlite import SqliteStores
from services.embedded import launchers
from services.embedded.launchers import free_port
from services.embedded.stack import Stack
from tests.push_server import LocalServer, local_server, vendor_endpoints, vendor_stand_in
from tidings_client import Client


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test`), each worker picks its ports from a range of its own:
    two stacks starting at once pick all their ports before binding any, and could pick the
    same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return
    launchers.narrow_port_range(
        int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    )


def start_stack(data_dir: Path, **kwargs: Any) -> Stack:
    stack = Stack(data_dir=data_dir, **kwargs)
    stack.start()
    return stack


@pytest.fixture(scope="session")
def push_vendor_port() -> int:
    """The port of the session's push vendor stand-in, known before the stack starts."""
    return free_port()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, push_vendor_port: int) -> Iterator[Stack]:
    endpoints = vendor_endpoints(f"http://127.0.0.1:{push_vendor_port}")
    s = start_stack(
        tmp_path_factory.mktemp("stack"),
        extra_env={"TIDINGS_PUSH_ENDPOINTS": json.dumps(endpoints)},
    )
    yield s
    s.stop()


@pytest.fixture(scope="session")
async def push_vendor(push_vendor_port: int) -> AsyncIterator[LocalServer]:
    """Every push vendor of the session's stack, as one local server (tests/push_server.py);
    tests tell their requests apart by their own device tokens."""
    async with local_server(vendor_stand_in, http2=False, port=push_vendor_port) as server:
        yield server


# httpx builds an SSL context for each client, about 40 ms of CPU here: the tests make their
# clients with one shared context instead (they speak plain HTTP to their own stack).
TLS = ssl.create_default_context()


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=TLS, **kwargs)


@dataclass
class AppUnderTest:
    sdkappid: int
    key: str
    stack: Stack

    def sig(self, user: str, expire: int = 86400) -> str:
        return usersig.sign(self.sdkappid, self.key, user, expire)

    @property
    def admin_params(self) -> dict[str, Any]:
        return {
            "sdkappid": self.sdkappid,
            "identifier": "administrator",
            "usersig": self.sig("administrator"),
            "random": 1,
            "contenttype": "json",
        }

    async def rest(self, service: str, command: str, body: Any, **params: Any) -> dict[str, Any]:
        async with http_client(timeout=30) as http:
            r = await http.post(
                f"{self.stack.rest_url}/v4/{service}/{command}",
                params={**self.admin_params, **params},
                json=body,
            )
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    @asynccontextmanager
    async def stores(self) -> AsyncIterator[SqliteStores]:
        """The stack's own SQLite file, for tests that set up state without the API."""
        stores = SqliteStores(self.stack.settings().sqlite_path)
        try:
            yield stores
        finally:
            await stores.close()

    async def put_accounts(self, *users: str, nick_prefix: str = "") -> None:
        """Accounts written straight to the directory: faster than one account_import each."""
        async with self.stores() as stores:
            await stores.directory.upsert_accounts(
                self.sdkappid, [Account(u, nick=f"{nick_prefix}{u}") for u in users]
            )

    async def roam(self, a: str, b: str, max_cnt: int = 100) -> list[dict[str, Any]]:
        """admin_getroammsg of the conversation of `a` and `b`, newest first, up to now."""
        reply = await self.rest(
            "openim",
            "admin_getroammsg",
            {
                "Operator_Account": a,
                "Peer_Account": b,
                "MaxCnt": max_cnt,
                "MinTime": 0,
                "MaxTime": int(time.time()) + 1,
            },
        )
        assert reply["ErrorCode"] == 0, reply
        return reply["MsgList"]  # type: ignore[no-any-return]

    async def connect(self, user: str, encoding: str = "json", platform: str = "Android") -> Client:
        """An SDK client of this app, logged in as `user`."""
        c = Client(
            self.stack.ws_url,
            self.sdkappid,
            user,
            self.sig(user),
            platform=platform,
            encoding=encoding,
        )
        await c.connect()
        return c

    async def import_accounts(self, *users: str) -> None:
        for u in users:
            reply = await self.rest("im_open_login_svc", "account_import", {"UserID": u})
            assert reply["ErrorCode"] == 0, reply


async def new_app(stack: Stack, edition: str = "Standard", **settings: Any) -> AppUnderTest:
    """A fresh app; `settings` go into App.settings (before any request caches the app)."""
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        app = await apps.create_app(stores.apps, "test", edition)
        # Test clients send bursts; the per-sender throttle (2/s by default) has its own test.
        app.settings["send_rate"] = {"limit": 100_000, "per_s": 1}
        app.settings.update(settings)
        await stores.apps.save_app(app)
    finally:
        await stores.close()
    return AppUnderTest(app.sdkappid, apps.current_key(app), stack)


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    return await new_app(stack)


async def admin_api(
    stack: Stack, method: str, path: str, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    """A call to the operator's admin API, `path` under /admin, with the stack's operator token
    unless `token` is given."""
    async with http_client(
        base_url=f"{stack.rest_url}/admin",
        timeout=90,
        headers={"Authorization": f"Bearer {stack.admin_token if token is None else token}"},
    ) as http:
        return await http.request(method, path, **kwargs)


class NotYet(AssertionError):
    """What `eventually` raises when its check never passed in time."""


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll an async check until it returns a truthy value, and return that value. Raises
    NotYet with the last value when `timeout` passes first, so a bare `await eventually(...)`
    fails the test. Only for what is asynchronous by design (a delivery, a callback reaching an
    app server, a process restarting), never to wait for history after an ack."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise NotYet(f"still {result!r} after {timeout} s")
        await asyncio.sleep(interval)
