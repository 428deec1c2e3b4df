from services.gateway.archive import RECENT_SEQS, still_arriving


def test_only_recent_given_out_seqs_are_waited_for() -> None:
    counter = 5000
    assert still_arriving([counter - RECENT_SEQS, counter - 3, counter, counter + 1], counter) == [
        counter - 3,
        counter,
    ]
    assert still_arriving([1], 0) == []
