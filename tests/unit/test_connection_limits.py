"""Per-connection limits of the WebSocket endpoint, without sockets: the frame budget (a token
bucket), and the outbox of a client that does not read, bounded in messages and bytes."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from websockets.asyncio.server import ServerConnection

from services.gateway import sessions
from services.gateway.frame_budget import FrameBudget
from services.gateway.sessions import MAX_OUTBOX, Connection


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_rate_holds() -> None:
    clock = Clock()
    budget = FrameBudget(per_s=200, burst=400, clock=clock)
    assert all(budget.take() for _ in range(400))
    assert not budget.take()
    clock.now += 0.125  # 25 frames' worth
    assert sum(budget.take() for _ in range(100)) == 25
    # Idle time refills up to the burst, not beyond.
    clock.now += 3600
    assert sum(budget.take() for _ in range(1000)) == 400


def test_a_client_within_the_rate_is_never_refused() -> None:
    clock = Clock()
    budget = FrameBudget(per_s=200, burst=400, clock=clock)
    for _ in range(10_000):
        clock.now += 1 / 150
        assert budget.take()


class StalledSocket:
    """A client that never reads: every send blocks, and so does a graceful close."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed: tuple[int, str] | None = None
        self.aborted = False
        self.transport = self

    async def send(self, frame: Any) -> None:
        self.sent.append(frame)
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        await asyncio.Event().wait()

    def abort(self) -> None:
        self.aborted = True


def connection(ws: StalledSocket, max_bytes: int) -> Connection:
    return Connection(cast(ServerConnection, ws), 1400000001, "slow", "Web", max_bytes=max_bytes)


async def test_a_client_past_the_byte_budget_is_cut_off_and_its_queue_freed(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(sessions, "CLOSE_FLUSH_S", 0.05)
    ws = StalledSocket()
    conn = connection(ws, max_bytes=100_000)
    writer = asyncio.get_running_loop().create_task(conn.write_loop())
    message = {"elements": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 10_000}}]}
    conn.deliver(message, 10_300)
    await asyncio.sleep(0)  # the writer takes it, and blocks writing to the stalled client
    assert len(ws.sent) == 1
    for _ in range(9):
        conn.deliver(message, 10_300)
    assert ws.closed is None
    conn.deliver(message, 10_300)  # 10 queued x 10,300 bytes > 100,000
    assert not conn._msgs and conn._push_bytes == 0
    conn.deliver(message, 10_300)
    conn.notify({"op": "read_mark", "seq": 1})
    assert not conn._msgs and not conn._replies
    # A close frame the client never takes: the TCP connection is dropped instead.
    await asyncio.sleep(0.1)
    assert ws.closed == (4008, "outbox overflow")
    assert ws.aborted
    writer.cancel()


async def test_many_small_messages_hit_the_message_count(monkeypatch: Any) -> None:
    monkeypatch.setattr(sessions, "CLOSE_FLUSH_S", 0.05)
    ws = StalledSocket()
    conn = connection(ws, max_bytes=1 << 40)
    for _ in range(MAX_OUTBOX):
        conn.deliver({"seq": 1}, 1)
    assert len(conn._msgs) == MAX_OUTBOX
    conn.deliver({"seq": 1}, 1)
    assert not conn._msgs
    await asyncio.sleep(0.1)
    assert ws.closed == (4008, "outbox overflow")


async def test_replies_past_the_budget_hold_back_the_next_frame() -> None:
    ws = StalledSocket()
    conn = connection(ws, max_bytes=1000)
    writer = asyncio.get_running_loop().create_task(conn.write_loop())
    conn.reply({"op": "sync", "messages": ["x" * 600]})
    await asyncio.sleep(0)  # taken by the writer, which now waits on the client
    conn.reply({"op": "sync", "messages": ["x" * 600]})
    await asyncio.wait_for(conn.wait_for_room(), 1)  # 600-odd bytes queued: room left
    conn.reply({"op": "sync", "messages": ["x" * 600]})
    waiting = asyncio.get_running_loop().create_task(conn.wait_for_room())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    # Replies are the client's own doing: never a cut-off, however many.
    assert ws.closed is None and len(conn._replies) == 2
    writer.cancel()  # the connection ends: nothing holds the reader any more
    await asyncio.wait_for(waiting, 1)
