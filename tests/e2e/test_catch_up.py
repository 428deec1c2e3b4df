"""The SDK catches up with no timers (an ack means readable): a new Client of a user who was
offline gets their unread C2C and group messages through `messages()` once `connect()`
returns, each once and in seq order per conversation; `sync()` with no arguments returns what
was missed; a client whose connection drops reconnects by itself and gets what it missed.

Nothing here sleeps or polls for history: the tests wait on `messages()` only, with a timeout
that fails them, and prove "nothing twice" with a last message sent after the catch-up, which
must be the next one out of `messages()`."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group
from tidings_client import Ack, Client, Message

pytestmark = pytest.mark.stack

WAIT_S = 60.0


async def receive(c: Client, count: int) -> list[Message]:
    """The next `count` messages of `c`, or the test fails after WAIT_S."""

    async def take() -> list[Message]:
        it = c.messages()
        return [await anext(it) for _ in range(count)]

    return await asyncio.wait_for(take(), WAIT_S)


def by_conversation(items: list[Message] | list[Ack]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for x in items:
        out[x.conversation].append(x.seq)
    return dict(out)


async def nothing_more(receiver: Client, sender: Client, to: str) -> None:
    """Whatever `receiver` was going to get twice would come before a message sent now."""
    last = await sender.send(to=to, text="last")
    (m,) = await receive(receiver, 1)
    assert (m.conversation, m.seq, m.text) == (last.conversation, last.seq, "last")


class Proxy:
    """A TCP relay in front of the gateway that the test can cut, like a network that goes
    away: `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._path = parts.path
        self._open = True
        self._links: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}{self._path}"
        return self

    def cut(self) -> None:
        self._open = False
        for w in self._links:
            w.transport.abort()

    def restore(self) -> None:
        self._open = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._links |= {writer, up_writer}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._links -= {writer, up_writer}


@pytest.mark.parametrize("encoding", ["json", "proto"])
async def test_a_new_client_gets_the_unread_messages_once_in_order(
    app: AppUnderTest, encoding: str
) -> None:
    """50 C2C messages from two peers and 30 group messages sent while the user was offline,
    after messages the user had already read on another device: a new Client delivers exactly
    the 80 unread ones once connect() returns."""
    await app.import_accounts("nu", "np1", "np2")
    group_id = await make_group(app, "np1", ["nu", "np2"], kind="Work")
    p1, p2 = await app.connect("np1"), await app.connect("np2")
    try:
        # Read on the phone before it was put away: history, not news.
        phone = await app.connect("nu")
        try:
            old = [await p1.send(to="nu", text=f"old {i}") for i in range(3)]
            old.append(await p2.send(group=group_id, text="old group"))
            seen = await receive(phone, len(old))
            assert by_conversation(seen) == by_conversation(old)
            for m in seen:
                await phone.mark_read(m.conversation, m.seq)
        finally:
            await phone.close()

        sent: list[Ack] = []
        for i in range(25):
            sent.append(await p1.send(to="nu", text=f"from p1 {i}"))
            sent.append(await p2.send(to="nu", text=f"from p2 {i}"))
        for i in range(30):
            sent.append(await (p1, p2)[i % 2].send(group=group_id, text=f"group {i}"))
        expected = by_conversation(sent)
        assert len(expected) == 3

        fresh = await app.connect("nu", encoding=encoding)
        try:
            got = await receive(fresh, len(sent))
            assert by_conversation(got) == expected
            texts = {m.seq: m.text for m in got if m.group == group_id}
            assert [texts[s] for s in expected[f"group:{group_id}"]] == [
                f"group {i}" for i in range(30)
            ]
            await nothing_more(fresh, p2, "nu")
        finally:
            await fresh.close()
    finally:
        await p1.close()
        await p2.close()


async def test_sync_with_no_arguments_returns_what_was_missed(app: AppUnderTest) -> None:
    await app.import_accounts("su", "sp")
    group_id = await make_group(app, "sp", ["su"], kind="Work")
    sp = await app.connect("sp")
    try:
        sent = [await sp.send(to="su", text=f"c2c {i}") for i in range(20)]
        sent += [await sp.send(group=group_id, text=f"group {i}") for i in range(10)]

        su = Client(app.stack.ws_url, app.sdkappid, "su", app.sig("su"))
        await su.connect(catch_up=False)
        try:
            got = await su.sync()
            assert by_conversation(got) == by_conversation(sent)
            # The same messages, once, through messages().
            shown = await receive(su, len(got))
            assert [(m.conversation, m.seq) for m in shown] == [
                (m.conversation, m.seq) for m in got
            ]
            # Caught up: nothing is missing any more.
            assert await su.sync() == []
            # A page of one conversation's history still reads without showing anything.
            page = await su.sync(peer="sp", after_seq=sent[0].seq, limit=5)
            assert [m.seq for m in page] == [a.seq for a in sent[1:6]]
            await nothing_more(su, sp, "su")
        finally:
            await su.close()
    finally:
        await sp.close()


async def test_a_client_that_reconnects_gets_what_it_missed(app: AppUnderTest) -> None:
    """The connection drops (a network that goes away); while it is down, 30 C2C and 20 group
    messages come, and a conversation begins; the client reconnects by itself and gets each of
    them once, in order."""
    await app.import_accounts("ra", "rb", "rc")
    group_id = await make_group(app, "ra", ["rb"], kind="Work")
    proxy = await Proxy(app.stack.ws_url).start()
    a = await app.connect("ra")
    b = Client(proxy.url, app.sdkappid, "rb", app.sig("rb"))
    await b.connect()
    try:
        first = [await a.send(to="rb", text="hi"), await a.send(group=group_id, text="hi all")]
        assert by_conversation(await receive(b, 2)) == by_conversation(first)
        first_conn = b.conn_id

        proxy.cut()
        sent: list[Ack] = []
        for i in range(30):
            sent.append(await a.send(to="rb", text=f"c2c {i}"))
            if i < 20:
                sent.append(await a.send(group=group_id, text=f"group {i}"))
        c = await app.connect("rc")
        try:
            # A conversation that began while B was away.
            sent += [await c.send(to="rb", text=f"new {i}") for i in range(3)]
        finally:
            await c.close()
        proxy.restore()

        got = await receive(b, len(sent))
        assert b.conn_id != first_conn
        assert by_conversation(got) == by_conversation(sent)
        await nothing_more(b, a, "rb")
    finally:
        await a.close()
        await b.close()
        await proxy.close()
