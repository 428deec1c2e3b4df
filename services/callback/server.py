"""CallbackService: the synchronous before-callbacks, for the router and the gateway."""

from __future__ import annotations

import time

import grpc
import orjson

from services.callback.before import BeforeSender, on_failure
from services.callback.poster import CallbackFailure, Poster, Request
from services.common.app_cache import AppCache
from services.common.callback_config import BEFORE_EVENTS, config_of
from services.common.config_versions import ConfigVersions
from services.common.logging import get_logger
from services.common.metrics import CALLBACK_REQUESTS
from services.common.pb.tidings.v1 import callback_pb2, callback_pb2_grpc

log = get_logger(__name__)

# Time kept back from the caller's deadline to answer it.
_ANSWER_MARGIN_S = 0.05


def _remaining(context: grpc.aio.ServicerContext) -> float | None:
    left = context.time_remaining()
    return None if left is None else max(0.0, left - _ANSWER_MARGIN_S)


class CallbackServicer(callback_pb2_grpc.CallbackServiceServicer):
    def __init__(
        self, before: BeforeSender, apps: AppCache, poster: Poster, versions: ConfigVersions
    ) -> None:
        self._before = before
        self._apps = apps
        self._poster = poster
        self._versions = versions

    async def BeforeSend(
        self,
        request: callback_pb2.BeforeSendRequest,
        context: grpc.aio.ServicerContext,
    ) -> callback_pb2.BeforeSendReply:
        # The app's record at the caller's version or later (read here if it sent none); the
        # sender's reads then hit it.
        sdkappid = request.message.sdkappid
        await self._apps.get(sdkappid, request.config_version or await self._version(sdkappid))
        return await self._before.before_send(request.message, _remaining(context))

    async def _version(self, sdkappid: int) -> int:
        return (await self._versions.read_or_none([sdkappid])).get(sdkappid, 0)

    async def BeforeEvent(
        self,
        request: callback_pb2.BeforeEventRequest,
        context: grpc.aio.ServicerContext,
    ) -> callback_pb2.BeforeEventReply:
        """A before-callback other than a send (group create, apply, invite; friend add): the
        payload is Tencent's body without CallbackCommand. ErrorCode 0 allows; anything else
        rejects with the app server's own ErrorCode and ErrorInfo, which the caller maps to its
        command's code. The app's answer comes back whole in reply_json."""
        if request.command not in BEFORE_EVENTS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{request.command!r} is not one of {', '.join(BEFORE_EVENTS)}",
            )
        try:
            payload = orjson.loads(request.payload_json or b"{}")
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "payload_json is not an object")
        # The caller (a gateway) reads no versions: a change answered before this event
        # applies to it all the same.
        app = await self._apps.get(request.sdkappid, await self._version(request.sdkappid))
        config = config_of(app) if app else None
        if config is None or not config.enabled(request.command):
            return callback_pb2.BeforeEventReply(verdict=callback_pb2.VERDICT_ALLOW)
        body = {
            "CallbackCommand": request.command,
            **payload,
            "EventTime": payload.get("EventTime", int(time.time() * 1000)),
        }
        left = _remaining(context)
        timeout = config.timeout_s if left is None else min(config.timeout_s, left)
        try:
            content = await self._poster.post(
                config,
                Request(
                    request.sdkappid,
                    request.command,
                    body,
                    request.client_ip,
                    request.platform,
                ),
                timeout,
            )
            answer = orjson.loads(content)
            code = answer.get("ErrorCode") if isinstance(answer, dict) else None
            if isinstance(code, bool) or not isinstance(code, int):
                raise ValueError("the answer has no integer ErrorCode")
        except (CallbackFailure, ValueError) as err:
            outcome = err.outcome if isinstance(err, CallbackFailure) else "failed"
            CALLBACK_REQUESTS.labels(str(request.sdkappid), request.command, outcome).inc()
            policy = config.fail_policy_for(request.command)
            log.warning(
                "before callback failed",
                app=request.sdkappid,
                command=request.command,
                outcome=outcome,
                policy=policy,
                error=str(err),
            )
            failed = on_failure(policy, str(err))
            return callback_pb2.BeforeEventReply(
                verdict=failed.verdict, error_code=failed.error_code, error_info=failed.error_info
            )
        allowed = code == 0
        CALLBACK_REQUESTS.labels(
            str(request.sdkappid), request.command, "allowed" if allowed else "rejected"
        ).inc()
        info = answer.get("ErrorInfo")
        return callback_pb2.BeforeEventReply(
            verdict=callback_pb2.VERDICT_ALLOW if allowed else callback_pb2.VERDICT_REJECT,
            error_code=0 if allowed else max(0, code),
            error_info=info if isinstance(info, str) else "",
            reply_json=content,
        )
