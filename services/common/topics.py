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
# After-callbacks to try again: the first retry-topic tries (short waits) on one topic, the later
# ones (long waits) on another, so a batch waiting for a long-failing app server's next try
# never holds up another app's first retries (services/callback/retry.py).
CALLBACKS_RETRY = Topic("im.callbacks.retry", key="event id", partitions=1)
CALLBACKS_RETRY_SLOW = Topic("im.callbacks.retry.slow", key="event id", partitions=1)
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
    CALLBACKS_RETRY_SLOW,
    CALLBACKS_DLQ,
    CONFIG,
    TRACE,
)

# Topics whose consumers send poison records to <topic>.dlq (the callback service's retry
# consumers too: a record they cannot handle must not stall a retry topic).
WITH_DLQ: tuple[Topic, ...] = (
    INBOUND,
    MESSAGES,
    EVENTS,
    PUSH,
    CALLBACKS_RETRY,
    CALLBACKS_RETRY_SLOW,
    TRACE,
)


def dlq_of(topic: str) -> str:
    """The dead-letter topic of a topic named `topic`."""
    return f"{topic}.dlq"
