"""The troubleshooting event log (Tencent's 关键事件排障): the key events of an app from im.trace,
kept 7 days and searched by time range plus event, user, receiver, group and error code.

A record's id is a digest of its deterministic bytes, so a record replayed after a crash lands
on the row it already wrote. Results come newest first, in (time_ms, id) order descending; a
page ends at a position, handed to the caller as an opaque cursor. The rules of a search (the
range must start within the 7 days kept, pages of at most 100) are checked here, before any
store is read, for the admin API and the CLI alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent

DAY_MS = 86_400_000
RETENTION_DAYS = 7
RETENTION_MS = RETENTION_DAYS * DAY_MS
# A range may start this much before the oldest kept moment: a caller's "7 days ago" is
# computed a little before the check runs.
CLOCK_SLACK_MS = 60_000
MAX_PAGE = 100
DEFAULT_PAGE = 20
# UserIDs are at most 32 bytes and GroupIDs 48 (Tencent); a filter longer than this matches
# nothing and is refused instead.
MAX_FILTER_LEN = 128
_INT32 = 2**31

_RECORD_ID = re.compile(r"[0-9a-f]{24}")
# Unix ms up to the year 2286: what a store can bind.
_TIME_MS = re.compile(r"[0-9]{1,13}")
_CURSOR_VERSION = "1"


class TraceQueryError(ValueError):
    """A search refused before any store is read; the message says why."""


def record_id(event: TraceEvent) -> str:
    """The record's identity: the same event produced twice (or replayed) has the same id."""
    return hashlib.blake2b(event.SerializeToString(deterministic=True), digest_size=12).hexdigest()


def day_of(time_ms: int) -> int:
    """The UTC day number of a time (days since the epoch)."""
    return time_ms // DAY_MS


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a page ended: the last record listed, by time and then id."""

    time_ms: int
    record_id: str


def encode_cursor(position: Position) -> str:
    raw = f"{_CURSOR_VERSION}.{position.time_ms}.{position.record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    bad = TraceQueryError("cursor is not one that a search of this server returned")
    if len(cursor) > 64:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    parts = raw.split(".")
    if (
        len(parts) != 3
        or parts[0] != _CURSOR_VERSION
        or not _TIME_MS.fullmatch(parts[1])
        or not _RECORD_ID.fullmatch(parts[2])
    ):
        raise bad
    return Position(int(parts[1]), parts[2])


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """A checked search: one app, a range within the kept days (both ends inclusive), the
    filters that are set ("" and None match everything), a page size and where to resume."""

    sdkappid: int
    since_ms: int
    until_ms: int
    event: str = ""
    user: str = ""
    peer: str = ""
    group_id: str = ""
    code: int | None = None
    limit: int = DEFAULT_PAGE
    after: Position | None = None

    @property
    def filtered(self) -> bool:
        return bool(self.event or self.user or self.peer or self.group_id or self.code is not None)

    def matches(self, e: TraceEvent) -> bool:
        """Whether a record in the range passes the filters."""
        return (
            (not self.event or e.event == self.event)
            and (not self.user or e.user == self.user)
            and (not self.peer or e.peer == self.peer)
            and (not self.group_id or e.group_id == self.group_id)
            and (self.code is None or e.code == self.code)
        )


def build_query(
    sdkappid: int,
    since_ms: int,
    until_ms: int | None,
    now_ms: int,
    *,
    event: str = "",
    user: str = "",
    peer: str = "",
    group_id: str = "",
    code: int | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str = "",
) -> TraceQuery:
    """The search asked for, checked and bounded: `since_ms` no earlier than 7 days before
    `now_ms` (then raised to the oldest kept moment), `until_ms` (now when None) not before it
    (and lowered to now: nothing is traced in the future)."""
    oldest = now_ms - RETENTION_MS
    if since_ms < oldest - CLOCK_SLACK_MS:
        raise TraceQueryError(
            f"since {since_ms} is more than {RETENTION_DAYS} days ago: events are kept"
            f" {RETENTION_DAYS} days, so the earliest is {oldest}"
        )
    until = now_ms if until_ms is None else min(until_ms, now_ms + CLOCK_SLACK_MS)
    if until < since_ms:
        raise TraceQueryError(f"until {until} is before since {since_ms}")
    if event and event not in trace.KINDS:
        raise TraceQueryError(f"event {event!r} is not one of {', '.join(trace.KINDS)}")
    for name, value in (("user", user), ("peer", peer), ("group", group_id)):
        if len(value) > MAX_FILTER_LEN:
            raise TraceQueryError(f"{name} is longer than {MAX_FILTER_LEN} characters")
    if code is not None and not -_INT32 <= code < _INT32:
        raise TraceQueryError(f"code {code} is not a 32-bit integer")
    if not 1 <= limit <= MAX_PAGE:
        raise TraceQueryError(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    return TraceQuery(
        sdkappid=sdkappid,
        since_ms=max(since_ms, oldest),
        until_ms=until,
        event=event,
        user=user,
        peer=peer,
        group_id=group_id,
        code=code,
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
    )


@dataclass(frozen=True, slots=True)
class TracePage:
    events: list[TraceEvent]
    # Pass back as `cursor` for the next page; "" when nothing follows.
    next_cursor: str = ""


def writable(events: Sequence[TraceEvent], now_ms: int) -> list[TraceEvent]:
    """The records worth storing: those still inside the kept days (a replay of old records
    must not bring them back)."""
    return [e for e in events if e.time_ms >= now_ms - RETENTION_MS]


class TraceStore(Protocol):
    async def append(self, events: Sequence[TraceEvent]) -> None:
        """Store the records, each once however often it is appended (keyed by record_id);
        records already past the 7 days kept are dropped."""

    async def search(self, query: TraceQuery) -> TracePage:
        """The app's records in the query's range that pass its filters, newest first (time,
        then id, descending), below the query's cursor, at most `limit`."""

    async def expire(self, before_ms: int) -> int:
        """Delete records older than before_ms; how many went (0 where the store expires rows
        by itself)."""
