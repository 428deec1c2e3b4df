"""Per-connection limits of the WebSocket endpoint, without sockets: the frame budget (a token
bucket), and the write buffer of a client that does not read, bounded in bytes (a fake picows
transport whose client never reads: every byte written stays buffered). Async where closing
arms its timer on the running loop."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from picows import WSMsgType, WSTransport
from picows.picows import _make_test_ws_frame

from services.gateway import sessions
from services.gateway.frame_budget import FrameBudget
from services.gateway.sessions import JSON, PROTO, Prepared
from tests.ws_fakes import NoRequests, connected


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


MESSAGE = {"elements": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 10_000}}]}


async def test_pushes_past_the_write_buffer_budget_cut_the_client_off(monkeypatch: Any) -> None:
    monkeypatch.setattr(sessions, "CLOSE_FLUSH_S", 0.05)
    conn, transport = connected(max_bytes=100_000)
    # The transport pauses writing (and the connection its reading) at the budget.
    assert transport.underlying_transport.limits == (100_000, 25_000)
    for _ in range(9):
        conn.deliver([MESSAGE])
    assert len(transport.sent) == 9 and transport.close_sent is None
    conn.deliver([MESSAGE])  # ~10 KB x 10 > 100,000 buffered
    assert len(transport.sent) == 9
    assert transport.close_sent == (4008, b"outbox overflow")
    # Nothing more is written to it, push or reply.
    conn.deliver([MESSAGE])
    conn.notify({"op": "read_mark", "seq": 1})
    conn.reply({"op": "pong"})
    assert len(transport.sent) == 9
    # A client that does not take the close frame is dropped, with what was buffered for it.
    await asyncio.sleep(0.1)
    assert transport.disconnected is False


async def test_a_client_that_reads_is_never_cut_off() -> None:
    conn, transport = connected(max_bytes=100_000)
    for _ in range(100):
        conn.deliver([MESSAGE])
        transport.drain()
    assert len(transport.sent) == 100 and transport.close_sent is None


async def test_a_shared_frame_counts_its_bytes() -> None:
    conn, transport = connected(max_bytes=64 * 1024)
    frame = Prepared.of(JSON, {"op": "msg", "msgs": [MESSAGE] * 3})
    assert frame.opcode == WSMsgType.TEXT and frame.size > 30_000
    conn.deliver_frame(frame)
    conn.deliver_frame(frame)
    assert transport.payloads == [frame.payload, frame.payload]
    conn.deliver_frame(frame)
    assert transport.close_sent is not None and len(transport.sent) == 2


async def test_replies_are_never_refused_and_do_not_count_against_pushes() -> None:
    conn, transport = connected(max_bytes=64 * 1024)
    page = {"op": "sync", "messages": [MESSAGE] * 20}  # ~200 KB: one reply past the budget
    conn.reply(page)
    assert transport.underlying_transport.buffered > 64 * 1024
    # What the reply left buffered is the client's own: pushes still get their budget.
    for _ in range(6):
        conn.deliver([MESSAGE])
    assert transport.close_sent is None and len(transport.sent) == 7
    conn.deliver([MESSAGE])
    assert transport.close_sent == (4008, b"outbox overflow")


async def test_replies_past_the_budget_stop_reading_the_client() -> None:
    conn, transport = connected(max_bytes=64 * 1024)
    tcp = transport.underlying_transport
    conn.pause_writing()  # the transport, past its high-water mark
    assert not tcp.reading
    # A request queue full too: reading resumes only once both have room again.
    conn.pause_reading()
    conn.resume_writing()
    assert not tcp.reading
    conn.resume_reading()
    assert tcp.reading
    # Once drained, replies that were buffered are gone: pushes get the plain budget again.
    conn.reply({"op": "sync", "messages": [MESSAGE] * 20})
    transport.drain()
    conn.resume_writing()
    assert conn._reply_bytes == 0


async def test_a_kick_sends_its_frame_then_closes() -> None:
    conn, transport = connected()
    conn.deliver([{"seq": 1}])
    conn.close_after({"op": "kicked", "code": 6208}, 4208, "kicked")
    assert [orjson.loads(p)["op"] for p in transport.payloads] == ["msg", "kicked"]
    assert transport.close_sent == (4208, b"kicked")


def test_frames_are_written_in_the_connection_s_encoding() -> None:
    conn, transport = connected(encoding=PROTO)
    conn.reply({"op": "pong", "id": 3})
    ((opcode, payload),) = transport.sent
    assert opcode == WSMsgType.BINARY
    from services.gateway.frames_proto import decode_frame

    assert decode_frame(payload, 1 << 20) == {"op": "pong", "id": 3}


async def test_fragments_are_joined_and_a_stray_continuation_closes() -> None:
    requests = NoRequests()
    conn, transport = connected(requests=requests)
    tr = cast(WSTransport, transport)
    conn.on_ws_frame(tr, _make_test_ws_frame(WSMsgType.TEXT, b'{"op":', False, False))
    conn.on_ws_frame(tr, _make_test_ws_frame(WSMsgType.CONTINUATION, b'"ping"', False, False))
    conn.on_ws_frame(tr, _make_test_ws_frame(WSMsgType.CONTINUATION, b"}", True, False))
    assert requests.payloads == [b'{"op":"ping"}']
    conn.on_ws_frame(tr, _make_test_ws_frame(WSMsgType.CONTINUATION, b"x", True, False))
    assert transport.close_sent is not None and transport.close_sent[0] == 1002


async def test_a_compressed_frame_without_an_extension_closes() -> None:
    requests = NoRequests()
    conn, transport = connected(requests=requests)
    frame = _make_test_ws_frame(WSMsgType.TEXT, b"{}", True, True)
    conn.on_ws_frame(cast(WSTransport, transport), frame)
    assert not requests.payloads and transport.close_sent is not None


async def test_the_client_s_close_is_answered_and_the_socket_closed() -> None:
    requests = NoRequests()
    conn, transport = connected(requests=requests)
    close = _make_test_ws_frame(WSMsgType.CLOSE, (1000).to_bytes(2, "big"), True, False)
    conn.on_ws_frame(cast(WSTransport, transport), close)
    assert transport.close_sent == (1000, b"") and transport.disconnected is True
    conn.on_ws_disconnected(cast(WSTransport, transport))
    assert requests.gone_conns == [conn] and conn.gone


def test_the_upgrade_s_headers_are_not_kept() -> None:
    _, transport = connected()
    assert not transport.request.headers and not transport.response.headers
