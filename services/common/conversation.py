"""Conversation ids: the Kafka key and the seq scope of every message.

A conversation id is a key of escaped parts (services/common/keys.py), so no two pairs of
users, and no user pair and group, share one, whatever characters the ids hold. A Community
topic is a conversation of its own (its seqs, history and read marks), named by its kind, its
group and its topic ID, so it never shares an id with its group or another group's topic."""

from __future__ import annotations

from services.common import keys

C2C = "c2c"
GROUP = "group"
TOPIC = "topic"


def c2c(a: str, b: str) -> str:
    lo, hi = (a, b) if a <= b else (b, a)
    return keys.join(C2C, lo, hi)


def group(group_id: str) -> str:
    return keys.join(GROUP, group_id)


def topic(group_id: str, topic_id: str) -> str:
    """A Community topic's conversation; its members are the group's."""
    return keys.join(TOPIC, group_id, topic_id)


def is_topic(conversation: str) -> bool:
    return conversation.startswith(TOPIC + ":")


def parts(conversation: str) -> list[str]:
    """The kind and the ids of a conversation id: [c2c, lo, hi], [group, id] or
    [topic, group id, topic id]."""
    return keys.split(conversation)


def peer_of(conversation: str, user: str) -> str:
    """The other party of a C2C conversation of `user`."""
    _, lo, hi = parts(conversation)
    return hi if lo == user else lo


def group_of(conversation: str) -> str | None:
    """The group id of a group conversation, None for C2C."""
    found = parts(conversation)
    return found[1] if found[0] == GROUP else None


def kafka_key(sdkappid: int, conversation: str) -> bytes:
    return f"{sdkappid}:{conversation}".encode()


def app_of_key(key: bytes | None) -> int | None:
    """The SDKAppID a record's Kafka key starts with (`kafka_key`, and the other keys that start
    with the app), or None when it does not start with one."""
    if not key:
        return None
    head, sep, _ = key.partition(b":")
    if not sep or not head.isdigit() or len(head) > 19:
        return None
    return int(head)
