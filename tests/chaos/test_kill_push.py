"""kill -9 of the push service while pushes are with the vendor: after the restart every message
still reaches each offline recipient's device, and a push sent again carries the same collapse
id as the first try, so that the phone shows it once. Runs on a stack of its own, aimed at a
vendor stand-in that holds its answers while the test kills the service."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.embedded.launchers import free_port
from services.embedded.stack import Stack
from tests.conftest import eventually, start_stack
from tests.e2e.test_push_delivery import push_app
from tests.push_server import Request, Response, apns_token, local_server, vendor_endpoints

pytestmark = [pytest.mark.stack, pytest.mark.chaos]

RECIPIENTS = [f"off{i}" for i in range(5)]
PER_RECIPIENT = 40
# Answered at once; the requests after these wait until the service has been killed.
ANSWERED_BEFORE_KILL = 60


@pytest.fixture(scope="module")
def vendor_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def push_stack(tmp_path_factory: pytest.TempPathFactory, vendor_port: int) -> Iterator[Stack]:
    endpoints = vendor_endpoints(f"http://127.0.0.1:{vendor_port}")
    s = start_stack(
        Path(tmp_path_factory.mktemp("push-kill")),
        extra_env={"TIDINGS_PUSH_ENDPOINTS": json.dumps(endpoints)},
    )
    yield s
    s.stop()


async def test_kill_9_push_mid_run(push_stack: Stack, vendor_port: int) -> None:
    app = await push_app(push_stack)
    async with app.stores() as s:
        for i, user in enumerate(RECIPIENTS):
            await s.push_devices.register(app.sdkappid, user, "apns", f"device-{user}", i)
    await app.import_accounts("sender", *RECIPIENTS)

    killed = asyncio.Event()
    answered = 0

    async def vendor(request: Request) -> Response:
        nonlocal answered
        if answered >= ANSWERED_BEFORE_KILL and not killed.is_set():
            await killed.wait()
        answered += 1
        return 200, {}, b""

    async with local_server(vendor, port=vendor_port) as server:
        sender = await app.connect("sender")
        try:
            # All at once, so that the push service takes them in a few large batches: the batch
            # held at the vendor then has its pushes in flight together, and the kill finds them
            # there (sent one by one, the held batch was small, and the 70th request came only
            # from tries after vendor timeouts, about 40 s later).
            acks = await asyncio.gather(
                *(
                    sender.send(to=user, text=f"{user} {n}")
                    for n in range(PER_RECIPIENT)
                    for user in RECIPIENTS
                )
            )
        finally:
            await sender.close()
        # Some pushes answered (their batches may be committed), more held at the vendor.
        await server.wait_for_requests(ANSWERED_BEFORE_KILL + 10, timeout=120)
        await asyncio.to_thread(push_stack.kill, "push")
        held_at_kill = len(server.requests) - answered
        killed.set()
        await asyncio.to_thread(push_stack.restart, "push")

        wanted = {a.msg_key for a in acks}

        async def every_message_pushed() -> bool:
            return wanted <= {r.headers.get("apns-collapse-id") for r in server.requests}

        await eventually(every_message_pushed, timeout=120)

    assert held_at_kill > 0, "the kill must land while pushes are with the vendor"
    per_id = Counter(r.headers["apns-collapse-id"] for r in server.requests)
    assert set(per_id) == wanted, "only these messages' pushes, each under its own id"
    resent = {key for key, n in per_id.items() if n > 1}
    print(
        f"\npush kill -9: {len(wanted)} messages, {len(server.requests)} vendor requests, "
        f"{held_at_kill} held at the kill, {len(resent)} messages pushed again"
    )
    assert resent, "pushes in flight at the kill are sent again after the restart"
    for request in server.requests:
        key = request.headers["apns-collapse-id"]
        # Each try of a message goes to the device of the message's recipient.
        recipient = next(a for a in acks if a.msg_key == key).conversation
        assert apns_token(request).removeprefix("device-") in recipient
