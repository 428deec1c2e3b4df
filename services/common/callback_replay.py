"""Replay one app's dead-lettered after-callbacks: read im.callbacks.dlq and put this app's
deliveries back on im.callbacks.retry with a fresh budget, due at once; the callback service
then posts them (signed, to the app's current URL) like any other retry.

The read position is kept per app (consumer group "callback.replay.<SDKAppID>"), so a replay
takes only what was dead-lettered since the last one, and one app's replay never touches
another's deliveries. Shared by `tidings replay-dlq` and the admin API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common import topics
from services.common.bus import Record, make_producer, send_all
from services.common.callback_records import Delivery
from services.common.config import Settings
from services.common.dlq_replay import read_to_end
from services.common.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    sdkappid: int
    # This app's deliveries put back on im.callbacks.retry.
    replayed: int
    # Dead letters read, every app's.
    scanned: int
    # False when the read stopped at MAX_READ_S before the end of the topic.
    complete: bool


def fresh(d: Delivery) -> Delivery:
    return Delivery(
        sdkappid=d.sdkappid,
        event_id=d.event_id,
        command=d.command,
        body=d.body,
        client_ip=d.client_ip,
        platform=d.platform,
    )


async def replay_dlq(settings: Settings, sdkappid: int) -> ReplayResult:
    mine: list[Delivery] = []

    def take(records: Sequence[Record]) -> None:
        for record in records:
            try:
                d = Delivery.decode(record.value)
            except ValueError as err:
                log.error("unreadable dead letter skipped", offset=record.offset, error=str(err))
                continue
            if d.sdkappid == sdkappid:
                mine.append(fresh(d))

    producer = make_producer(settings)

    async def put_back() -> None:
        await producer.start()
        try:
            await send_all(
                producer, topics.CALLBACKS_RETRY.name, [(d.key, d.encode()) for d in mine]
            )
        finally:
            await producer.stop()

    scanned, complete = await read_to_end(
        settings, f"callback.replay.{sdkappid}", topics.CALLBACKS_DLQ.name, take, put_back
    )
    log.info("dead letters replayed", app=sdkappid, replayed=len(mine), scanned=scanned)
    return ReplayResult(sdkappid, len(mine), scanned, complete)
