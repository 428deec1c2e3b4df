"""Ingest's one call per batch against a real Valkey: seqs, dedupe, tails, claims and the
recent-conversation index; split by slot for Redis Cluster, with the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.common import conversation
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.recent import TailReader, TailSettings
from services.common.redis_state import connect
from services.router.sequencer import (
    AssignRequest,
    RecallClaim,
    Sequencer,
    Slot,
    Touch,
    cluster_slot,
    one_slot,
)

APP = 1400000001


@pytest.fixture
async def redis(valkey: str) -> AsyncIterator[object]:
    client = connect(valkey)
    yield client
    await client.aclose()


def request(app: int, a: str, b: str, msg_id: str, seed: int | None = 0) -> AssignRequest:
    conv = conversation.c2c(a, b)
    base = Message(sdkappid=app, conversation=conv, sender=a, to_user=b).SerializeToString()
    return AssignRequest(app, conv, a, msg_id, 1_700_000_000_000, 7, base, True, seed)


@pytest.mark.parametrize("slot", [one_slot, cluster_slot], ids=["standalone", "cluster"])
async def test_one_call_assigns_dedupes_claims_and_indexes(redis: object, slot: Slot) -> None:
    app = APP + (0 if slot is one_slot else 1)
    seqs = Sequencer(redis, 3600, TailSettings(), slot)  # type: ignore[arg-type]
    first = [request(app, f"u{i % 3}", f"v{i % 3}", f"m{i}") for i in range(9)]
    touches = [Touch(app, r.sender, r.conversation, r.server_time_ms) for r in first]
    result = await seqs.run([], [], first, touches)
    by_conv: dict[str, list[int]] = {}
    for r, a in zip(first, result.assigned, strict=True):
        assert a.status == "new"
        by_conv.setdefault(r.conversation, []).append(a.seq)
    assert all(s == [1, 2, 3] for s in by_conv.values())

    # A retry gets its original seq; marked published, it is not produced again.
    again = await seqs.run([first[0].dedupe_key], [], [first[0]], [])
    assert (again.assigned[0].status, again.assigned[0].seq) == ("duplicate", 1)
    marked = await seqs.run([], [], [first[0]], [])
    assert marked.assigned[0].published

    # The tail holds each message whole, and the index the sender's conversations.
    tails = TailReader(redis)  # type: ignore[arg-type]
    read = await tails.after(app, first[0].conversation, 0, 10)
    assert [m.seq for m in read.messages] == [1, 2, 3]
    assert read.messages[0].msg_key == "7_1_1700000000"
    assert [c for c, _ in await tails.recent_conversations(app, "u0")] == [first[0].conversation]

    # The first claim of a message wins; the same request keeps it; another loses.
    claim = RecallClaim(app, first[0].conversation, 1, "req-1")
    other = RecallClaim(app, first[0].conversation, 1, "req-2")
    assert (await seqs.run([], [claim, other], [], [])).claims == [True, False]
    assert (await seqs.run([], [claim], [], [])).claims == [True]


async def test_a_missing_counter_asks_for_a_seed(redis: object) -> None:
    seqs = Sequencer(redis, 3600, TailSettings())  # type: ignore[arg-type]
    unseeded = request(APP + 2, "p", "q", "x", seed=None)
    (needs,) = (await seqs.run([], [], [unseeded], [])).assigned
    assert needs.status == "needs_seed"
    (seeded,) = await seqs.assign([request(APP + 2, "p", "q", "x", seed=41)])
    assert (seeded.status, seeded.seq) == ("new", 42)
