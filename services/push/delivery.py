"""im.push -> the phones: one consumer step that decides (notify.py), sends through the vendor
adapters, retries, and removes the tokens that vendors refuse.

A batch of push jobs is handled in four steps:
1. decode: a record that is no PushJob is poison (its DLQ keeps it);
2. load: per app, the app record (templates, credentials), the recipients' devices, settings and
   mutes, the senders' nicknames and the groups' names: a few store reads per app and batch,
   not per job;
3. decide: per job, nothing and why, or one notification per device (pure, notify.py);
4. send: every notification of the batch at once (bounded by `push_concurrency`), each tried
   up to `push_max_attempts` times while the vendor says it is worth another try, waiting the
   vendor's Retry-After or an exponential backoff; a token the vendor calls invalid is
   removed from whoever holds it.

The consumer commits a batch only when every send of it has an outcome, so a crash (kill -9)
mid-batch sends the batch again after the restart, with the same collapse id per message, and a
device shows each message once. A push that runs out of tries is counted `failed` and dropped:
a notification hours late is worse than none, and the message itself waits in history.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.common.app_cache import AppCache
from services.common.bus import Poison, Record
from services.common.logging import get_logger
from services.common.metrics import PUSH_LATENCY, PUSH_SENT, PUSH_SKIPPED, STAGE_LATENCY
from services.common.offline_push import OfflinePush, OfflinePushError
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_C2C, Message, PushJob
from services.common.push_badge import next_badges
from services.common.push_config import templates_of
from services.common.store.ports import Stores
from services.common.store.push_devices import Device
from services.push.adapters import Adapters
from services.push.notify import Names, Recipient, notifications, skip_reason
from services.push.vendors.base import Notification, VendorAdapter, VendorError

log = get_logger(__name__)

# Outcomes of one device's push (the `outcome` label of tidings_push_total).
SENT = "sent"
FAILED = "failed"
RETRIED = "retried"
TOKEN_INVALID = "token_invalid"
NO_CREDENTIALS = "no_credentials"
OUTCOMES = (SENT, FAILED, RETRIED, TOKEN_INVALID, NO_CREDENTIALS)
# Reasons a whole job sends nothing, beside notify.skip_reason's.
NO_APP = "no_app"
NICK_TAG = "nick"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    base_s: float = 0.5
    max_wait_s: float = 10.0


@dataclass(slots=True)
class DeviceOutcome:
    vendor: str
    token: str
    outcome: str
    vendor_code: str = ""


@dataclass(slots=True)
class JobOutcome:
    """What became of one job: why nothing went out, or each device's outcome."""

    sdkappid: int
    user: str
    skipped: str | None = None
    devices: list[DeviceOutcome] = field(default_factory=list)
    template_error: str | None = None


# Told each job's outcome once every device has one, with the time then (ms): the trace
# (services/push/tracing.py).
OutcomeObserver = Callable[[PushJob, JobOutcome, float], None]


def decode_jobs(records: Sequence[Record]) -> tuple[list[PushJob], list[Poison]]:
    jobs: list[PushJob] = []
    poison: list[Poison] = []
    for record in records:
        try:
            job = PushJob.FromString(record.value or b"")
        except DecodeError as exc:
            poison.append(Poison(record, f"undecodable PushJob: {exc}"))
            continue
        if not job.user or not job.sdkappid:
            poison.append(Poison(record, "a PushJob names no user or no app"))
            continue
        jobs.append(job)
    return jobs, poison


def offline_push_of(message: Message) -> OfflinePush:
    """The message's OfflinePushInfo; the gateway checked it, so one that does not parse is
    a bug elsewhere: logged, and the push goes out as if none was given."""
    try:
        return OfflinePush.from_json(message.offline_push_json)
    except OfflinePushError as exc:
        log.warning("offline_push_unusable", app=message.sdkappid, error=str(exc))
        return OfflinePush()


def _vendor_wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(multiplier=policy.base_s, max=policy.max_wait_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, VendorError) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, policy.max_wait_s)
        return backoff(state)

    return wait


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, VendorError) and exc.retryable


async def send_with_retries(
    call: Callable[[Notification], Awaitable[None]],
    notification: Notification,
    policy: RetryPolicy,
    on_retry: Callable[[], None],
) -> None:
    """`call` until it returns, or raises a VendorError that is not worth another try, or has
    been tried policy.max_attempts times (the last error is raised)."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_vendor_wait(policy),
        retry=retry_if_exception(_retryable),
        before_sleep=lambda _: on_retry(),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await call(notification)


@dataclass(slots=True)
class _Send:
    job: JobOutcome
    device: Device
    notification: Notification
    adapter: VendorAdapter | None


class PushDelivery:
    def __init__(
        self,
        stores: Stores,
        apps: AppCache,
        adapters: Adapters,
        redis: Redis,
        policy: RetryPolicy,
        concurrency: int,
        clock: Callable[[], float] = time.time,
        on_outcome: OutcomeObserver | None = None,
    ) -> None:
        self._stores = stores
        self._apps = apps
        self._adapters = adapters
        self._redis = redis
        self._policy = policy
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._on_outcome = on_outcome

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        jobs, poison = decode_jobs(records)
        await self.deliver(jobs)
        return poison

    async def deliver(self, jobs: Sequence[PushJob]) -> list[JobOutcome]:
        """Every job's outcome, in the order given; returns when every send has one."""
        by_app: dict[int, list[int]] = defaultdict(list)
        for i, job in enumerate(jobs):
            by_app[job.sdkappid].append(i)
        outcomes: list[JobOutcome] = [JobOutcome(j.sdkappid, j.user) for j in jobs]
        sends: list[_Send] = []
        for sdkappid, indexes in by_app.items():
            sends.extend(
                await self._plan_app(sdkappid, [jobs[i] for i in indexes], outcomes, indexes)
            )
        await asyncio.gather(*(self._send(s) for s in sends))
        now_ms = self._clock() * 1000
        for job, outcome in zip(jobs, outcomes, strict=True):
            self._count(job, outcome, now_ms)
            if self._on_outcome is not None:
                self._on_outcome(job, outcome, now_ms)
        return outcomes

    async def _plan_app(
        self,
        sdkappid: int,
        jobs: Sequence[PushJob],
        outcomes: list[JobOutcome],
        indexes: Sequence[int],
    ) -> list[_Send]:
        app = await self._apps.get(sdkappid)
        if app is None:
            for i in indexes:
                outcomes[i].skipped = NO_APP
            return []
        recipients = await self._recipients(sdkappid, jobs)
        names = await self._names(sdkappid, jobs)
        templates = templates_of(app)
        now_utc = datetime.fromtimestamp(self._clock(), UTC)
        pushing: list[tuple[PushJob, JobOutcome, OfflinePush]] = []
        for job, i in zip(jobs, indexes, strict=True):
            outcome = outcomes[i]
            offline_push = offline_push_of(job.message)
            recipient = recipients[(job.user, job.message.conversation)]
            outcome.skipped = skip_reason(
                offline_push, recipient, now_utc, job.message.push_when_muted
            )
            if outcome.skipped is None:
                pushing.append((job, outcome, offline_push))
        badges = await next_badges(
            self._redis, sdkappid, [job.user for job, _, p in pushing if p.counts_badge]
        )
        sends: list[_Send] = []
        for job, outcome, offline_push in pushing:
            message = job.message
            planned, outcome.template_error = notifications(
                message,
                offline_push,
                recipients[(job.user, message.conversation)].devices,
                names[message.msg_key],
                templates,
                badges[job.user] if offline_push.counts_badge else None,
            )
            if outcome.template_error is not None:
                log.info("push_template_unusable", app=sdkappid, error=outcome.template_error)
            for device, notification in planned:
                adapter = await self._adapters.get(app, device.vendor)
                sends.append(_Send(outcome, device, notification, adapter))
        return sends

    async def _recipients(
        self, sdkappid: int, jobs: Sequence[PushJob]
    ) -> dict[tuple[str, str], Recipient]:
        users = sorted({j.user for j in jobs})
        store = self._stores.push_devices
        devices = await store.devices(sdkappid, users)
        settings = await store.get_settings(sdkappid, users)
        per_conversation: dict[str, set[str]] = defaultdict(set)
        for job in jobs:
            per_conversation[job.message.conversation].add(job.user)
        now_ms = int(self._clock() * 1000)
        muted: dict[str, set[str]] = {}
        for conversation, conv_users in per_conversation.items():
            muted[conversation] = await store.muted(
                sdkappid, sorted(conv_users), conversation, now_ms
            )
        return {
            (job.user, job.message.conversation): Recipient(
                user=job.user,
                devices=devices.get(job.user, []),
                settings=settings[job.user],
                muted=job.user in muted[job.message.conversation],
            )
            for job in jobs
        }

    async def _names(self, sdkappid: int, jobs: Sequence[PushJob]) -> dict[str, Names]:
        """Per message (MsgKey), its sender's nickname and its group's name."""
        senders = sorted({j.message.sender for j in jobs})
        groups = sorted({j.message.group_id for j in jobs if j.message.chat_type != CHAT_TYPE_C2C})
        accounts = await self._stores.directory.get_accounts(sdkappid, senders)
        found = await self._stores.groups.get_groups(sdkappid, groups) if groups else {}
        names: dict[str, Names] = {}
        for job in jobs:
            m = job.message
            account = accounts.get(m.sender)
            group = found.get(m.group_id)
            names[m.msg_key] = Names(
                sender_nick=account.nick if account is not None else "",
                group_name=group.name if group is not None else "",
            )
        return names

    async def _send(self, send: _Send) -> None:
        vendor = send.device.vendor
        result = DeviceOutcome(vendor, send.device.token, SENT)
        send.job.devices.append(result)
        if send.adapter is None:
            result.outcome = NO_CREDENTIALS
            return
        adapter = send.adapter
        started = time.perf_counter()
        try:
            async with self._slots:
                await send_with_retries(
                    adapter.send,
                    send.notification,
                    self._policy,
                    lambda: PUSH_SENT.labels(str(send.job.sdkappid), vendor, RETRIED).inc(),
                )
        except VendorError as exc:
            result.vendor_code = exc.code
            result.outcome = TOKEN_INVALID if exc.token_invalid else FAILED
            log.info(
                "push_refused",
                app=send.job.sdkappid,
                vendor=vendor,
                code=exc.code,
                retryable=exc.retryable,
                token_invalid=exc.token_invalid,
            )
            if exc.token_invalid:
                await self._stores.push_devices.remove_token(
                    send.job.sdkappid, vendor, send.device.token
                )
        finally:
            PUSH_LATENCY.labels(vendor).observe(time.perf_counter() - started)

    def _count(self, job: PushJob, outcome: JobOutcome, now_ms: float) -> None:
        app = str(job.sdkappid)
        if outcome.skipped is not None:
            PUSH_SKIPPED.labels(app, outcome.skipped).inc()
            return
        for device in outcome.devices:
            PUSH_SENT.labels(app, device.vendor, device.outcome).inc()
        received = job.message.received_at_ms
        if received and any(d.outcome == SENT for d in outcome.devices):
            STAGE_LATENCY.labels("push").observe(max(0.0, now_ms - received) / 1000)
