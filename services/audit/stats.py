"""Daily statistics per app: what the records of im.messages, im.events and im.trace add to the
stats store (services/common/store/stats.py). The faust agents (stats_stream.py) hand each
batch here with each record's source (topic:partition) and offset.

Every effect is idempotent, so the batch after the last committed offset, replayed after a
crash, counts once: members are set rows; a counter skips records at or below the offset its
row already includes; a user's session count skips state changes at or below its own offset
(one user's changes share a partition: im.events is keyed app:user); a group's life is keyed
by its creation time. What this class holds in memory is a cache of the store, loaded on
first use, and `seen` (a faust table: members already written, to spare the store repeated
writes; a member missing from it is merely written again).

Peak online: a user is online while they have at least one session. A Login adds one and
removes one per KickedDevice (the sessions it pushed out send no state change of their own);
a Logout or Disconnect removes one. The peak of a day is the most users online at once, the
count carried over from the day before included. A REST kick sends no state change, so a
user kicked that way counts as online until their next logout or disconnect.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from google.protobuf.message import DecodeError

from services.common import events, trace
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    Event,
    Message,
    TraceEvent,
)
from services.common.store import stats
from services.common.store.stats import (
    PEAK,
    GroupLife,
    MemberRow,
    SessionRow,
    StatsStore,
    ValueRow,
    day_of,
)

log = get_logger(__name__)

Parsed = TypeVar("Parsed", Message, Event, TraceEvent)


@dataclass(frozen=True, slots=True)
class Record:
    """A record as consumed: where it came from, and its bytes."""

    source: str
    offset: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Hit:
    """One record counted once in a counter."""

    sdkappid: int
    day: str
    metric: str
    source: str
    offset: int


@dataclass(frozen=True, slots=True)
class StateChange:
    sdkappid: int
    user: str
    login: bool
    kicked: int
    time_ms: int
    source: str
    offset: int

    @property
    def day(self) -> str:
        return day_of(self.time_ms)


# --- pure: what one record means ------------------------------------------------------------


def counts_as_message(m: Message) -> bool:
    """A new message someone sent: not a recall, edit, notification or deletion, nor an
    imported one (import_msg with SyncFromOldSystem=2 is silent)."""
    return m.kind == MESSAGE_KIND_MESSAGE and not m.silent


def message_facts(m: Message, source: str, offset: int) -> tuple[Hit, list[MemberRow]]:
    day = day_of(m.server_time_ms)
    group = m.chat_type == CHAT_TYPE_GROUP
    metric = stats.GROUP_MESSAGES if group else stats.C2C_MESSAGES
    members = [
        MemberRow(m.sdkappid, day, stats.SENDERS, m.sender),
        MemberRow(m.sdkappid, day, stats.ACTIVE_USERS, m.sender),
    ]
    if group:
        members.append(MemberRow(m.sdkappid, day, stats.ACTIVE_GROUPS, m.group_id))
    return Hit(m.sdkappid, day, metric, source, offset), members


def state_change(e: Event, payload: dict[str, Any], source: str, offset: int) -> StateChange | None:
    info = payload.get("Info")
    if not isinstance(info, dict):
        return None
    action, user = info.get("Action"), info.get("To_Account")
    if not isinstance(user, str) or not user:
        return None
    if action == events.STATE_LOGIN:
        kicked = payload.get("KickedDevice")
        n = len(kicked) if isinstance(kicked, list) else 0
        return StateChange(e.sdkappid, user, True, n, e.time_ms, source, offset)
    if action in (events.STATE_LOGOUT, events.STATE_DISCONNECT):
        return StateChange(e.sdkappid, user, False, 0, e.time_ms, source, offset)
    return None


def imported_accounts(e: Event, payload: dict[str, Any]) -> list[MemberRow]:
    accounts = payload.get("Accounts")
    if not isinstance(accounts, list):
        return []
    day = day_of(e.time_ms)
    return [
        MemberRow(e.sdkappid, day, stats.NEW_USERS, a["UserID"])
        for a in accounts
        if isinstance(a, dict) and isinstance(a.get("UserID"), str)
    ]


def trace_metric(t: TraceEvent) -> str | None:
    if t.event == trace.PUSH:
        return stats.PUSHES_SENT if t.code == 0 else stats.PUSHES_FAILED
    if t.event == trace.CALLBACK:
        return stats.CALLBACKS_OK if t.code == 0 else stats.CALLBACKS_FAILED
    return None


def sessions_after(sessions: int, change: StateChange) -> int:
    if change.login:
        # The user is online now, whatever was missed before.
        return max(1, sessions + 1 - change.kicked)
    return max(0, sessions - 1)


def member_key(row: MemberRow) -> str:
    return f"{row.sdkappid}|{row.day}|{row.metric}|{row.member}"


# --- the store, idempotently ----------------------------------------------------------------


class Counters:
    """Counter rows per (app, day, metric, source), cached after their first read."""

    def __init__(self, store: StatsStore) -> None:
        self._store = store
        self._rows: dict[tuple[int, str, str, str], ValueRow] = {}

    async def add(self, hits: Sequence[Hit]) -> None:
        keys = {(h.sdkappid, h.day, h.metric, h.source) for h in hits}
        for key in keys - self._rows.keys():
            row = await self._store.value(*key)
            self._rows[key] = row or ValueRow(*key, value=0, upto=-1)
        changed: dict[tuple[int, str, str, str], ValueRow] = {}
        for h in hits:
            key = (h.sdkappid, h.day, h.metric, h.source)
            row = changed.get(key) or self._rows[key]
            if h.offset > row.upto:
                changed[key] = replace(row, value=row.value + 1, upto=h.offset)
        if changed:
            await self._store.put_values(list(changed.values()))
            self._rows.update(changed)

    def forget_before(self, day: str) -> None:
        self._rows = {k: v for k, v in self._rows.items() if k[1] >= day}


class Online:
    """Users with a session, per app, and each day's peak of them."""

    def __init__(self, store: StatsStore) -> None:
        self._store = store
        self._users: dict[int, dict[str, SessionRow]] = {}
        self._online: dict[int, int] = {}
        self._peaks: dict[tuple[int, str], int] = {}
        # The peaks as the store has them.
        self._written: dict[tuple[int, str], int] = {}

    async def _load(self, sdkappid: int, day: str) -> None:
        if sdkappid not in self._users:
            rows = await self._store.sessions(sdkappid)
            self._users[sdkappid] = {r.user: r for r in rows}
            self._online[sdkappid] = sum(r.sessions > 0 for r in rows)
        if (sdkappid, day) not in self._peaks:
            row = await self._store.value(sdkappid, day, stats.PEAK_ONLINE, PEAK)
            self._written[(sdkappid, day)] = row.value if row else 0
            # A day's peak is at least the count it starts with.
            self._peaks[(sdkappid, day)] = max(row.value if row else 0, self._online[sdkappid])

    async def apply(self, changes: Sequence[StateChange]) -> None:
        for c in changes:
            await self._load(c.sdkappid, c.day)
        sessions: dict[tuple[int, str], SessionRow] = {}
        peaks: dict[tuple[int, str], int] = {}
        online = dict(self._online)
        # In time order: a batch holds several partitions' records one partition after the
        # other, and the peak depends on how the users' logins and logouts interleave. A
        # change is new when its offset is above what the store had before this batch.
        for c in sorted(changes, key=lambda c: c.time_ms):
            stored = self._users[c.sdkappid].get(c.user)
            if stored is not None and stored.source == c.source and c.offset <= stored.upto:
                continue
            row = sessions.get((c.sdkappid, c.user)) or stored
            before = row.sessions if row else 0
            after = sessions_after(before, c)
            upto = max(c.offset, row.upto if row and row.source == c.source else -1)
            sessions[(c.sdkappid, c.user)] = SessionRow(c.sdkappid, c.user, after, c.source, upto)
            online[c.sdkappid] += (after > 0) - (before > 0)
            peak = max(
                peaks.get((c.sdkappid, c.day), self._peaks[(c.sdkappid, c.day)]), online[c.sdkappid]
            )
            peaks[(c.sdkappid, c.day)] = peak
        if sessions:
            await self._store.put_sessions(list(sessions.values()))
        raised = [
            ValueRow(app, day, stats.PEAK_ONLINE, PEAK, value)
            for (app, day), value in peaks.items()
            if value > self._written[(app, day)]
        ]
        if raised:
            await self._store.put_values(raised)
        for (app, user), row in sessions.items():
            self._users[app][user] = row
        self._online = online
        self._peaks.update(peaks)
        self._written.update(((r.sdkappid, r.day), r.value) for r in raised)

    def forget_before(self, day: str) -> None:
        self._peaks = {k: v for k, v in self._peaks.items() if k[1] >= day}
        self._written = {k: v for k, v in self._written.items() if k[1] >= day}


class StatsAggregator:
    def __init__(self, store: StatsStore, seen: MutableMapping[str, bool]) -> None:
        self._store = store
        self._seen = seen
        self._counters = Counters(store)
        self._online = Online(store)
        self._latest_day = ""

    async def _add_members(self, rows: Sequence[MemberRow]) -> None:
        fresh = list({member_key(r): r for r in rows if member_key(r) not in self._seen}.items())
        if fresh:
            await self._store.add_members([r for _, r in fresh])
            for key, _ in fresh:
                self._seen[key] = True

    def _days(self, days: Sequence[str]) -> None:
        """Forget what concerns days before yesterday, once a new day begins."""
        latest = max(days, default="")
        if latest <= self._latest_day:
            return
        self._latest_day = latest
        yesterday = stats.day_of(stats.day_start_ms(latest) - stats.DAY_MS)
        self._counters.forget_before(yesterday)
        self._online.forget_before(yesterday)
        for key in [k for k in self._seen if k.split("|", 2)[1] < yesterday]:
            del self._seen[key]

    async def on_messages(self, records: Sequence[Record]) -> None:
        hits: list[Hit] = []
        members: list[MemberRow] = []
        for r in records:
            m = _parse(Message, r)
            if m is None or not counts_as_message(m):
                continue
            hit, rows = message_facts(m, r.source, r.offset)
            hits.append(hit)
            members.extend(rows)
        await self._add_members(members)
        await self._counters.add(hits)
        self._days([h.day for h in hits])

    async def on_events(self, records: Sequence[Record]) -> None:
        members: list[MemberRow] = []
        changes: list[StateChange] = []
        for r in records:
            e = _parse(Event, r)
            if e is None:
                continue
            try:
                payload = events.payload_of(e)
            except ValueError as exc:
                log.warning(
                    "stats_record_skipped", source=r.source, offset=r.offset, error=str(exc)
                )
                continue
            if e.kind == events.STATE_CHANGED:
                change = state_change(e, payload, r.source, r.offset)
                if change is not None:
                    changes.append(change)
                    if change.login:
                        members.append(
                            MemberRow(e.sdkappid, change.day, stats.ACTIVE_USERS, change.user)
                        )
            elif e.kind == events.ACCOUNTS_IMPORTED:
                members.extend(imported_accounts(e, payload))
            elif e.kind in (events.GROUP_CREATED, events.GROUP_IMPORTED):
                group_id = payload.get("GroupId")
                if isinstance(group_id, str):
                    await self._store.group_created(GroupLife(e.sdkappid, group_id, e.time_ms))
            elif e.kind == events.GROUP_DESTROYED:
                group_id = payload.get("GroupId")
                if isinstance(group_id, str):
                    await self._store.group_destroyed(e.sdkappid, group_id, e.time_ms)
        await self._add_members(members)
        await self._online.apply(changes)
        self._days([c.day for c in changes])

    async def on_traces(self, records: Sequence[Record]) -> None:
        hits: list[Hit] = []
        for r in records:
            t = _parse(TraceEvent, r)
            metric = trace_metric(t) if t is not None else None
            if t is not None and metric is not None:
                hits.append(Hit(t.sdkappid, day_of(t.time_ms), metric, r.source, r.offset))
        await self._counters.add(hits)
        self._days([h.day for h in hits])


def _parse(kind: type[Parsed], r: Record) -> Parsed | None:
    """The record's message, or None (logged) for bytes that are not one: a poison record
    must not stop the statistics."""
    try:
        return kind.FromString(r.value)
    except DecodeError as exc:
        log.warning("stats_record_skipped", source=r.source, offset=r.offset, error=str(exc))
        return None
