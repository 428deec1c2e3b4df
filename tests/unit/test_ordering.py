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
