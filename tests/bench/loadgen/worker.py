"""One load-generator process: it holds its share of the clients and runs what the parent
process asks over a pipe. Commands and results are small dataclasses (pickled).

Every worker measures its own CPU (/proc/self/stat) over the measured window, so the
generator's cost can be reported and taken away from the machine's.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import signal
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import uvloop

from tests.bench.loadgen.procstat import cpu_seconds
from tests.bench.loadgen.tally import Tally, histogram_of
from tests.bench.loadgen.tidings import TidingsSession
from tests.bench.loadgen.xmpp import XmppSession

TICK_S = 0.002  # the pacing loop's period: sends due since the last tick go out together
FIRST_REQUEST_ID = 2  # 1 is the login's
NO_END_NS = 2**63


class Session(Protocol):
    user: str
    audience: bool
    closed: bool
    slow_frames: int

    def address(self, user: str) -> bytes: ...
    def send_c2c(self, to: bytes, request_id: int) -> None: ...
    def send_group(self, group: bytes, request_id: int) -> int: ...
    def close(self) -> None: ...


# -- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where clients log in. Tidings: `addresses` are WebSocket URLs; XMPP: "host:port"."""

    protocol: str  # "tidings" or "xmpp"
    addresses: tuple[str, ...]
    sdkappid: int = 0
    key: str = ""
    domain: str = ""
    ws: str = "picows"


@dataclass(frozen=True)
class Login:
    target: Target
    users: tuple[str, ...]
    first_index: int = 0  # the users' place in the whole list, to spread them over addresses
    sender: str = ""  # a group's sender: its own messages are not deliveries
    register: bool = False  # XMPP in-band registration before the login
    concurrency: int = 100


@dataclass(frozen=True)
class JoinRoom:
    """XMPP only: enter a MUC room. `creator` joins alone first and configures it."""

    room: str
    creator: str = ""
    concurrency: int = 100


@dataclass(frozen=True)
class RunC2C:
    pairs: tuple[tuple[str, str], ...]  # (sender, receiver), both held by this worker
    rate: float  # this worker's share, msg/s
    start_at: float  # time.monotonic() of the first send, the same in every worker
    warmup_s: float
    seconds: float
    drain_s: float  # how long to wait after the last send for what is still in flight


@dataclass(frozen=True)
class StartGroupRun:
    """Count deliveries per message from now on (earlier messages are ignored)."""


@dataclass(frozen=True)
class GroupSend:
    group: str
    count: int  # sent back to back


@dataclass(frozen=True)
class GroupWait:
    sent_ns: tuple[int, ...]
    timeout_s: float


@dataclass(frozen=True)
class CpuNow:
    pass


@dataclass(frozen=True)
class Close:
    pass


# -- results -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    sent: int
    answered: int
    refused: int
    received: int
    in_window: int
    latencies: bytes  # an encoded HdrHistogram, µs
    cpu_window_s: float
    errors: list[str] = field(default_factory=list)
    slow_frames: int = 0


@dataclass
class GroupSeen:
    complete: bool
    audience: int
    deliveries: int
    last_ns: int
    latencies: bytes
    errors: list[str] = field(default_factory=list)


@dataclass
class Failed:
    where: str


# -- the worker --------------------------------------------------------------------------------


class Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.tally = Tally()
        self.sessions: dict[str, Session] = {}

    async def login(self, cmd: Login) -> int:
        gate = asyncio.Semaphore(cmd.concurrency)
        target = cmd.target

        async def one(i: int, user: str) -> Session:
            address = target.addresses[(cmd.first_index + i) % len(target.addresses)]
            async with gate:
                if target.protocol == "tidings":
                    session = TidingsSession(user, self.tally, audience=user != cmd.sender)
                    await session.login(address, target.sdkappid, target.key, target.ws)
                    return session
                host, port = address.rsplit(":", 1)
                xmpp = XmppSession(user, target.domain, self.tally, audience=user != cmd.sender)
                await xmpp.login(host, int(port), cmd.register)
                return xmpp

        for s in await asyncio.gather(*(one(i, u) for i, u in enumerate(cmd.users))):
            self.sessions[s.user] = s
        settle_gc()
        return len(cmd.users)

    async def join_room(self, cmd: JoinRoom) -> int:
        gate = asyncio.Semaphore(cmd.concurrency)

        async def one(s: XmppSession, create: bool) -> None:
            async with gate:
                await s.join_room(cmd.room, create)

        xmpp = [s for s in self.sessions.values() if isinstance(s, XmppSession)]
        if cmd.creator:
            await one(next(s for s in xmpp if s.user == cmd.creator), True)
            return 1
        await asyncio.gather(*(one(s, False) for s in xmpp if not s.room_jid))
        settle_gc()
        return len(xmpp)

    async def run_c2c(self, cmd: RunC2C) -> RunResult:
        window_start = cmd.start_at + cmd.warmup_s
        window_end = window_start + cmd.seconds
        self.tally.arrivals = None
        self.tally.reset(ns(cmd.start_at), ns(window_start), ns(window_end))
        cpu: dict[str, float] = {}
        window_over = asyncio.Event()
        loop = asyncio.get_running_loop()

        def take(mark: str) -> None:
            cpu[mark] = cpu_seconds()
            if mark == "end":
                window_over.set()

        for mark, at in (("start", window_start), ("end", window_end)):
            loop.call_later(max(0.0, at - time.monotonic()), take, mark)
        routes = [(self.sessions[s], self.sessions[s].address(r)) for s, r in cmd.pairs]
        for session in self.sessions.values():
            session.slow_frames = 0
        await asyncio.sleep(max(0.0, cmd.start_at - time.monotonic()))
        sent = await pace(routes, cmd.rate, cmd.start_at, window_end)
        await self._drain(sent, cmd.drain_s, acks=isinstance(routes[0][0], TidingsSession))
        await window_over.wait()
        t = self.tally
        return RunResult(
            sent=sent,
            answered=t.answered,
            refused=t.refused,
            received=t.received,
            in_window=t.in_window,
            latencies=histogram_of(t.latencies_us).encode(),
            cpu_window_s=cpu["end"] - cpu["start"],
            errors=t.errors,
            slow_frames=sum(s.slow_frames for s in self.sessions.values()),
        )

    async def _drain(self, sent: int, seconds: float, acks: bool) -> None:
        """Wait until every send is answered and every accepted one delivered, or `seconds`."""
        t = self.tally
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answered = t.answered >= sent if acks else True
            expected = (sent - t.refused) if acks else sent - t.error_frames
            if answered and t.received >= expected:
                return
            await asyncio.sleep(0.02)

    def start_group_run(self) -> None:
        self.tally.arrivals = {}
        self.tally.reset(time.monotonic_ns(), 0, NO_END_NS)

    def group_send(self, cmd: GroupSend) -> list[int]:
        sender = next(s for s in self.sessions.values() if not s.audience)
        group = cmd.group.encode()
        return [sender.send_group(group, FIRST_REQUEST_ID + i) for i in range(cmd.count)]

    async def group_wait(self, cmd: GroupWait) -> GroupSeen:
        audience = sum(s.audience for s in self.sessions.values())
        arrivals = self.tally.arrivals
        assert arrivals is not None

        def complete() -> bool:
            return all(arrivals.get(ts, (0,))[0] >= audience for ts in cmd.sent_ns)

        deadline = time.monotonic() + cmd.timeout_s
        # A poll: deliveries are counted on the hot path, which should not also wake waiters.
        while not complete() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        seen = [arrivals.get(ts, [0, 0]) for ts in cmd.sent_ns]
        return GroupSeen(
            complete=complete(),
            audience=audience,
            deliveries=sum(s[0] for s in seen),
            last_ns=max(s[1] for s in seen),
            latencies=histogram_of(self.tally.latencies_us).encode(),
            errors=self.tally.errors,
        )

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()

    async def handle(self, cmd: object) -> Any:
        handlers: dict[type, Callable[[Any], Coroutine[Any, Any, Any]]] = {
            Login: self.login,
            JoinRoom: self.join_room,
            RunC2C: self.run_c2c,
            GroupWait: self.group_wait,
        }
        if type(cmd) in handlers:
            return await handlers[type(cmd)](cmd)
        if isinstance(cmd, StartGroupRun):
            return self.start_group_run()
        if isinstance(cmd, GroupSend):
            return self.group_send(cmd)
        if isinstance(cmd, CpuNow):
            return cpu_seconds()
        raise TypeError(f"unknown command {cmd!r}")


async def pace(routes: list[tuple[Session, bytes]], rate: float, t0: float, stop: float) -> int:
    """Open-loop sends at `rate` msg/s from t0 to `stop`, round robin over the routes: whatever
    the answers, the offered load is kept (a late tick sends what fell due meanwhile)."""
    sent, i, n = 0, 0, len(routes)
    request_id = FIRST_REQUEST_ID
    monotonic = time.monotonic
    while (now := monotonic()) < stop:
        due = int((now - t0) * rate)
        while sent < due:
            session, to = routes[i]
            session.send_c2c(to, request_id)
            request_id += 1
            sent += 1
            i = i + 1 if i + 1 < n else 0
        # Sleep until the next send falls due, at least a tick: at low rates a fixed 1 ms tick
        # would cost more CPU than the sends.
        await asyncio.sleep(max(TICK_S, t0 + (sent + 1) / rate - monotonic()))
    return sent


def ns(monotonic_s: float) -> int:
    return int(monotonic_s * 1e9)


def settle_gc() -> None:
    """The sessions live for the whole run: move them out of the GC's young generations, and
    collect rarely (the hot path makes few cycles)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(conn: Connection, index: int) -> None:
    worker = Worker(index)
    while True:
        cmd = await asyncio.to_thread(conn.recv)
        if isinstance(cmd, Close):
            worker.close()
            await asyncio.sleep(0.1)  # let the close frames go out
            conn.send(None)
            return
        try:
            result = await worker.handle(cmd)
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it
            result = Failed(f"worker {index}: {traceback.format_exc()}")
        conn.send(result)


def main(conn: Connection, index: int) -> None:
    """The process entry point (multiprocessing, spawn). Ctrl-C reaches the whole process
    group: workers ignore it, and the parent, which owns their lifetime, ends them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_open_files()
    uvloop.run(serve(conn, index))


def split(items: Iterable[Any], parts: int) -> list[list[Any]]:
    """Round robin: item k goes to part k % parts."""
    out: list[list[Any]] = [[] for _ in range(parts)]
    for k, item in enumerate(items):
        out[k % parts].append(item)
    return out
