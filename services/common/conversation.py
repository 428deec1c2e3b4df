"""Conversation ids: the Kafka key and the seq scope of every message."""

from __future__ import annotations


def c2c(a: str, b: str) -> str:
    lo, hi = (a, b) if a <= b else (b, a)
    return f"c2c:{lo}:{hi}"


def group(group_id: str) -> str:
    return f"group:{group_id}"


def peer_of(conversation: str, user: str) -> str:
    """The other party of a C2C conversation."""
    pair = conversation.removeprefix("c2c:")
    if pair.startswith(user + ":"):
        return pair[len(user) + 1 :]
    return pair[: -(len(user) + 1)]


def kafka_key(sdkappid: int, conversation: str) -> bytes:
    return f"{sdkappid}:{conversation}".encode()
