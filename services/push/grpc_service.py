"""PushService over gRPC: one push job sent at once, outside im.push (admin sends and tests),
through the same decision, vendors and retries as the consumer's, answered with its outcome."""

from __future__ import annotations

import grpc

from services.common.pb.tidings.v1 import push_pb2, push_pb2_grpc
from services.push.delivery import PushDelivery

TOKEN_SUFFIX_CHARS = 8


class PushServicer(push_pb2_grpc.PushServiceServicer):
    def __init__(self, delivery: PushDelivery) -> None:
        self._delivery = delivery

    async def Send(
        self, request: push_pb2.SendPushRequest, context: grpc.aio.ServicerContext
    ) -> push_pb2.SendPushReply:
        job = request.job
        if not job.sdkappid or not job.user or not job.message.msg_key:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "a push job names its app, its user and a message with a MsgKey",
            )
        (outcome,) = await self._delivery.deliver([job])
        devices = [
            push_pb2.DevicePush(
                vendor=d.vendor,
                token_suffix=d.token[-TOKEN_SUFFIX_CHARS:],
                outcome=d.outcome,
                vendor_code=d.vendor_code,
            )
            for d in outcome.devices
        ]
        return push_pb2.SendPushReply(
            error_code=0,
            error_info=outcome.template_error or "",
            vendor=devices[0].vendor if devices else "",
            skipped=outcome.skipped or "",
            devices=devices,
        )
