"""A vendor's "try again" is tried again, within the policy; anything else is not."""

from __future__ import annotations

import time

import pytest
from aiokafka.structs import ConsumerRecord

from services.common.bus import Record
from services.common.pb.tidings.v1.envelope_pb2 import Message, PushJob
from services.push.delivery import RetryPolicy, decode_jobs, send_with_retries
from services.push.vendors.base import Notification, VendorError

FAST = RetryPolicy(max_attempts=3, base_s=0.001, max_wait_s=0.01)
NOTE = Notification(token="t", title="a", body="b", collapse_id="k")


class Vendor:
    """Answers with the given errors in turn, then accepts."""

    def __init__(self, *errors: VendorError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def busy(retry_after_s: float | None = None) -> VendorError:
    return VendorError("x", "429", "busy", retryable=True, retry_after_s=retry_after_s)


async def test_retryable_errors_are_tried_again_until_accepted() -> None:
    vendor, retries = Vendor(busy(), busy()), []
    await send_with_retries(vendor.send, NOTE, FAST, lambda: retries.append(1))
    assert (vendor.calls, len(retries)) == (3, 2)


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    vendor = Vendor(busy(), busy(), VendorError("x", "503", "last", retryable=True))
    with pytest.raises(VendorError) as raised:
        await send_with_retries(vendor.send, NOTE, FAST, lambda: None)
    assert (vendor.calls, raised.value.code) == (3, "503")


@pytest.mark.parametrize(
    "error",
    [
        VendorError("x", "Unregistered", "gone", token_invalid=True),
        VendorError("x", "400", "bad payload"),
    ],
)
async def test_permanent_errors_are_not_tried_again(error: VendorError) -> None:
    vendor = Vendor(error)
    with pytest.raises(VendorError):
        await send_with_retries(vendor.send, NOTE, FAST, lambda: None)
    assert vendor.calls == 1


async def test_retry_after_is_waited_but_capped_by_the_policy() -> None:
    vendor = Vendor(busy(retry_after_s=3600))
    started = time.monotonic()
    await send_with_retries(
        vendor.send, NOTE, RetryPolicy(max_attempts=2, base_s=0.001, max_wait_s=0.05), lambda: None
    )
    # An hour asked, the policy's 50 ms waited.
    assert 0.04 <= time.monotonic() - started < 1.0
    assert vendor.calls == 2


def test_undecodable_records_and_jobs_without_user_are_poison() -> None:
    good = PushJob(sdkappid=1, user="u", message=Message(msg_key="k")).SerializeToString()
    no_user = PushJob(sdkappid=1, message=Message(msg_key="k")).SerializeToString()
    records: list[Record] = [
        ConsumerRecord("im.push", 0, i, 0, 0, b"k", v, None, 0, 0, [])
        for i, v in enumerate((good, b"\xff\xff", no_user))
    ]
    jobs, poison = decode_jobs(records)
    assert [j.user for j in jobs] == ["u"]
    assert [p.record.offset for p in poison] == [1, 2]
