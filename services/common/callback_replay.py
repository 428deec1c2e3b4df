"""List and replay one app's dead-lettered after-callbacks: read im.callbacks.dlq and put this
app's deliveries back on im.callbacks.retry with a fresh budget, due at once; the callback
service then posts them (signed, to the app's current URL) like any other retry.

The read position is kept per app (consumer group "callback.replay.<SDKAppID>"), so a replay
takes only what was dead-lettered since the last one, and one app's replay never touches
another's deliveries. A listing reads from the same position with the same scan, without
moving it: it shows what the next replay of all would put back. A dead letter's id is
"<partition>:<offset>" in im.callbacks.dlq; a replay of one letter by its id reads that one
record and leaves the app's position where it is, so a later replay of all sends it again
(an app server drops the second by its TidingsEventId). Shared by `tidings replay-dlq`,
`tidings callback dlq` and the admin API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition

from services.common import topics
from services.common.bus import Record, make_producer, send_all
from services.common.callback_records import Delivery
from services.common.config import Settings
from services.common.dlq_replay import dlq_consumer, read_to_end
from services.common.logging import get_logger

log = get_logger(__name__)

MAX_LIST = 500
DEFAULT_LIST = 100
# Reading one letter by its id gives up after this long (the broker is down or slow).
MAX_READ_ONE_S = 10.0
_LETTER_ID = re.compile(r"([0-9]{1,6}):([0-9]{1,18})")


@dataclass(frozen=True, slots=True)
class ReplayResult:
    sdkappid: int
    # This app's deliveries put back on im.callbacks.retry.
    replayed: int
    # Dead letters read, every app's.
    scanned: int
    # False when the read stopped at MAX_READ_S before the end of the topic.
    complete: bool


@dataclass(frozen=True, slots=True)
class DeadCallback:
    """One of the app's dead letters, and where it is in im.callbacks.dlq."""

    letter_id: str
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class DlqListing:
    sdkappid: int
    letters: list[DeadCallback]
    # Dead letters read, every app's.
    scanned: int
    # False when the listing stopped at its limit or at MAX_READ_S before the end.
    complete: bool


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


def parse_letter_id(text: str) -> tuple[int, int]:
    """(partition, offset) of a dead letter's id; ValueError when it is not one."""
    m = _LETTER_ID.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a dead letter id: <partition>:<offset>")
    return int(m[1]), int(m[2])


def event_time_ms(body: dict[str, Any]) -> int:
    """When the event of a callback body happened: Tencent's EventTime (ms), else MsgTime (s),
    else Easemob's timestamp (ms); 0 when the body has none."""
    for name, scale in (("EventTime", 1), ("MsgTime", 1000), ("timestamp", 1)):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value * scale
    return 0


def letter_doc(letter: DeadCallback) -> dict[str, object]:
    """A dead letter as the admin API and the CLI list it."""
    d = letter.delivery
    return {
        "id": letter.letter_id,
        "command": d.command,
        "event_id": d.event_id,
        "rule": d.rule,
        "event_time": event_time_ms(d.body),
        "failed_at": d.failed_at_ms,
        "attempts": d.attempts,
        "last_error": d.error,
    }


def fresh(d: Delivery) -> Delivery:
    return Delivery(
        sdkappid=d.sdkappid,
        event_id=d.event_id,
        command=d.command,
        body=d.body,
        client_ip=d.client_ip,
        platform=d.platform,
        rule=d.rule,
    )


def _decode(record: Record) -> Delivery | None:
    try:
        return Delivery.decode(record.value)
    except ValueError as err:
        log.error("unreadable dead letter skipped", offset=record.offset, error=str(err))
        return None


async def _scan(
    settings: Settings,
    sdkappid: int,
    limit: int | None,
    effect: Callable[[list[DeadCallback]], Awaitable[None]] | None,
) -> DlqListing:
    """The one read of the app's dead letters from its position: at most `limit` of them;
    with an `effect` (a replay), applied to them before the position moves past them."""
    mine: list[DeadCallback] = []
    cut = False

    def take(records: Sequence[Record]) -> bool:
        nonlocal cut
        for record in records:
            d = _decode(record)
            if d is None or d.sdkappid != sdkappid:
                continue
            if limit is not None and len(mine) >= limit:
                cut = True
                return False
            mine.append(DeadCallback(letter_id(record.partition, record.offset), d))
        return limit is None or len(mine) < limit

    async def then() -> None:
        if effect is not None:
            await effect(mine)

    scanned, complete = await read_to_end(
        settings,
        f"callback.replay.{sdkappid}",
        topics.CALLBACKS_DLQ.name,
        take,
        then,
        commit=effect is not None,
    )
    return DlqListing(sdkappid, mine, scanned, complete and not cut)


async def _put_back(settings: Settings, deliveries: list[Delivery]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await send_all(
            producer,
            topics.CALLBACKS_RETRY.name,
            [(d.key, d.encode()) for d in map(fresh, deliveries)],
        )
    finally:
        await producer.stop()


async def list_dlq(settings: Settings, sdkappid: int, limit: int = DEFAULT_LIST) -> DlqListing:
    """The app's dead letters that the next replay of all would put back, oldest first."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1 to {MAX_LIST}, got {limit}")
    return await _scan(settings, sdkappid, limit, None)


async def replay_dlq(settings: Settings, sdkappid: int) -> ReplayResult:
    async def put_back(letters: list[DeadCallback]) -> None:
        await _put_back(settings, [letter.delivery for letter in letters])

    listing = await _scan(settings, sdkappid, None, put_back)
    replayed = len(listing.letters)
    log.info("dead letters replayed", app=sdkappid, replayed=replayed, scanned=listing.scanned)
    return ReplayResult(sdkappid, replayed, listing.scanned, listing.complete)


async def read_letter(settings: Settings, sdkappid: int, text: str) -> Delivery | None:
    """The app's dead letter of that id; None when there is none (another app's letter is
    none of this app's)."""
    partition, offset = parse_letter_id(text)
    # No group: reading one letter moves no app's position.
    consumer = dlq_consumer(settings, None)
    await consumer.start()
    try:
        await consumer.topics()
        if partition not in (consumer.partitions_for_topic(topics.CALLBACKS_DLQ.name) or ()):
            return None
        tp = TopicPartition(topics.CALLBACKS_DLQ.name, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + MAX_READ_ONE_S
        while time.monotonic() < deadline:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=1)
            for record in batches.get(tp, ()):
                d = _decode(record) if record.offset == offset else None
                return d if d is not None and d.sdkappid == sdkappid else None
            # The fetch high watermark, not ListOffsets (Tansu's is wrong): at or past it,
            # there is no such record yet.
            high = consumer.highwater(tp)
            if high is not None and offset >= high:
                return None
        raise ValueError(f"the DLQ did not answer within {MAX_READ_ONE_S:g} s")
    finally:
        await consumer.stop()


async def replay_letter(settings: Settings, sdkappid: int, text: str) -> Delivery | None:
    """Put the app's dead letter of that id back on im.callbacks.retry; None when the app has
    no letter of that id."""
    d = await read_letter(settings, sdkappid, text)
    if d is not None:
        await _put_back(settings, [d])
        log.info("dead letter replayed", app=sdkappid, letter=text, event_id=d.event_id)
    return d
