"""kill -9 of the router in the middle of a run: every acknowledged message is delivered and
archived, exactly once as the client sees it. Runs on a stack of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import conversation
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app, start_stack
from tests.e2e.test_walking_skeleton import archived
from tidings_client import Ack, Client, Message, TidingsClientError

pytestmark = [pytest.mark.stack, pytest.mark.chaos]

N = 1000


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("chaos")))
    yield s
    s.stop()


async def send_until_acked(client: Client, to: str, text: str, msg_id: str) -> Ack:
    """What a real app does: retry with the same id until the send is acknowledged."""
    while True:
        try:
            return await client.send(to=to, text=text, client_msg_id=msg_id, timeout=15)
        except (TidingsClientError, TimeoutError):
            await asyncio.sleep(0.2)


async def test_kill_9_router_mid_run(chaos_stack: Stack) -> None:
    app: AppUnderTest = await new_app(chaos_stack)
    await app.import_accounts("kim", "lee")
    kim = Client(chaos_stack.ws_url, app.sdkappid, "kim", app.sig("kim"))
    lee = Client(chaos_stack.ws_url, app.sdkappid, "lee", app.sig("lee"))
    await kim.connect()
    await lee.connect()
    received: list[Message] = []

    async def receive() -> None:
        async for m in lee.messages():
            received.append(m)

    receiver = asyncio.create_task(receive())
    try:
        # Paced, so that the kill lands mid-run: the pipeline acks a burst of a thousand
        # faster than the test could kill anything.
        sends: list[asyncio.Task[Ack]] = []
        for i in range(N):
            sends.append(
                asyncio.create_task(send_until_acked(kim, "lee", f"k{i}", f"kill-test-{i}"))
            )
            if i == N // 4:
                await eventually(lambda: _at_least(received, N // 8), timeout=60, interval=0.01)
                await asyncio.to_thread(chaos_stack.kill, "router")
                in_flight_at_kill = sum(not t.done() for t in sends)
            await asyncio.sleep(0.004)
        await asyncio.to_thread(chaos_stack.restart, "router")
        acks = await asyncio.gather(*sends)
        await eventually(lambda: _at_least(received, N), timeout=60)
    finally:
        receiver.cancel()
        await kim.close()
        await lee.close()

    assert in_flight_at_kill > 0, "the kill must land while sends are in flight"
    seqs = [a.seq for a in acks]
    assert sorted(seqs) == list(range(1, N + 1)), "every send acked once, seqs contiguous"
    assert [m.seq for m in received] == list(range(1, N + 1)), "delivered once each, in order"
    by_seq = {a.seq: f"k{i}" for i, a in enumerate(acks)}
    assert [m.text for m in received] == [by_seq[s] for s in range(1, N + 1)]
    conv = conversation.c2c("kim", "lee")

    async def all_archived() -> bool:
        return await archived(app, conv) == list(range(1, N + 1))

    assert await eventually(all_archived, timeout=30)
    print(f"in flight at kill: {in_flight_at_kill} of {N}")


async def _at_least(items: list[Message], n: int) -> bool:
    return len(items) >= n
