"""After-callbacks of im.messages, at least once: C2C.CallbackAfterSendMsg and
Group.CallbackAfterSendMsg for new messages, C2C.CallbackAfterMsgWithDraw and
Group.CallbackAfterRecallMsg for recalls. (Those of im.events are in events.py, and share the
delivery path here.)

`AfterSend` plans the callbacks of one decoded message (services/callback/consumer.py reads the
records). `Dispatcher` tries each callback a few times inline, within a small time budget, so a
slow app server never holds a partition of im.messages (or im.events, im.push) for long; what
still fails goes to im.callbacks.retry. `RetryWorker` tries those again when each is due, with a
longer backoff: one worker per retry topic (group "callback.retry" for the first tries,
"callback.retry.slow" for the later, longer waits: services/callback/retry.py), each moving a
callback to the topic of its next try, and one that used up its tries to im.callbacks.dlq, from
which an operator replays it (services/common/callback_replay.py).

Every body carries `TidingsEventId` (app:conversation:seq:command), the same on every try and
every replay, so an app server can drop a callback it has already handled.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from aiokafka import AIOKafkaProducer
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from services.callback.groups import GroupTypes
from services.callback.poster import CallbackFailure, Poster, Request
from services.callback.retry import Breaker, retry_delay_s, retry_topic
from services.callback.rules_body import rule_target, signed
from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import Poison, Record, send_all
from services.common.callback_config import (
    C2C_AFTER_SEND,
    GROUP_AFTER_SEND,
    CallbackConfig,
    config_of,
)
from services.common.callback_records import Delivery
from services.common.callback_rules import rules_of
from services.common.logging import get_logger
from services.common.metrics import CALLBACK_REQUESTS, DLQ_RECORDS
from services.common.msgbody import msg_body_json
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_UNSPECIFIED,
    SOURCE_REST,
    Message,
)

if TYPE_CHECKING:
    from services.callback.interest import AppView

log = get_logger(__name__)

T = TypeVar("T")
# A user's unread C2C messages over every conversation (services/common/unread.py).
UnreadCount = Callable[[int, str], Awaitable[int]]

EVENT_ID_FIELD = "TidingsEventId"
INLINE_ATTEMPTS = 3
# The most one batch of im.messages waits for app servers before the rest goes to the retry
# topic.
INLINE_BUDGET_S = 5.0
# Callbacks in flight at once per batch.
CONCURRENCY = 64
RETRY_GROUP = "callback.retry"
C2C_WITHDRAW = "C2C.CallbackAfterMsgWithDraw"
GROUP_RECALL = "Group.CallbackAfterRecallMsg"

_COMMANDS = {
    (MESSAGE_KIND_MESSAGE, CHAT_TYPE_C2C): C2C_AFTER_SEND,
    (MESSAGE_KIND_MESSAGE, CHAT_TYPE_GROUP): GROUP_AFTER_SEND,
    (MESSAGE_KIND_RECALL, CHAT_TYPE_C2C): C2C_WITHDRAW,
    (MESSAGE_KIND_RECALL, CHAT_TYPE_GROUP): GROUP_RECALL,
}
# The after-callbacks of im.messages records.
MESSAGE_COMMANDS = frozenset(_COMMANDS.values())


def retry_group(topic: topics.Topic) -> str:
    """The consumer group of a retry topic: callback.retry, callback.retry.slow."""
    return RETRY_GROUP + topic.name.removeprefix(topics.CALLBACKS_RETRY.name)


def after_command(m: Message) -> str | None:
    """New messages, but not imported ones (Tencent's import API triggers no callbacks) or
    those sent with ForbidAfterSendMsgCallback, and recalls."""
    if m.silent or m.forbid_after_callback:
        return None
    kind = MESSAGE_KIND_MESSAGE if m.kind == MESSAGE_KIND_UNSPECIFIED else m.kind
    return _COMMANDS.get((kind, m.chat_type))


def event_id(m: Message, command: str) -> str:
    return f"{m.sdkappid}:{m.conversation}:{m.seq}:{command}"


def after_body(m: Message, command: str, group_type: str) -> dict[str, Any]:
    common = {
        "MsgSeq": m.seq,
        "MsgTime": m.server_time_ms // 1000,
        "OnlineOnlyFlag": 0,
        "MsgBody": msg_body_json(m.elements),
        "CloudCustomData": m.cloud_custom_data,
        "EventTime": m.server_time_ms,
        EVENT_ID_FIELD: event_id(m, command),
    }
    if command == C2C_AFTER_SEND:
        return {
            "CallbackCommand": command,
            "From_Account": m.sender,
            "To_Account": m.to_user,
            "MsgRandom": m.msg_random,
            "MsgKey": m.msg_key,
            # The message is in im.messages: it was sent.
            "SendMsgResult": 0,
            "ErrorInfo": "send msg succeed",
            **common,
        }
    return {
        "CallbackCommand": command,
        "GroupId": m.group_id,
        "Type": group_type,
        "From_Account": m.sender,
        # Tidings does not keep which admin made a REST request, so the sender stands in.
        "Operator_Account": m.sender,
        "Random": m.msg_random,
        **common,
    }


def withdraw_body(m: Message, event_id: str, unread_msg_num: int) -> dict[str, Any]:
    """C2C.CallbackAfterMsgWithDraw, from a C2C recall record (its seq is the recalled one's).
    UnreadMsgNum (To_Account's unread C2C messages, all conversations) is in Tencent's earlier
    reference and gone from its latest; it is kept for the app servers that read it."""
    return {
        "CallbackCommand": C2C_WITHDRAW,
        "From_Account": m.sender,
        "To_Account": m.to_user,
        "MsgKey": m.target_msg_key,
        "UnreadMsgNum": unread_msg_num,
        "EventTime": m.server_time_ms,
        EVENT_ID_FIELD: event_id,
    }


def group_recall_body(m: Message, group_type: str, event_id: str) -> dict[str, Any]:
    """Group.CallbackAfterRecallMsg, from a group recall record. Tidings does not keep who
    recalled a message, so its sender stands in for Operator_Account; TopicId is only for
    topic communities, which Tidings does not have."""
    return {
        "CallbackCommand": GROUP_RECALL,
        "GroupId": m.group_id,
        "Type": group_type,
        "Operator_Account": m.sender,
        "MsgSeqList": [{"MsgSeq": m.seq}],
        "EventTime": m.server_time_ms,
        EVENT_ID_FIELD: event_id,
    }


def message_body(m: Message, command: str, group_type: str, unread_msg_num: int) -> dict[str, Any]:
    eid = event_id(m, command)
    if command == C2C_WITHDRAW:
        return withdraw_body(m, eid, unread_msg_num)
    if command == GROUP_RECALL:
        return group_recall_body(m, group_type, eid)
    return after_body(m, command, group_type)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Tally:
    """The callback outcomes of one batch, counted into tidings_callback_requests_total once
    per app, command and outcome (labels() costs more than the count itself)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[int, str, str]] = Counter()

    def add(self, sdkappid: int, command: str, outcome: str, n: int = 1) -> None:
        self._counts[(sdkappid, command, outcome)] += n

    def flush(self) -> None:
        for (sdkappid, command, outcome), n in self._counts.items():
            CALLBACK_REQUESTS.labels(str(sdkappid), command, outcome).inc(n)
        self._counts.clear()


class Deliverer:
    """One try of one delivery, with its metrics and the per-app breaker."""

    def __init__(self, apps: AppCache, poster: Poster, breaker: Breaker) -> None:
        self.apps = apps
        self._poster = poster
        self.breaker = breaker
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def limited(self, work: Awaitable[T]) -> T:
        async with self._limit:
            return await work

    async def config(self, sdkappid: int, command: str) -> CallbackConfig | None:
        app = await self.apps.get(sdkappid)
        config = config_of(app) if app else None
        return config if config is not None and config.enabled(command) else None

    async def target(self, d: Delivery) -> CallbackConfig | None:
        """Where a delivery goes now: the app's callback, or its post-send rule of that name
        (as a CallbackConfig whose token is the rule's secret)."""
        if not d.rule:
            return await self.config(d.sdkappid, d.command)
        app = await self.apps.get(d.sdkappid)
        rule = rules_of(app).post_send_rule(d.rule) if app else None
        return rule_target(rule) if rule is not None and rule.enabled else None

    async def post(
        self, d: Delivery, config: CallbackConfig, timeout_s: float, tally: Tally, attempt: int
    ) -> None:
        req = Request(d.sdkappid, d.command, d.body, d.client_ip, d.platform, attempt)
        try:
            if d.rule:
                await self._poster.post_plain(
                    config.url,
                    signed(d.body, config.token),
                    d.command,
                    timeout_s,
                    sdkappid=d.sdkappid,
                    attempt=attempt,
                )
            else:
                await self._poster.post(config, req, timeout_s)
        except CallbackFailure as failure:
            tally.add(d.sdkappid, d.command, failure.outcome)
            self.breaker.record(d.sdkappid, ok=False, now=time.monotonic())
            d.error = failure.detail
            raise
        tally.add(d.sdkappid, d.command, "delivered")
        self.breaker.record(d.sdkappid, ok=True, now=time.monotonic())


class Dispatcher:
    """Delivers a batch's callbacks inline, and queues those that failed on the retry topic."""

    def __init__(
        self, deliverer: Deliverer, producer: AIOKafkaProducer, retry_base_s: float
    ) -> None:
        self._deliverer = deliverer
        self._producer = producer
        self._retry_base_s = retry_base_s

    async def dispatch(self, work: Sequence[tuple[Delivery, CallbackConfig]]) -> None:
        """Try every delivery of `work` inline; put those that failed on the retry topic.
        Raises only when that produce fails (an outage: the batch is retried)."""
        if not work:
            return
        tally = Tally()
        try:
            delivered = await asyncio.gather(
                *(self._deliverer.limited(self._inline(d, c, tally)) for d, c in work)
            )
            failed = [d for (d, _), ok in zip(work, delivered, strict=True) if not ok]
            if not failed:
                return
            now = _now_ms()
            for d in failed:
                d.next_attempt_ms = now + int(
                    retry_delay_s(1, self._retry_base_s, random.random()) * 1000
                )
            await send_all(
                self._producer, topics.CALLBACKS_RETRY.name, [(d.key, d.encode()) for d in failed]
            )
            for d in failed:
                tally.add(d.sdkappid, d.command, "retried")
        finally:
            tally.flush()

    async def _inline(self, d: Delivery, config: CallbackConfig, tally: Tally) -> bool:
        if not self._deliverer.breaker.allows(d.sdkappid, time.monotonic()):
            d.error = "the app server failed repeatedly just now; queued for retry"
            return False
        deadline = time.monotonic() + INLINE_BUDGET_S
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(INLINE_ATTEMPTS) | stop_after_delay(INLINE_BUDGET_S),
                wait=wait_random_exponential(multiplier=0.1, max=1.0),
                retry=retry_if_exception_type(CallbackFailure),
                reraise=True,
            ):
                with attempt:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise CallbackFailure("timeout", "the inline retry budget is spent")
                    await self._deliverer.post(
                        d,
                        config,
                        min(config.timeout_s, remaining),
                        tally,
                        attempt.retry_state.attempt_number,
                    )
        except CallbackFailure:
            return False
        return True


class AfterSend:
    """The Tencent after-callbacks of im.messages records: what to deliver for one message of
    an app (services/callback/consumer.py reads and decodes the records)."""

    def __init__(self, groups: GroupTypes, unread: UnreadCount) -> None:
        self._groups = groups
        self._unread = unread

    async def _unread_of(self, sdkappid: int, user: str) -> int:
        try:
            return await self._unread(sdkappid, user)
        except grpc.aio.AioRpcError as err:
            # The recall stands and its callback goes out; only the count is missing.
            log.warning("unread count failed", app=sdkappid, user=user, error=err.details())
            return 0

    async def plan(self, m: Message, view: AppView) -> list[tuple[Delivery, CallbackConfig]]:
        command = after_command(m)
        config = view.callback(command) if command else None
        if command is None or config is None:
            return []
        group_type = (
            await self._groups.type_of(m.sdkappid, m.group_id)
            if m.chat_type == CHAT_TYPE_GROUP
            else ""
        )
        unread = await self._unread_of(m.sdkappid, m.to_user) if command == C2C_WITHDRAW else 0
        delivery = Delivery(
            sdkappid=m.sdkappid,
            event_id=event_id(m, command),
            command=command,
            body=message_body(m, command, group_type, unread),
            client_ip=m.client_ip,
            platform="RESTAPI" if m.source == SOURCE_REST else m.platform,
        )
        return [(delivery, config)]


class RetryWorker:
    def __init__(
        self,
        topic: topics.Topic,
        deliverer: Deliverer,
        producer: AIOKafkaProducer,
        attempts: int,
        base_s: float,
        stop: asyncio.Event,
    ) -> None:
        self.topic = topic
        self._deliverer = deliverer
        self._producer = producer
        self._attempts = attempts
        self._base_s = base_s
        self._stop = stop

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        pending: list[Delivery] = []
        poison: list[Poison] = []
        for record in records:
            try:
                pending.append(Delivery.decode(record.value))
            except ValueError as err:
                # Nothing could ever deliver it; keeping it would only block the topic.
                poison.append(Poison(record, f"unreadable callback retry record: {err}"))
        while pending:
            now = _now_ms()
            due = [d for d in pending if d.next_attempt_ms <= now]
            if not due:
                wait_s = (min(d.next_attempt_ms for d in pending) - now) / 1000
                if await self._stopping(wait_s):
                    # Shutting down: hand the rest back to the topic as they are.
                    await self._produce(self.topic.name, pending)
                    return poison
                continue
            pending = [d for d in pending if d.next_attempt_ms > now]
            # Counted once per round of tries (the batch waits between rounds).
            tally = Tally()
            try:
                delivered = await asyncio.gather(
                    *(self._deliverer.limited(self._try(d, tally)) for d in due)
                )
                await self._settle(
                    [d for d, ok in zip(due, delivered, strict=True) if not ok], tally
                )
            finally:
                tally.flush()
        return poison

    async def _try(self, d: Delivery, tally: Tally) -> bool:
        # The app's configuration now: a URL changed since the first try applies at once.
        config = await self._deliverer.target(d)
        if config is None:
            log.info("callback no longer enabled; not retried", app=d.sdkappid, event_id=d.event_id)
            return True
        try:
            # Numbered after the inline tries (a replayed delivery starts again from there).
            await self._deliverer.post(
                d, config, config.timeout_s, tally, INLINE_ATTEMPTS + d.attempts + 1
            )
        except CallbackFailure:
            return False
        return True

    async def _settle(self, failed: list[Delivery], tally: Tally) -> None:
        now = _now_ms()
        again: list[Delivery] = []
        dead: list[Delivery] = []
        for d in failed:
            d.attempts += 1
            if d.attempts >= self._attempts:
                d.failed_at_ms = now
                dead.append(d)
                log.error(
                    "callback dead-lettered",
                    app=d.sdkappid,
                    event_id=d.event_id,
                    attempts=d.attempts,
                    error=d.error,
                )
            else:
                delay_s = retry_delay_s(d.attempts + 1, self._base_s, random.random())
                d.next_attempt_ms = now + int(delay_s * 1000)
                again.append(d)
        by_topic: dict[str, list[Delivery]] = {}
        for d in again:
            by_topic.setdefault(retry_topic(d.attempts + 1).name, []).append(d)
        for topic_name, deliveries in by_topic.items():
            await self._produce(topic_name, deliveries)
        await self._produce(topics.CALLBACKS_DLQ.name, dead)
        for d in again:
            tally.add(d.sdkappid, d.command, "retried")
        for d in dead:
            tally.add(d.sdkappid, d.command, "dlq")
        if dead:
            DLQ_RECORDS.labels(retry_group(self.topic), self.topic.name).inc(len(dead))

    async def _produce(self, topic: str, deliveries: list[Delivery]) -> None:
        await send_all(self._producer, topic, [(d.key, d.encode()) for d in deliveries])

    async def _stopping(self, wait_s: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, wait_s))
        except TimeoutError:
            return False
        return True
