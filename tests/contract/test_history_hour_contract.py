"""The hour query behind get_history: one app's messages of one chat type and one hour, in
(time, conversation, seq) order, paged by position, whether archived or appended."""

from __future__ import annotations

import time

from services.common.store.ports import (
    HOUR_MS,
    ArchiveBatch,
    Received,
    Stores,
    hour_of,
    hour_position,
)
from tests.contract.test_store_contract import APP_A, APP_B, _msg


async def _all(stores: Stores, app: int, chat_type: str, hour_ms: int, limit: int) -> list[str]:
    """Every page, as "conversation/seq"."""
    out: list[str] = []
    after = ""
    while True:
        page = await stores.messages.by_hour(app, chat_type, hour_ms, after, limit)
        out += [f"{m.conversation}/{m.seq}" for m in page]
        if len(page) < limit:
            return out
        after = hour_position(page[-1])


async def test_by_hour_pages_one_chat_type_of_one_hour(stores: Stores) -> None:
    hour = hour_of(int(time.time() * 1000)) - HOUR_MS
    c2c, group, topic = "c2c:alice:bob", "group:g1", "topic:g1:t1"
    archived = [
        _msg(APP_A, c2c, 1, hour + 5),
        _msg(APP_A, c2c, 2, hour + 5),
        _msg(APP_A, group, 1, hour + 5),
        _msg(APP_A, topic, 1, hour + 7),
        # Outside the hour, on either side.
        _msg(APP_A, c2c, 3, hour + HOUR_MS),
        _msg(APP_A, group, 2, hour - 1),
        # Another app.
        _msg(APP_B, c2c, 1, hour + 6),
    ]
    await stores.messages.archive(
        ArchiveBatch(
            messages=[Received(m, m.SerializeToString(), 7200) for m in archived],
            last=[],
            group_activity={},
        )
    )
    await stores.messages.append(
        [_msg(APP_A, c2c, 4, hour + 3), _msg(APP_A, "c2c:alice:carol", 1, hour + 5)],
        ttl_s=7200,
    )

    expected_c2c = ["c2c:alice:bob/4", "c2c:alice:bob/1", "c2c:alice:bob/2", "c2c:alice:carol/1"]
    for limit in (1, 2, 100):
        assert await _all(stores, APP_A, "C2C", hour, limit) == expected_c2c
    assert await _all(stores, APP_A, "Group", hour, 1) == ["group:g1/1", "topic:g1:t1/1"]
    assert await _all(stores, APP_A, "C2C", hour + HOUR_MS, 10) == ["c2c:alice:bob/3"]
    assert await _all(stores, APP_B, "Group", hour, 10) == []
