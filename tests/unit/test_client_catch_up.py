"""The SDK client's catch-up and gap fills, against a scripted server in memory (no socket, no
clock): a gap is synced at once, one sync per conversation at a time, further gaps coalesce;
a new client starts each conversation at the user's read mark; pushes that arrive during a
catch-up are neither lost nor shown twice. Nothing here sleeps: the test awaits the client's
own tasks, and the scripted server holds a reply until the test lets it go."""

from __future__ import annotations

import asyncio
from typing import Any

from tidings_client import Client, Message, TidingsClientError
from tidings_client.client import NOT_GROUP_MEMBER, SYNC_PAGE

ME = "me"
C2C = "c2c:bob:me"
GROUP = "group:g1"


def row(conv: str, seq: int, sender: str = "bob", client_msg_id: str = "") -> dict[str, Any]:
    return {
        "kind": "message",
        "conversation": conv,
        "seq": seq,
        "sender": sender,
        "to": ME if conv.startswith("c2c") else "",
        "group": "g1" if conv == GROUP else "",
        "time": 1_700_000_000_000 + seq,
        "msg_key": f"k{seq}",
        "client_msg_id": client_msg_id or f"{conv}/{seq}",
        "elements": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"{conv} {seq}"}}],
    }


class Scripted(Client):
    """A client whose requests a script answers: `history` per conversation, `listed` for the
    conversation list. A sync reply is taken from history when asked, and held until `gate` is
    set (when there is a gate)."""

    def __init__(self) -> None:
        super().__init__("ws://unused", 1, ME, "sig")
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.listed: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None
        self.asked = asyncio.Event()
        self.on_list: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        # Seqs of a conversation a sync does not return (sent before the user joined).
        self.hidden_below: dict[str, int] = {}
        # Conversations whose sync is refused: groups the user is no longer in.
        self.left: set[str] = set()

    async def request(self, frame: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        self.requests.append(dict(frame))
        if frame["op"] == "conversations":
            # Pushes that arrive while the list is on its way.
            for push in self.on_list:
                self.push(push)
            return {"op": "conversations", "code": 0, "conversations": self.listed}
        assert frame["op"] == "sync", frame
        conv = GROUP if "group" in frame else C2C if frame["peer"] == "bob" else "c2c:me:zed"
        if conv in self.left:
            raise TidingsClientError(NOT_GROUP_MEMBER, "not a member of this group")
        rows = [r for r in self.history.get(conv, []) if r["seq"] > frame["after_seq"]]
        page = rows[: frame["limit"]]
        reply = {
            "op": "sync",
            "code": 0,
            "conversation": conv,
            "messages": [r for r in page if r["seq"] >= self.hidden_below.get(conv, 0)],
            "complete": len(rows) <= frame["limit"],
        }
        self.in_flight += 1
        self.asked.set()
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight -= 1
        return reply

    def push(self, *rows: dict[str, Any]) -> None:
        self._dispatch({"op": "msg", "msgs": list(rows)})

    def syncs(self) -> list[tuple[str, int]]:
        asked = [r for r in self.requests if r["op"] == "sync"]
        return [(r.get("peer") or r["group"], r["after_seq"]) for r in asked]

    async def gap_fills(self) -> None:
        for task in list(self._gap_tasks.values()):
            await task

    def shown(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        while not self._inbox.empty():
            m = self._inbox.get_nowait()
            out.append((m.conversation, m.seq))
        return out


def seqs(conv: str, lo: int, hi: int) -> list[tuple[str, int]]:
    return [(conv, s) for s in range(lo, hi + 1)]


def item(conv: str, last_seq: int, read_seq: int) -> dict[str, Any]:
    target = {"group": "g1"} if conv == GROUP else {"peer": "bob"}
    return {"conversation": conv, **target, "last_seq": last_seq, "read_seq": read_seq}


async def caught_up(history: dict[str, list[dict[str, Any]]] | None = None) -> Scripted:
    c = Scripted()
    c.history = history or {}
    assert await c.sync() == []
    return c


async def test_a_gap_is_synced_at_once_and_gaps_found_meanwhile_coalesce() -> None:
    c = await caught_up()
    c.history[C2C] = [row(C2C, s) for s in range(1, 6)]
    c.push(row(C2C, 1))
    assert c.shown() == [(C2C, 1)]
    c.gate = asyncio.Event()
    c.push(row(C2C, 3))
    c.push(row(C2C, 5))
    await c.asked.wait()
    assert c.syncs() == [("bob", 1)]
    # While that sync is on its way, 6 and 7 are sent and 7 is pushed: a new gap.
    c.history[C2C] += [row(C2C, 6), row(C2C, 7)]
    c.push(row(C2C, 7))
    c.gate.set()
    await c.gap_fills()
    assert c.shown() == seqs(C2C, 2, 7)
    # The second gap was filled by the same task, after the first sync: never two at once.
    assert c.syncs() == [("bob", 1), ("bob", 5)]
    assert c.most_in_flight == 1


async def test_a_group_left_shows_what_is_held_past_a_gap_it_can_no_longer_fill() -> None:
    c = await caught_up()
    c.push(row(GROUP, 1))
    # Seq 2 was fanned out after the user's removal; 3 (the tip that they were removed) names
    # them. History is refused to them now: 3 is shown, not held for ever.
    c.left.add(GROUP)
    c.push(row(GROUP, 3))
    await c.gap_fills()
    assert c.shown() == [(GROUP, 1), (GROUP, 3)]


async def test_an_own_ack_fills_a_seq_and_starts_no_sync() -> None:
    c = await caught_up()
    c.push(row(C2C, 1))
    c._deliver(c._order(C2C).offer(3, None))  # our ack of seq 3 overtook bob's push of 2
    assert c.syncs() == []
    c.push(row(C2C, 2))
    c.push(row(C2C, 4))
    assert c.shown() == [*seqs(C2C, 1, 2), (C2C, 4)]
    assert c.syncs() == []


async def test_a_gap_that_history_does_not_hold_is_moved_past() -> None:
    c = await caught_up()
    c.history[C2C] = [row(C2C, 1), row(C2C, 4)]  # 2 and 3 expired
    c.push(row(C2C, 1))
    c.push(row(C2C, 4))
    await c.gap_fills()
    assert c.shown() == [(C2C, 1), (C2C, 4)]
    c.push(row(C2C, 5))
    assert c.shown() == [(C2C, 5)]


async def test_a_new_client_starts_at_the_read_mark_and_keeps_the_pushes_of_meanwhile() -> None:
    c = Scripted()
    c.history = {
        C2C: [row(C2C, s) for s in range(1, 9)],
        GROUP: [row(GROUP, s, sender="carol") for s in range(1, 4)],
        "c2c:me:zed": [row("c2c:me:zed", 1, sender="zed")],
    }
    c.listed = [item(C2C, 7, 2), item(GROUP, 3, 0)]
    # While the list is on its way: bob's 8 (after the list was read), and a conversation
    # that began after it (zed), and a duplicate of 5.
    c.on_list = [row(C2C, 8), row("c2c:me:zed", 1, sender="zed"), row(C2C, 5)]
    got = await c.sync()
    assert sorted((m.conversation, m.seq) for m in got) == sorted(
        seqs(C2C, 3, 8) + seqs(GROUP, 1, 3) + [("c2c:me:zed", 1)]
    )
    shown = c.shown()
    assert sorted(shown) == sorted((m.conversation, m.seq) for m in got)
    for conv in (C2C, GROUP):
        assert [s for cv, s in shown if cv == conv] == sorted(s for cv, s in shown if cv == conv)
    assert sorted(c.syncs()) == [("bob", 2), ("g1", 0)]


async def test_a_conversation_read_to_the_end_is_not_synced() -> None:
    c = Scripted()
    c.listed = [item(C2C, 7, 7)]
    assert await c.sync() == []
    assert c.syncs() == []
    c.push(row(C2C, 8))
    assert c.shown() == [(C2C, 8)]


async def test_a_catch_up_pages_until_complete_and_does_not_show_own_sends() -> None:
    c = Scripted()
    total = SYNC_PAGE + 20
    own = row(C2C, 10, sender=ME, client_msg_id="mine")
    c.history[C2C] = [own if s == 10 else row(C2C, s) for s in range(1, total + 1)]
    c._own_ids.add("mine")
    c.listed = [item(C2C, total, 0)]
    got = await c.sync()
    assert [m.seq for m in got] == [s for s in range(1, total + 1) if s != 10]
    assert c.syncs() == [("bob", 0), ("bob", SYNC_PAGE)]


async def test_after_a_reconnect_it_syncs_from_what_it_showed_not_from_the_read_mark() -> None:
    c = await caught_up()
    c.history[C2C] = [row(C2C, s) for s in range(1, 11)]
    for s in range(1, 5):
        c.push(row(C2C, s))
    c.shown()
    # Read on another device up to 8; this client showed up to 4.
    c.listed = [item(C2C, 10, 8)]
    got = await c.sync()
    assert [m.seq for m in got] == list(range(5, 11))
    assert c.syncs() == [("bob", 4)]


async def test_history_the_member_may_not_see_is_paged_over() -> None:
    """A member added to a Work group sees messages from their join on: sync answers a page of
    older rows with no messages and `complete` false."""
    c = Scripted()
    total = SYNC_PAGE + 100
    c.history[GROUP] = [row(GROUP, s, sender="carol") for s in range(1, total + 1)]
    c.hidden_below[GROUP] = SYNC_PAGE + 50
    c.listed = [item(GROUP, total, 0)]
    got = await c.sync()
    assert [m.seq for m in got] == list(range(SYNC_PAGE + 50, total + 1))
    assert c.syncs() == [("g1", 0), ("g1", SYNC_PAGE)]


async def test_live_messages_never_wait_for_history() -> None:
    c = await caught_up()
    live = [{**row(GROUP, s, sender="host"), "online_only": True} for s in (3, 7, 8)]
    for r in live:
        c.push(r)
    assert c.shown() == [(GROUP, 3), (GROUP, 7), (GROUP, 8)]
    assert c.syncs() == []


async def test_sync_with_a_peer_reads_a_page_and_shows_nothing() -> None:
    c = Scripted()
    c.history[C2C] = [row(C2C, s) for s in range(1, 4)]
    page = await c.sync(peer="bob", after_seq=1)
    assert [m.seq for m in page] == [2, 3]
    assert isinstance(page[0], Message)
    assert c.shown() == []
    assert c.requests[-1] == {"op": "sync", "peer": "bob", "after_seq": 1, "limit": 100}
