"""GroupTopicStore contract: every adapter keeps topics per app and group, claims a topic ID
once, and modifies only topics that exist."""

from __future__ import annotations

from dataclasses import replace

from services.common.store.group_topics import Topic
from services.common.store.ports import Stores

APP_A = 1400000401
APP_B = 1400000402
G = "@TGS#_@TGS#cQVLVHIM62CJ"
T1 = G + "@TOPIC#_TestTopic"
T2 = G + "@TOPIC#_@TOPIC#cRTE3HIM62C5"

FULL = Topic(
    topic_id=T1,
    name="TestTopic",
    creator="leckie",
    face_url="http://this.is.face.url",
    notification="notice",
    introduction="intro",
    custom_string="custom",
    mute_all=True,
    create_time=1_700_000_100,
)


async def test_create_read_back_and_claim_once(stores: Stores) -> None:
    s = stores.group_topics
    assert await s.list_topics(APP_A, G) == []
    assert await s.get(APP_A, G, [T1]) == {}
    later = Topic(T2, "second", create_time=1_700_000_200)
    assert await s.create(APP_A, G, later)
    assert await s.create(APP_A, G, FULL)
    # The ID is taken: nothing changes.
    assert not await s.create(APP_A, G, replace(FULL, name="other"))
    assert await s.create(APP_B, G, Topic(T1, "app B's"))
    assert await s.create(APP_A, "other-group", Topic(T1, "other group's"))
    # Oldest first, whatever the insertion and ID order.
    assert await s.list_topics(APP_A, G) == [FULL, later]
    assert await s.get(APP_A, G, [T2, T1, "nope", T1]) == {T1: FULL, T2: later}
    assert await s.get(APP_A, G, []) == {}
    assert await s.list_topics(APP_B, G) == [Topic(T1, "app B's")]


async def test_update_only_existing(stores: Stores) -> None:
    s = stores.group_topics
    assert not await s.update(APP_A, G, FULL)
    assert await s.list_topics(APP_A, G) == []
    await s.create(APP_A, G, Topic(T1, "before", create_time=5))
    changed = replace(FULL, create_time=5)
    assert await s.update(APP_A, G, changed)
    assert await s.get(APP_A, G, [T1]) == {T1: changed}
    cleared = replace(changed, face_url="", mute_all=False)
    assert await s.update(APP_A, G, cleared)
    assert await s.list_topics(APP_A, G) == [cleared]


async def test_delete_and_drop_group(stores: Stores) -> None:
    s = stores.group_topics
    await s.create(APP_A, G, Topic(T1, "one", create_time=1))
    await s.create(APP_A, G, Topic(T2, "two", create_time=2))
    await s.create(APP_A, "g2", Topic("g2@TOPIC#_x", "kept", create_time=3))
    await s.delete(APP_A, G, [T1, "nope", T1])
    await s.delete(APP_A, G, [])
    assert await s.list_topics(APP_A, G) == [Topic(T2, "two", create_time=2)]
    # A destroyed topic's ID can be claimed again.
    assert await s.create(APP_A, G, Topic(T1, "again", create_time=4))
    assert not await s.update(APP_A, "g2", Topic(T1, "not in g2"))
    await s.drop_group(APP_A, G)
    assert await s.list_topics(APP_A, G) == []
    assert await s.list_topics(APP_A, "g2") == [Topic("g2@TOPIC#_x", "kept", create_time=3)]
