"""Community topics (million_group_open_http_svc create_topic, get_topic, modify_topic,
destroy_topic, and group_open_http_svc import_topic).

A topic is one row per (app, group, topic ID) holding its profile. Its messages are not here:
they are a conversation of their own (services/common/conversation.py `topic`), with their own
seqs and history, read through the message path like a group's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Topic:
    topic_id: str
    name: str
    # The account that created it (From_Account), "" when the app admin did.
    creator: str = ""
    face_url: str = ""
    notification: str = ""
    introduction: str = ""
    custom_string: str = ""
    mute_all: bool = False
    # Unix seconds.
    create_time: int = 0


class GroupTopicStore(Protocol):
    async def create(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        """Add the topic to the group; False (and nothing written) when the group already has
        a topic with its ID."""

    async def update(self, sdkappid: int, group_id: str, topic: Topic) -> bool:
        """Replace an existing topic's profile; False (and nothing written) when the group has
        no topic with its ID."""

    async def get(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> dict[str, Topic]:
        """Among `topic_ids`, the group's topics, by topic ID."""

    async def list_topics(self, sdkappid: int, group_id: str) -> list[Topic]:
        """Every topic of the group, oldest first (creation time, then topic ID)."""

    async def delete(self, sdkappid: int, group_id: str, topic_ids: Sequence[str]) -> None:
        """Remove the topics; IDs the group has no topic for are ignored."""

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        """Forget every topic of the group (it was destroyed)."""


def creation_order(topics: Sequence[Topic]) -> list[Topic]:
    return sorted(topics, key=lambda t: (t.create_time, t.topic_id))


# A topic's stored columns after its id, as both adapters write and read them.
COLUMNS = (
    "name",
    "creator",
    "face_url",
    "notification",
    "introduction",
    "custom_string",
    "mute_all",
    "create_time",
)


def topic_columns(t: Topic) -> tuple[object, ...]:
    """A topic's stored columns after its id, in COLUMNS order (both adapters)."""
    return (
        t.name,
        t.creator,
        t.face_url,
        t.notification,
        t.introduction,
        t.custom_string,
        int(t.mute_all),
        t.create_time,
    )


def topic_of_row(row: Any) -> Topic:
    """A topic from a row of its id and COLUMNS (a column never written reads as empty)."""
    return Topic(
        topic_id=row[0],
        name=row[1] or "",
        creator=row[2] or "",
        face_url=row[3] or "",
        notification=row[4] or "",
        introduction=row[5] or "",
        custom_string=row[6] or "",
        mute_all=bool(row[7]),
        create_time=int(row[8] or 0),
    )
