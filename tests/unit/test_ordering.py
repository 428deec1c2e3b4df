from tidings_client.ordering import ConversationOrder


def test_in_order_items_come_out_at_once() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    assert o.offer(1, "a") == ["a"]
    assert o.offer(2, "b") == ["b"]
    assert o.last_seq == 2


def test_own_sends_fill_seqs_but_are_not_shown() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    assert o.offer(1, "a") == ["a"]
    assert o.offer(3, "c") == []
    assert o.has_gap
    assert o.offer(2, None) == ["c"]
    assert not o.has_gap


def test_duplicates_are_dropped() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    o.offer(1, "a")
    o.offer(2, "b")
    assert o.offer(2, "b") == []
    assert o.offer(1, "a") == []


def test_skip_to_moves_past_a_lost_seq() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    o.offer(1, "a")
    o.offer(3, "c")
    o.offer(4, "d")
    assert o.skip_to(3) == ["c", "d"]
    assert o.next_seq == 5


def test_an_ack_overtaking_the_first_delivery_does_not_hide_it() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    assert o.offer(2, None) == []
    assert not o.has_gap
    assert o.offer(1, "a") == ["a"]
    assert o.next_seq == 3
    assert o.offer(3, "c") == ["c"]


def test_a_conversation_can_start_after_the_read_mark() -> None:
    o: ConversationOrder[str] = ConversationOrder()
    o.offer(7, None)
    assert o.skip_to(6) == []
    assert o.offer(6, "f") == ["f"]
    assert o.next_seq == 8
