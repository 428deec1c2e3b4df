"""A client that was offline receives everything in order after it connects again: 50 C2C and
50 group messages sent while it was away, plus a conversation that began while it was away,
each message once, with contiguous seqs equal to the senders' acks. connect() catches up from
what the client showed (and, for the new conversation, from the user's read mark) with no
waiting: an ack means readable."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group
from tidings_client import Ack, Client, Message

pytestmark = pytest.mark.stack

OFFLINE_SENDS = 50
WAIT_S = 120.0


async def receive(c: Client, count: int) -> list[Message]:
    it = c.messages()
    return [await asyncio.wait_for(it.__anext__(), WAIT_S) for _ in range(count)]


async def test_offline_client_gets_everything_once_in_order_after_reconnect(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("oa", "ob", "oc")
    group_id = await make_group(app, "oa", ["ob"], kind="Work")
    a, b = await app.connect("oa"), await app.connect("ob")
    try:
        # B knows both conversations before it goes away.
        first = [await a.send(to="ob", text="hi"), await a.send(group=group_id, text="hi all")]
        seen = await receive(b, 2)
        assert [m.seq for m in seen] == [x.seq for x in first]
        await b.close()

        acks: dict[str, list[Ack]] = defaultdict(list)
        for i in range(OFFLINE_SENDS):
            c2c = await a.send(to="ob", text=f"c2c {i}")
            grp = await a.send(group=group_id, text=f"group {i}")
            acks[c2c.conversation].append(c2c)
            acks[grp.conversation].append(grp)
        c = await app.connect("oc")
        try:
            # A conversation B has never seen.
            news = [await c.send(to="ob", text=f"new {i}") for i in range(3)]
        finally:
            await c.close()
        acks[news[0].conversation].extend(news)

        await b.connect()
        total = sum(len(v) for v in acks.values())
        got = await receive(b, total)
        # Nothing more comes: a message sent now is the next one (a duplicate would be first).
        last = await a.send(to="ob", text="last")
        (after,) = await receive(b, 1)
        assert (after.conversation, after.seq) == (last.conversation, last.seq)
    finally:
        await a.close()
        await b.close()

    by_conv: dict[str, list[Message]] = defaultdict(list)
    for m in got:
        by_conv[m.conversation].append(m)
    assert set(by_conv) == set(acks)
    for conv, sent in acks.items():
        assert [m.seq for m in by_conv[conv]] == [x.seq for x in sent], conv
        seqs = [m.seq for m in by_conv[conv]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), conv
    texts = [m.text for m in by_conv[acks[news[0].conversation][0].conversation]]
    assert texts == ["new 0", "new 1", "new 2"]
