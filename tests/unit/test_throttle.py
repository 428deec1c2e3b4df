"""The per-node token buckets of the sender throttle and the AVChatRoom rate: Redis-limiter
semantics (a burst of the limit, refilled continuously, a refusal spends nothing) in memory
bounded by the active keys."""

from __future__ import annotations

from services.gateway.throttle import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_limit_then_refusals() -> None:
    b = TokenBuckets(clock=Clock())
    assert [b.take("u", 2, 1) for _ in range(4)] == [True, True, False, False]


def test_refills_continuously() -> None:
    clock = Clock()
    b = TokenBuckets(clock=clock)
    assert b.take("u", 2, 1) and b.take("u", 2, 1)
    clock.now += 0.25  # half a token
    assert not b.take("u", 2, 1)
    clock.now += 0.25  # a refusal spends nothing: one token now
    assert b.take("u", 2, 1)
    assert not b.take("u", 2, 1)


def test_rate_over_several_seconds() -> None:
    clock = Clock()
    b = TokenBuckets(clock=clock)
    assert sum(b.take("u", 10, 60) for _ in range(20)) == 10
    clock.now += 6  # 10 per 60 s: one token
    assert sum(b.take("u", 10, 60) for _ in range(20)) == 1


def test_keys_are_apart() -> None:
    b = TokenBuckets(clock=Clock())
    assert b.take((1, "ann"), 1, 1)
    assert not b.take((1, "ann"), 1, 1)
    assert b.take((1, "bob"), 1, 1)
    assert b.take((2, "ann"), 1, 1)


def test_idle_buckets_are_dropped_once_full_again() -> None:
    clock = Clock()
    b = TokenBuckets(clock=clock)
    for user in ("a", "b", "c"):
        b.take(user, 2, 1)
    assert len(b) == 3
    clock.now += 0.6  # a half-used bucket is full again after 0.5 s
    b.take("d", 2, 1)
    assert len(b) == 1


def test_a_busy_bucket_stays() -> None:
    clock = Clock()
    b = TokenBuckets(clock=clock)
    b.take("slow", 1, 60)
    for _ in range(10):
        clock.now += 1
        b.take("fast", 5, 1)
    assert not b.take("slow", 1, 60)


def test_at_most_max_buckets() -> None:
    b = TokenBuckets(max_buckets=3, clock=Clock())
    for i in range(10):
        b.take(i, 1, 1)
    assert len(b) == 3
    # The least recently used went: it starts full again (lenient, never a false refusal).
    assert b.take(0, 1, 1)
    assert not b.take(9, 1, 1)
