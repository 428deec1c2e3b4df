"""Publish sends to im.inbound and route the router's outcome back to whoever waits for it.

No task per message: a pending send is a callback in a dict, resolved by the Complete gRPC
call, by a failed produce, or by the sweeper when the send timeout passes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from services.common import topics
from services.common.conversation import kafka_key
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage, Origin
from services.common.pb.tidings.v1.gateway_pb2 import Outcome

log = get_logger(__name__)

OutcomeCallback = Callable[[Outcome], None]


class Publisher:
    def __init__(
        self, producer: AIOKafkaProducer, node_id: str, grpc_addr: str, timeout_s: float
    ) -> None:
        self._producer = producer
        self._node_id = node_id
        self._grpc_addr = grpc_addr
        self._timeout = timeout_s
        self._pending: dict[str, tuple[float, OutcomeCallback]] = {}
        # Request ids: unique in this process (outcomes come back to it), and across restarts.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._ids = itertools.count()
        self.accepting = True

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def submit(
        self, inbound: InboundMessage, on_done: OutcomeCallback, conn_id: str = ""
    ) -> None:
        """Produce in call order (which keeps a client's sends in order) and register on_done."""
        request_id = f"{self._id_prefix}{next(self._ids):x}"
        inbound.origin.CopyFrom(
            Origin(
                node_id=self._node_id,
                grpc_addr=self._grpc_addr,
                request_id=request_id,
                conn_id=conn_id,
            )
        )
        self._pending[request_id] = (time.monotonic() + self._timeout, on_done)
        try:
            ack = await self._producer.send(
                topics.INBOUND.name,
                key=kafka_key(inbound.sdkappid, inbound.conversation),
                value=inbound.SerializeToString(),
            )
        except Exception as exc:  # noqa: BLE001 - the caller gets an error outcome instead
            self._fail(request_id, f"publish failed: {exc}")
            return
        ack.add_done_callback(lambda f: self._on_produced(request_id, f))

    async def publish(self, inbound: InboundMessage) -> Outcome:
        """Submit and wait for the outcome (REST)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        def resolve(outcome: Outcome) -> None:
            if not done.done():
                done.set_result(outcome)

        await self.submit(inbound, resolve)
        return await done

    def complete(self, outcomes: list[Outcome]) -> int:
        matched = 0
        for outcome in outcomes:
            entry = self._pending.pop(outcome.request_id, None)
            if entry is not None:
                matched += 1
                entry[1](outcome)
        return matched

    def _on_produced(self, request_id: str, fut: asyncio.Future[object]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self._fail(
                request_id,
                f"publish failed: {fut.exception() if not fut.cancelled() else 'cancelled'}",
            )

    def _fail(self, request_id: str, info: str) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is not None:
            entry[1](
                Outcome(request_id=request_id, error_code=ErrorCode.REST_TIMEOUT, error_info=info)
            )

    async def sweep_forever(self) -> None:
        """Answer sends whose outcome did not come in time. The client may retry with the same
        id: if the message did get through, the retry gets its original seq."""
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for request_id, (deadline, _) in list(self._pending.items()):
                if deadline < now:
                    self._fail(
                        request_id, "timed out waiting for the router; retry with the same id"
                    )

    async def drain(self, timeout_s: float) -> None:
        """Stop taking sends and wait for those in flight."""
        self.accepting = False
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:  # noqa: ASYNC110 - polled briefly
            await asyncio.sleep(0.05)
