"""The whole stack as child processes: broker, Valkey and the five services.

`tidings up` (and so `make run`) and the test fixtures both start it through this class.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common import apps, messaging_settings, usersig
from services.common.config import Settings
from services.common.grpc_util import check_health
from services.common.store.console_accounts import ConsoleAccount, hash_password
from services.common.store.factory import open_stores
from services.embedded.launchers import (
    ChildProcess,
    free_port,
    port_is_free,
    spawn,
    start_broker,
    start_valkey,
    wait_tcp,
)

SERVICES = ("audit", "callback", "push", "router", "gateway")
# Stop order on shutdown: the edge first, so nothing new is accepted, then the processors.
STOP_ORDER = ("gateway", "router", "callback", "push", "audit")
DEMO_APP_NAME = "demo"
# The root console account `tidings up` makes when the data dir has none.
CONSOLE_ROOT_USER = "admin"


@dataclass
class ServicePorts:
    """A process's ports. A gateway with several workers: worker i on grpc + i and metrics + i,
    all of them on the same http and ws."""

    grpc: int
    metrics: int
    http: int = 0
    ws: int = 0
    workers: int = 1

    @property
    def grpc_ports(self) -> list[int]:
        return [self.grpc + i for i in range(self.workers)]

    @property
    def metrics_ports(self) -> list[int]:
        return [self.metrics + i for i in range(self.workers)]


@dataclass
class Stack:
    data_dir: Path
    kafka_bootstrap: str = ""
    redis_url: str = ""
    http_port: int = 0
    ws_port: int = 0
    partitions: int = 2
    # Bearer token of the /admin API; made at start when empty.
    admin_token: str = ""
    history_file_secret: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    children: dict[str, ChildProcess] = field(default_factory=dict)
    ports: dict[str, ServicePorts] = field(default_factory=dict)
    demo: dict[str, object] = field(default_factory=dict)
    # The root console account: console_user and console_password, as demo-app.json has them.
    console: dict[str, str] = field(default_factory=dict)
    # How many processes of a service to run (scale-out tests run 2 gateways and 2 routers).
    # Routers split the partitions by instance index; gateways are independent nodes.
    instances: dict[str, int] = field(default_factory=dict)
    # Workers of each gateway (TIDINGS_GATEWAY_WORKERS): processes sharing its WebSocket and
    # HTTP ports, each a node of its own (services/gateway/workers.py). `tidings up` runs one
    # per core.
    gateway_workers: int = 1

    def instance_names(self, service: str | None = None) -> list[str]:
        """Process names: "router" for the first instance, then "router-1", "router-2", ..."""
        services = SERVICES if service is None else (service,)
        return [
            name if i == 0 else f"{name}-{i}"
            for name in services
            for i in range(self.instances.get(name, 1))
        ]

    @property
    def ws_urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{self.ports[n].ws}/v1" for n in self.instance_names("gateway")]

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway'].http}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports['gateway'].ws}/v1"

    def grpc_addr(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service].grpc}"

    def grpc_addrs(self, service: str) -> list[str]:
        """Each worker's gRPC address (one, but for a gateway with several workers)."""
        return [f"127.0.0.1:{port}" for port in self.ports[service].grpc_ports]

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.admin_token = self.admin_token or secrets.token_urlsafe(32)
        self.history_file_secret = self.history_file_secret or self._history_file_secret()
        try:
            self._start_infra()
            self._assign_ports()
            self._ensure_topics()
            self.demo = self._ensure_demo_app()
            self.console = self._ensure_console_admin()
            for name in self.instance_names():
                self.start_service(name)
            for name in self.instance_names():
                self.wait_healthy(name)
            self._write_demo_file()
        except BaseException:
            self.stop()
            raise

    def _history_file_secret(self) -> str:
        """Kept in the data dir, so download URLs given out before a restart still verify."""
        path = self.data_dir / "history-file-secret"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()

    def _start_infra(self) -> None:
        if not self.kafka_bootstrap:
            port = free_port()
            self.children["kafka"] = start_broker(port, self.log_dir)
            self.kafka_bootstrap = f"127.0.0.1:{port}"
        if not self.redis_url:
            port = free_port()
            self.children["valkey"] = start_valkey(port, self.data_dir / "valkey", self.log_dir)
            self.redis_url = f"redis://127.0.0.1:{port}/0"

    def _assign_ports(self) -> None:
        taken: set[int] = {self.http_port, self.ws_port}

        def pick(count: int = 1) -> int:
            """The first of `count` free ports in a row."""
            for _ in range(200):
                first = free_port(exclude=taken)
                block = range(first, first + count)
                if all(p not in taken and port_is_free(p) for p in block[1:]):
                    taken.update(block)
                    return first
            raise RuntimeError(f"no {count} free ports in a row")

        for name in self.instance_names():
            workers = self.gateway_workers if name.startswith("gateway") else 1
            self.ports[name] = ServicePorts(
                grpc=pick(workers), metrics=pick(workers), workers=workers
            )
        for i, name in enumerate(self.instance_names("gateway")):
            gw = self.ports[name]
            gw.http = (self.http_port if i == 0 else 0) or pick()
            gw.ws = (self.ws_port if i == 0 else 0) or pick()

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            kafka_bootstrap=self.kafka_bootstrap,
            redis_url=self.redis_url,
            kafka_partitions=self.partitions,
        )

    def _ensure_topics(self) -> None:
        from services.common.bus import ensure_topics

        asyncio.run(ensure_topics(self.settings()))

    def _ensure_demo_app(self) -> dict[str, object]:
        async def run() -> dict[str, object]:
            stores = open_stores(self.settings())
            try:
                existing = [a for a in await stores.apps.list_apps() if a.name == DEMO_APP_NAME]
                app = existing[0] if existing else await apps.create_app(stores.apps, "demo")
                # The demo app has the features an app's defaults (Tencent's) leave off turned
                # on, keeping any a developer turned off.
                switched = messaging_settings.DEMO_SETTINGS | app.settings
                if switched != app.settings:
                    app.settings.update(switched)
                    await stores.apps.save_app(app)
            finally:
                await stores.close()
            key = apps.current_key(app)
            return {
                "sdkappid": app.sdkappid,
                "key": key,
                "admin_identifier": "administrator",
                "admin_usersig": usersig.sign(app.sdkappid, key, "administrator"),
            }

        return asyncio.run(run())

    def _ensure_console_admin(self) -> dict[str, str]:
        """The root console account: made with a random password when the data dir has none;
        else the one there, with the password demo-app.json already holds for it ("" when it
        names another user: `tidings console passwd` sets a new one)."""

        async def run() -> dict[str, str]:
            stores = open_stores(self.settings())
            try:
                roots = [a for a in await stores.console_accounts.list() if a.root]
                if roots:
                    return {"console_user": roots[0].username, "console_password": ""}
                password = secrets.token_urlsafe(12)
                now = int(time.time() * 1000)
                account = ConsoleAccount(
                    CONSOLE_ROOT_USER, hash_password(password), True, [], now, now
                )
                if not await stores.console_accounts.create(account):
                    raise RuntimeError(f"console account {CONSOLE_ROOT_USER!r} exists, not root")
                return {"console_user": CONSOLE_ROOT_USER, "console_password": password}
            finally:
                await stores.close()

        found = asyncio.run(run())
        if not found["console_password"]:
            found["console_password"] = known_console_password(self.data_dir, found["console_user"])
        return found

    def _write_demo_file(self) -> None:
        doc = {
            **self.demo,
            "ws_url": self.ws_url,
            "rest_url": self.rest_url,
            "admin_url": f"{self.rest_url}/admin",
            "admin_token": self.admin_token,
            "console_url": f"{self.rest_url}/console/",
            # The root console account's login (console_user, console_password).
            **self.console,
            # Each service's Prometheus endpoint (its first process; a gateway's worker i and
            # a service's instance i serve theirs on their own ports: `Stack.ports`).
            "metrics": {
                name: f"http://127.0.0.1:{self.ports[name].metrics}/metrics" for name in SERVICES
            },
        }
        path = demo_file(self.data_dir)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(path)

    def service_env(self, name: str) -> dict[str, str]:
        ports = self.ports[name]
        service, _, suffix = name.partition("-")
        index = int(suffix or 0)
        return {
            **os.environ,
            "TIDINGS_DATA_DIR": str(self.data_dir),
            "TIDINGS_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "TIDINGS_REDIS_URL": self.redis_url,
            "TIDINGS_KAFKA_PARTITIONS": str(self.partitions),
            "TIDINGS_KAFKA_ASSIGNMENT": "static",
            "TIDINGS_NODE_ID": f"{service}-{index}",
            "TIDINGS_INSTANCE_INDEX": str(index),
            "TIDINGS_INSTANCE_COUNT": str(self.instances.get(service, 1)),
            "TIDINGS_GRPC_PORT": str(ports.grpc),
            "TIDINGS_METRICS_PORT": str(ports.metrics),
            "TIDINGS_HTTP_PORT": str(ports.http),
            "TIDINGS_WS_PORT": str(ports.ws),
            "TIDINGS_CALLBACK_ADDR": self.grpc_addr("callback"),
            "TIDINGS_HISTORY_ADDR": self.grpc_addr("audit"),
            "TIDINGS_PUSH_ADDR": self.grpc_addr("push"),
            "TIDINGS_ADMIN_TOKEN": self.admin_token,
            "TIDINGS_HISTORY_FILE_SECRET": self.history_file_secret,
            "TIDINGS_GATEWAY_WORKERS": str(ports.workers),
            # The embedded stack serves local app servers (127.0.0.1) for callbacks.
            "TIDINGS_CALLBACK_ALLOW_PRIVATE": "true",
            **self.extra_env,
        }

    def start_service(self, name: str) -> None:
        self.children[name] = spawn(
            name,
            [sys.executable, "-m", f"services.{name.partition('-')[0]}.main"],
            self.log_dir,
            env=self.service_env(name),
        )

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self.children[name]
            if not child.alive:
                raise RuntimeError(
                    f"{name} exited with {child.proc.returncode}; see {self.log_dir}/{name}.log"
                )
            if all(check_health(addr) for addr in self.grpc_addrs(name)):
                if name.startswith("gateway"):
                    wait_tcp("127.0.0.1", self.ports[name].http, 10)
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} not healthy after {timeout}s; see {self.log_dir}/{name}.log")

    def kill(self, name: str) -> None:
        self.children[name].kill()

    def stop_redis(self) -> None:
        """An outage of the embedded Valkey (its append-only file keeps the data)."""
        self.children.pop("valkey").stop()

    def start_redis(self) -> None:
        """Valkey again, on the same port and data."""
        port = int(self.redis_url.rsplit(":", 1)[1].split("/")[0])
        self.children["valkey"] = start_valkey(port, self.data_dir / "valkey", self.log_dir)

    def restart(self, name: str) -> None:
        self.children[name].stop()
        self.start_service(name)
        self.wait_healthy(name)

    def stop(self) -> None:
        ordered = [n for service in STOP_ORDER for n in self.instance_names(service)]
        for name in (*ordered, "kafka", "valkey"):
            child = self.children.pop(name, None)
            if child is not None:
                child.stop(timeout=30)


def preferred_port(port: int) -> int:
    return port if port_is_free(port) else free_port()


def demo_file(data_dir: Path) -> Path:
    return data_dir / "demo-app.json"


def known_console_password(data_dir: Path, user: str) -> str:
    """The console password demo-app.json holds for `user`, "" when it holds none."""
    try:
        doc = json.loads(demo_file(data_dir).read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(doc, dict) or doc.get("console_user") != user:
        return ""
    password = doc.get("console_password")
    return password if isinstance(password, str) else ""
