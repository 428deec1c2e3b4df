"""The gateway's CPU per client send, in process: WsEndpoint._send from a parsed frame to the
produce, then the router's outcome (Publisher.complete) to the ack queued on the connection.

    python -m tests.bench.gateway_send [--sends 20000] [--conns 50] [--kind c2c group] [--repeat 3]

Real stores (SQLite in a temporary directory) and a real Valkey (the per-sender throttle was a
Redis token bucket); the producer is a fake that encodes records into real aiokafka batch
builders and acks at once, so no broker is involved. `--conns` senders send concurrently, each
waiting for its own send to be handed to the publisher, as a WebSocket reader does.

CPU is this process's (time.process_time: the event loop and the SQLite threads; Valkey runs in
another process and is not counted, its round trips are). Nothing passes or fails. The machine
is shared: compare figures of one run, and repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder

from services.common import apps
from services.common.app_cache import AppCache
from services.common.config import Settings
from services.common.grpc_util import Channels
from services.common.pb.tidings.v1 import history_pb2_grpc
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.redis_state import SessionRegistry, connect
from services.common.store.groups import Group, Member
from services.common.store.ports import Account
from services.common.store.sqlite import SqliteStores
from services.embedded.launchers import free_port, start_valkey
from services.gateway.auth import Authenticator
from services.gateway.publisher import Publisher
from services.gateway.ratelimit import RateLimiter
from services.gateway.sessions import LocalSessions
from services.gateway.ws import WsEndpoint

PARTITIONS = 4
USERS = 200
GROUP = "bench-group"


class FakeProducer:
    """Encodes every record (as the real accumulator does) and acks at once."""

    def __init__(self) -> None:
        self.records = 0
        self.requests = 0
        self._builders: dict[int, BatchBuilder] = {}

    def _builder(self) -> BatchBuilder:
        return BatchBuilder(256 * 1024, 0)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def create_batch(self) -> BatchBuilder:
        return self._builder()

    def _ack(self) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **_: Any
    ) -> asyncio.Future[object]:
        p = hash(key) % PARTITIONS
        b = self._builders.get(p)
        if b is None or b.append(key=key, value=value, timestamp=None) is None:
            self._builders[p] = b = self._builder()
            b.append(key=key, value=value, timestamp=None)
            self.requests += 1
        self.records += 1
        return self._ack()

    async def send_batch(
        self, batch: BatchBuilder, topic: str, *, partition: int
    ) -> asyncio.Future[object]:
        self.records += batch.record_count()
        self.requests += 1
        return self._ack()


class FakeConn:
    def __init__(self, sdkappid: int, user: str) -> None:
        self.sdkappid = sdkappid
        self.user = user
        self.platform = "Android"
        self.conn_id = f"c-{user}"
        self.acks = 0
        self.errors: dict[int, int] = {}

    def reply(self, frame: dict[str, Any]) -> None:
        code = frame.get("code", 0)
        if code:
            self.errors[code] = self.errors.get(code, 0) + 1
        else:
            self.acks += 1


async def setup(stores: SqliteStores, friend_check: bool) -> int:
    app = await apps.create_app(stores.apps, "bench", "Standard")
    app.settings["send_rate"] = {"limit": 1_000_000, "per_s": 1}
    app.settings["c2c_friend_check"] = friend_check
    await stores.apps.save_app(app)
    users = [f"u{i}" for i in range(USERS)]
    await stores.directory.upsert_accounts(app.sdkappid, [Account(u) for u in users])
    if friend_check:
        from services.common.store.sns import Friend

        await stores.sns.put_friends(
            app.sdkappid,
            [Friend(u, users[(i + 1) % USERS]) for i, u in enumerate(users)],
        )
    await stores.groups.create_group(
        app.sdkappid,
        Group(group_id=GROUP, group_type="Public", name="bench", owner="u0"),
        [Member(u, role="Owner" if u == "u0" else "Member") for u in users],
    )
    return app.sdkappid


def authenticator(stores: SqliteStores) -> Authenticator:
    """The gateway's, with its directory cache (the same bench runs on a tree from before it,
    whose Authenticator took the directory store)."""
    try:
        from services.gateway.directory import Directory
    except ImportError:
        return Authenticator(AppCache(stores.apps), stores.directory)  # type: ignore[arg-type]
    return Authenticator(AppCache(stores.apps), Directory(stores))


def _outcomes(publisher: Publisher) -> list[Outcome]:
    pending = list(publisher._pending)  # the bench plays the router
    return [
        Outcome(request_id=rid, seq=i + 1, server_time_ms=1, msg_key="k", conversation="c")
        for i, rid in enumerate(pending)
    ]


async def run_once(
    endpoint: WsEndpoint,
    publisher: Publisher,
    sdkappid: int,
    kind: str,
    sends: int,
    conns: int,
) -> tuple[float, float, dict[int, int]]:
    per_conn = sends // conns
    clients = [FakeConn(sdkappid, f"u{i}") for i in range(conns)]
    ids = iter(range(10**9))

    async def sender(c: FakeConn, index: int) -> None:
        peer = f"u{(index + 1) % USERS}"
        for n in range(per_conn):
            frame: dict[str, Any] = {"op": "send", "id": n, "text": "bench message", "random": n}
            if kind == "group":
                frame["group"] = GROUP
            else:
                frame["to"] = peer
            try:
                await endpoint._send(c, frame, next(ids))  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - counted like the error frame it becomes
                code = int(getattr(exc, "code", -1))
                c.errors[code] = c.errors.get(code, 0) + 1

    async def router(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(0.001)
            publisher.complete(_outcomes(publisher))
        await asyncio.sleep(0.01)
        publisher.complete(_outcomes(publisher))

    stop = asyncio.Event()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    router_task = asyncio.create_task(router(stop))
    await asyncio.gather(*(sender(c, i) for i, c in enumerate(clients)))
    stop.set()
    await router_task
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = per_conn * conns
    errors: dict[int, int] = {}
    for c in clients:
        for code, count in c.errors.items():
            errors[code] = errors.get(code, 0) + count
    acks = sum(c.acks for c in clients)
    if acks + sum(errors.values()) != done:
        errors[0] = done - acks - sum(errors.values())
    return cpu / done * 1e6, done / wall, errors


async def main(sends: int, conns: int, kinds: list[str], repeat: int, friend_check: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        valkey = start_valkey(port, Path(tmp) / "valkey", Path(tmp) / "logs")
        redis = connect(f"redis://127.0.0.1:{port}/0")
        stores = SqliteStores(Path(tmp) / "tidings.db")
        try:
            sdkappid = await setup(stores, friend_check)
            settings = Settings(data_dir=Path(tmp), node_id="bench")
            producer = FakeProducer()
            publisher = Publisher(producer, "bench", "127.0.0.1:1", 30.0)
            channels = Channels()
            auth = authenticator(stores)
            endpoint = WsEndpoint(
                settings,
                auth,
                LocalSessions(),
                SessionRegistry(redis),
                publisher,
                history_pb2_grpc.HistoryServiceStub(channels.get("127.0.0.1:1")),
                "127.0.0.1:1",
                stores,
                channels,
                RateLimiter(redis),
                redis,
            )
            print(f"machine: {platform.node()}, python {platform.python_version()}")
            print("| kind | sends | conns | CPU µs/send (runs) | median | sends/s | errors |")
            print("|---|---|---|---|---|---|---|")
            for kind in kinds:
                # Warm-up: the first sends fill every cache.
                await run_once(endpoint, publisher, sdkappid, kind, conns * 20, conns)
                results = [
                    await run_once(endpoint, publisher, sdkappid, kind, sends, conns)
                    for _ in range(repeat)
                ]
                cpus = [r[0] for r in results]
                rate = statistics.median(r[1] for r in results)
                print(
                    f"| {kind} | {sends} | {conns} | {', '.join(f'{c:.1f}' for c in cpus)} | "
                    f"{statistics.median(cpus):.1f} | {rate:,.0f} | {results[-1][2] or '-'} |",
                    flush=True,
                )
            print(f"produce requests: {producer.requests}, records: {producer.records}")
            await channels.close()
        finally:
            await stores.close()
            await redis.aclose()
            valkey.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=20000)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--kind", nargs="+", default=["c2c", "group"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--friend-check", action="store_true")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(args.sends, args.conns, args.kind, args.repeat, args.friend_check))
