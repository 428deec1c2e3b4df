"""ConversationOrder, the SDK's per-conversation ordering: pure logic, no I/O, no clock."""

from __future__ import annotations

from tidings_client.ordering import MAX_HELD_BEFORE_START, ConversationOrder


def started(at: int = 1) -> ConversationOrder[str]:
    o: ConversationOrder[str] = ConversationOrder()
    o.start(at)
    return o


def test_in_order_items_come_out_at_once() -> None:
    o = started()
    assert o.offer(1, "a") == ["a"]
    assert o.offer(2, "b") == ["b"]
    assert o.last_seq == 2
    assert not o.has_gap


def test_own_sends_fill_seqs_but_are_not_shown() -> None:
    o = started()
    assert o.offer(1, "a") == ["a"]
    assert o.offer(3, "c") == []
    assert o.has_gap
    assert o.offer(2, None) == ["c"]
    assert not o.has_gap
    assert o.last_seq == 3


def test_duplicates_are_dropped_whether_shown_or_held() -> None:
    o = started()
    o.offer(1, "a")
    o.offer(2, "b")
    assert o.offer(2, "b") == []
    assert o.offer(1, "a") == []
    assert o.offer(4, "d") == []
    assert o.offer(4, "d") == []
    assert o.offer(3, "c") == ["c", "d"]


def test_seq_zero_is_no_seq() -> None:
    # An ack with seq 0: the app server dropped the message, no seq was taken.
    o = started()
    assert o.offer(0, None) == []
    assert o.offer(1, "a") == ["a"]


def test_nothing_is_shown_before_the_start_and_the_start_drops_what_is_below_it() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    assert not o.started
    assert o.offer(5, "e") == []
    assert o.offer(7, "g") == []
    assert o.offer(3, "c") == []
    assert not o.has_gap
    assert o.first_held_item == 3
    # The read mark is 3: 3 was read; 4 is still to come (from a sync).
    assert o.start(4) == []
    assert o.held == {5: "e", 7: "g"}
    assert o.has_gap
    assert o.offer(4, "d") == ["d", "e"]
    assert o.offer(6, "f") == ["f", "g"]
    assert o.last_seq == 7


def test_a_start_is_final() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    o.offer(2, "b")
    assert o.start(2) == ["b"]
    assert o.start(1) == []
    assert o.offer(1, "a") == []


def test_own_sends_do_not_count_as_the_first_item() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    o.offer(2, None)
    assert o.first_held_item is None
    o.offer(3, "c")
    assert o.first_held_item == 3


def test_an_own_send_before_the_start_fills_its_seq_after_it() -> None:
    # Our ack overtook the peer's message 1 (acks and pushes take different paths).
    o: ConversationOrder[str] = ConversationOrder()
    assert o.offer(2, None) == []
    assert o.start(1) == []
    assert o.offer(1, "a") == ["a"]
    assert o.next_seq == 3
    assert o.offer(3, "c") == ["c"]


def test_settle_moves_past_seqs_a_sync_did_not_return_and_shows_what_is_held() -> None:
    o = started()
    o.offer(1, "a")
    o.offer(4, "d")
    o.offer(6, "f")
    # A sync covered up to 6 and returned nothing for 2, 3 and 5: they will never come.
    assert o.settle(6) == ["d", "f"]
    assert o.last_seq == 6
    assert not o.has_gap


def test_settle_keeps_what_is_held_beyond_it_and_releases_what_follows() -> None:
    o = started()
    o.offer(3, "c")
    o.offer(4, "d")
    o.offer(9, "i")
    assert o.settle(2) == ["c", "d"]
    assert o.last_seq == 4
    assert o.has_gap
    assert o.highest == 9


def test_settle_never_goes_back_and_needs_a_start() -> None:
    o = started()
    o.offer(1, "a")
    o.offer(2, "b")
    assert o.settle(1) == []
    assert o.next_seq == 3
    fresh: ConversationOrder[str] = ConversationOrder()
    fresh.offer(3, "c")
    assert fresh.settle(5) == []
    assert not fresh.started


def test_an_own_send_held_below_a_settle_is_not_shown() -> None:
    o = started()
    o.offer(2, None)
    o.offer(3, "c")
    assert o.settle(3) == ["c"]


def test_highest_is_the_newest_seq_known() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    assert o.highest == 0
    o.start(10)
    assert o.highest == 9
    o.offer(12, "l")
    assert o.highest == 12


def test_what_is_held_before_the_start_is_bounded() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    for seq in range(1, MAX_HELD_BEFORE_START + 11):
        o.offer(seq, str(seq))
    assert len(o.held) == MAX_HELD_BEFORE_START
    assert min(o.held) == 11


def test_a_catch_up_interleaved_with_pushes_shows_each_seq_once_in_order() -> None:
    """The client's catch-up: the list says the read mark is 2 and the last seq 8; pushes of 7,
    8 and 9 come before and during the sync, which returns 3..8 in two pages."""
    o: ConversationOrder[str] = ConversationOrder()
    shown: list[str] = []
    shown += o.offer(7, "7")
    shown += o.start(3)
    shown += o.offer(8, "8")
    for seq in (3, 4, 5):
        shown += o.offer(seq, str(seq))
    shown += o.settle(5)
    shown += o.offer(9, "9")
    for seq in (6, 7, 8):
        shown += o.offer(seq, str(seq))
    shown += o.settle(9)
    assert shown == [str(s) for s in range(3, 10)]
    assert not o.has_gap
