"""all_member_push jobs: from im.events to one C2C message per target account on im.inbound.

A job pages through the app's accounts in UserID order, keeps those its condition selects, and
publishes each target's message paced (`pacing.py`). The message has no origin, so the router
reports its outcome to nobody; its dedupe id comes from the task and the user, so a job that is
run again (a crash before the commit, a retried batch, a retried request) reaches each user once.
The handler returns, and the consumer commits the event, only when the whole job is published.

Jobs in one batch run side by side and share the instance's rate; a job that arrives while a
batch runs waits for it. One app's jobs share a partition, so they start in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import orjson
from aiokafka import AIOKafkaProducer
from google.protobuf.message import DecodeError

from services.common import conversation, topics
from services.common.allpush import EVENT_KIND, AllMemberPushJob, decode_job, matches
from services.common.bus import Poison, Record, send_all
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    SOURCE_REST,
    Event,
    InboundMessage,
    MsgElement,
)
from services.common.store.ports import DirectoryStore
from services.common.store.pushattrs import PushAttrStore
from services.push.pacing import Pacer, chunk_size

log = get_logger(__name__)

PAGE_SIZE = 500
PROGRESS_EVERY_S = 10.0
# Tencent SyncOtherMachine 2: the sender's own devices do not get a copy per recipient.
NO_SYNC = 2


def jobs_in(records: Sequence[Record]) -> tuple[list[AllMemberPushJob], list[Poison]]:
    """The all_member_push jobs of a batch, and the records that cannot be one; other event
    kinds are not this consumer's."""
    jobs: list[AllMemberPushJob] = []
    poison: list[Poison] = []
    for record in records:
        try:
            event = Event.FromString(record.value or b"")
            if event.kind != EVENT_KIND:
                continue
            job = decode_job(event.payload_json)
        except (DecodeError, ValueError, KeyError, TypeError) as exc:
            poison.append(Poison(record, f"unusable all_member_push job: {exc}"))
            continue
        if job.sdkappid != event.sdkappid:
            reason = f"job of app {job.sdkappid} in an event of app {event.sdkappid}"
            poison.append(Poison(record, reason))
            continue
        jobs.append(job)
    return jobs, poison


def job_elements(job: AllMemberPushJob) -> list[MsgElement]:
    return [
        MsgElement(msg_type=e["MsgType"], content_json=orjson.dumps(e["MsgContent"]))
        for e in job.body
    ]


def select_targets(
    job: AllMemberPushJob,
    page: Sequence[str],
    attrs: Mapping[str, Mapping[int, str]],
    tags: Mapping[str, Sequence[str]],
) -> list[str]:
    """The accounts of a page the job sends to: those its condition selects, but the sender."""
    return [
        u
        for u in page
        if u != job.sender and matches(job.condition, attrs.get(u, {}), tags.get(u, ()))
    ]


def push_inbound(
    job: AllMemberPushJob, elements: Sequence[MsgElement], user: str, now_ms: int
) -> InboundMessage:
    return InboundMessage(
        schema_version=1,
        sdkappid=job.sdkappid,
        conversation=conversation.c2c(job.sender, user),
        chat_type=CHAT_TYPE_C2C,
        sender=job.sender,
        to_user=user,
        client_msg_id=job.client_msg_id(user),
        msg_random=job.msg_random,
        elements=elements,
        source=SOURCE_REST,
        received_at_ms=now_ms,
        sync_other_machine=NO_SYNC,
        platform="RESTAPI",
        offline_push_json=job.offline_push_json,
    )


class AllMemberPush:
    def __init__(
        self,
        directory: DirectoryStore,
        push_attrs: PushAttrStore,
        producer: AIOKafkaProducer,
        rate: int,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._directory = directory
        self._push_attrs = push_attrs
        self._producer = producer
        self._pacer = Pacer(rate)
        self._chunk = chunk_size(rate)
        self._page_size = page_size

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        jobs, poison = jobs_in(records)
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(self._run(job))
        return poison

    async def _run(self, job: AllMemberPushJob) -> None:
        started = time.monotonic()
        last_report = started
        log.info("all_member_push started", app=job.sdkappid, task_id=job.task_id)
        elements = job_elements(job)
        after, scanned, published = "", 0, 0
        while page := await self._directory.list_accounts(job.sdkappid, after, self._page_size):
            after = page[-1]
            targets = await self._targets(job, page)
            for i in range(0, len(targets), self._chunk):
                chunk = targets[i : i + self._chunk]
                await asyncio.sleep(self._pacer.reserve(len(chunk), time.monotonic()))
                now_ms = int(time.time() * 1000)
                await send_all(
                    self._producer,
                    topics.INBOUND.name,
                    [
                        (
                            conversation.kafka_key(job.sdkappid, conversation.c2c(job.sender, u)),
                            push_inbound(job, elements, u, now_ms).SerializeToString(),
                        )
                        for u in chunk
                    ],
                )
                published += len(chunk)
                STAGE_MESSAGES.labels("all_member_push", str(job.sdkappid), "ok").inc(len(chunk))
            scanned += len(page)
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                log.info(
                    "all_member_push progress",
                    app=job.sdkappid,
                    task_id=job.task_id,
                    scanned=scanned,
                    published=published,
                )
        log.info(
            "all_member_push done",
            app=job.sdkappid,
            task_id=job.task_id,
            scanned=scanned,
            published=published,
            seconds=round(time.monotonic() - started, 1),
        )

    async def _targets(self, job: AllMemberPushJob, page: list[str]) -> list[str]:
        condition = job.condition
        attrs = await self._push_attrs.get_attrs(job.sdkappid, page) if condition.by_attrs else {}
        tags = await self._push_attrs.get_tags(job.sdkappid, page) if condition.by_tags else {}
        return select_targets(job, page, attrs, tags)
