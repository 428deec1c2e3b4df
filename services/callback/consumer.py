"""The callback service's reader of the message path: one consumer of im.messages, im.events and
im.push together (the retry consumer is in after.py). Each idle consumer costs broker fetches,
so one reads all three; a batch may hold records of all three, and order within a partition is
kept as always (batch after batch).

Each batch goes through these steps:

1. Triage by key: every record's Kafka key starts with its SDKAppID; the app's settings
   (AppCache, parsed once per app record: `AppViews`) say whether it wants the record's topic
   at all (interest.py). A record of an app that does not is skipped without decoding its value:
   most apps configure no callback and no rule.
2. Decode what is left, once. An undecodable value is poison (returned to the bus, which puts it
   on <topic>.dlq), and so is an event that lacks a field its callback requires.
3. Plan: a message goes to both the Tencent after-callbacks (after.AfterSend) and the app's
   post-send rules of the chat stream; an event to its after-event callback; an offline push job
   to the offline-stream rules.
4. Dispatch the whole batch's deliveries at once (after.Dispatcher: inline tries, then
   im.callbacks.retry, then im.callbacks.dlq). An app server that is down is never poison.

Anything raised (the store behind AppCache, the broker taking the retry records) is an outage:
the bus retries the batch, and deliveries already made are made again (at least once, with the
same TidingsEventId).

Counts go to tidings_stage_messages_total once per batch, app (from the key; `unknown` when the
key names none) and outcome: stage `callback.messages`, `callback.events` or `callback.push`;
outcome `skipped` (the app wants nothing of the topic), `read` (decoded and planned) or
`poison`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypeVar

from google.protobuf.message import Message as ProtoMessage

from services.callback.after import AfterSend, Dispatcher
from services.callback.events import event_command, event_delivery
from services.callback.interest import NOTHING, AppView, Interest, view_of
from services.callback.rules_post import PostSendRules
from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import Poison, Record, decode
from services.common.callback_config import CallbackConfig
from services.common.callback_records import Delivery
from services.common.config_versions import ConfigVersions
from services.common.conversation import app_of_key
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import Event, Message, PushJob

M = TypeVar("M", bound=ProtoMessage)
Work = list[tuple[Delivery, CallbackConfig]]

# The one consumer of im.messages, im.events and im.push. A new group: on each partition it
# starts from the lowest offset committed there by the groups it replaces (offsets.py).
GROUP = "callback.main"
TOPICS = (topics.MESSAGES, topics.EVENTS, topics.PUSH)
PREDECESSORS: dict[topics.Topic, tuple[str, ...]] = {
    topics.MESSAGES: ("callback.after", "callback.rules.chat"),
    topics.EVENTS: ("callback.events",),
    topics.PUSH: ("callback.rules.offline",),
}

_STAGES = {
    topics.MESSAGES.name: "callback.messages",
    topics.EVENTS.name: "callback.events",
    topics.PUSH.name: "callback.push",
}


class AppViews:
    """Each app's view (interest.view_of), parsed again only when AppCache hands out a new
    record of the app (after an im.config change or its TTL)."""

    def __init__(self, apps: AppCache) -> None:
        self._apps = apps
        self._views: dict[int, AppView] = {}

    async def get(self, sdkappid: int, at_least: int = 0) -> AppView | None:
        app = await self._apps.get(sdkappid, at_least)
        if app is None:
            self._views.pop(sdkappid, None)
            return None
        view = self._views.get(sdkappid)
        if view is None or view.app is not app:
            view = view_of(app)
            self._views[sdkappid] = view
        return view


class _Count:
    """A batch's records per stage, app and outcome, counted once at the end."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, record: Record, outcome: str) -> None:
        app = app_of_key(record.key)
        stage = _STAGES.get(record.topic, record.topic)
        self._counts[(stage, str(app) if app is not None else "unknown", outcome)] += 1

    def flush(self) -> None:
        for (stage, app, outcome), n in self._counts.items():
            STAGE_MESSAGES.labels(stage, app, outcome).inc(n)


def _decode_pairs(
    records: Sequence[Record], cls: type[M]
) -> tuple[list[tuple[Record, M]], list[Poison]]:
    """bus.decode, keeping each decoded value with its record."""
    good, bad = decode(records, cls)
    failed = {id(p.record) for p in bad}
    kept = [r for r in records if id(r) not in failed]
    return list(zip(kept, good, strict=True)), bad


class CallbackConsumer:
    def __init__(
        self,
        apps: AppCache,
        after: AfterSend,
        rules: PostSendRules,
        dispatcher: Dispatcher,
        versions: ConfigVersions,
    ) -> None:
        self._views = AppViews(apps)
        self._versions = versions
        self._after = after
        self._rules = rules
        self._dispatcher = dispatcher

    async def wanted(self, records: Iterable[Record], count: _Count) -> list[Record]:
        """The records whose app wants their topic, in order; the rest are counted skipped.
        A key that names no app cannot be triaged: its record is decoded.

        The apps' configuration versions are read first, in one round trip, so that a setting
        answered before a record was produced applies to it; while Redis is down, the cached
        settings do (kept fresh by im.config)."""
        wanted: list[Record] = []
        interests: dict[int, Interest] = {}
        apps = [app for app in map(app_of_key, (r.key for r in records)) if app is not None]
        versions = await self._versions.read_or_none(apps)
        for r in records:
            app = app_of_key(r.key)
            if app is not None and app not in interests:
                view = await self._views.get(app, versions.get(app, 0))
                interests[app] = view.interest if view is not None else NOTHING
            if app is None or interests[app].wants(r.topic):
                wanted.append(r)
            else:
                count.add(r, "skipped")
        return wanted

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        """A batch of im.messages, im.events and im.push records, in any mix: every delivery
        it makes goes to one dispatch."""
        count = _Count()
        wanted = await self.wanted(records, count)
        work: Work = []
        poison: list[Poison] = []
        for topic, plan in (
            (topics.MESSAGES.name, self._messages),
            (topics.EVENTS.name, self._events),
            (topics.PUSH.name, self._push),
        ):
            of_topic = [r for r in wanted if r.topic == topic]
            if of_topic:
                poison.extend(await plan(of_topic, work, count))
        for p in poison:
            count.add(p.record, "poison")
        await self._dispatcher.dispatch(work)
        count.flush()
        return poison

    async def _messages(self, records: list[Record], work: Work, count: _Count) -> list[Poison]:
        """Each message to the Tencent after-callbacks and the chat-stream rules."""
        messages, poison = _decode_pairs(records, Message)
        for record, m in messages:
            count.add(record, "read")
            view = await self._views.get(m.sdkappid)
            if view is not None:
                work.extend(await self._after.plan(m, view))
                work.extend(await self._rules.plan(m, view, None))
        return poison

    async def _events(self, records: list[Record], work: Work, count: _Count) -> list[Poison]:
        """Each event to its after-event callback."""
        events, poison = _decode_pairs(records, Event)
        for record, event in events:
            command = event_command(event)  # None: not a callback fact (all_member_push jobs)
            view = await self._views.get(event.sdkappid) if command is not None else None
            config = view.callback(command) if view is not None and command is not None else None
            if config is not None:
                try:
                    work.append((event_delivery(event), config))
                except ValueError as err:
                    # No try could ever deliver it.
                    poison.append(Poison(record, f"unusable {event.kind} event: {err}"))
                    continue
            count.add(record, "read")
        return poison

    async def _push(self, records: list[Record], work: Work, count: _Count) -> list[Poison]:
        """Each offline push job to the offline-stream rules."""
        jobs, poison = _decode_pairs(records, PushJob)
        for record, job in jobs:
            count.add(record, "read")
            view = await self._views.get(job.message.sdkappid)
            if view is not None:
                work.extend(await self._rules.plan(job.message, view, job.user))
        return poison
