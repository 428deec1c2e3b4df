"""The one topic registry. Every producer and consumer names its topic from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    key: str
    compacted: bool = False
    # Retry and DLQ topics carry little traffic: one partition keeps replay ordered.
    partitions: int | None = None

    @property
    def dlq(self) -> str:
        return dlq_of(self.name)


INBOUND = Topic("im.inbound", key="conversation")
MESSAGES = Topic("im.messages", key="conversation")
EVENTS = Topic("im.events", key="app:entity")
PUSH = Topic("im.push", key="user")
CALLBACKS_RETRY = Topic("im.callbacks.retry", key="event id", partitions=1)
CALLBACKS_DLQ = Topic("im.callbacks.dlq", key="event id", partitions=1)
CONFIG = Topic("im.config", key="app:section", compacted=True, partitions=1)
# The troubleshooting event log and the statistics it feeds (services/common/trace.py).
TRACE = Topic("im.trace", key="app:user")

ALL: tuple[Topic, ...] = (
    INBOUND,
    MESSAGES,
    EVENTS,
    PUSH,
    CALLBACKS_RETRY,
    CALLBACKS_DLQ,
    CONFIG,
    TRACE,
)

# Topics whose consumers send poison records to <topic>.dlq (the callback service's retry
# consumer too: a record it cannot handle must not stall the retry topic).
WITH_DLQ: tuple[Topic, ...] = (INBOUND, MESSAGES, EVENTS, PUSH, CALLBACKS_RETRY, TRACE)


def dlq_of(topic: str) -> str:
    """The dead-letter topic of a topic named `topic`."""
    return f"{topic}.dlq"
