"""Before-callbacks other than sends (group create, apply, invite; friend add), asked of the
callback service's BeforeEvent before the gateway does the action.

The gRPC hop is skipped when the app has not enabled the command (its cached app record says
so). The app server's answer: ErrorCode 0 allows (an invite may still refuse some accounts, a
friend add may refuse per account); any other code refuses, and the caller gets Tencent's code
for its command: 10016 for the group commands. When the callback service cannot be reached the
app's fail policy decides, as for sends: open lets the action through, closed refuses it with
4503.

Where Tencent is silent: a friend add refused as a whole (ErrorCode not 0) refuses every
account with the app server's ErrorCode and ErrorInfo, as a per-account refusal does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
import orjson

from services.common.callback_config import config_of
from services.common.errors import ErrorCode, TidingsError
from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.pb.tidings.v1 import callback_pb2, callback_pb2_grpc
from services.common.store.ports import App

if TYPE_CHECKING:
    # Only a type here: rest_v4 imports this module.
    from services.gateway.rest_v4.context import RestContext

log = get_logger(__name__)

CREATE_GROUP = "Group.CallbackBeforeCreateGroup"
APPLY_JOIN_GROUP = "Group.CallbackBeforeApplyJoinGroup"
INVITE_JOIN_GROUP = "Group.CallbackBeforeInviteJoinGroup"
PREV_FRIEND_ADD = "Sns.CallbackPrevFriendAdd"

REST_PLATFORM = "RESTAPI"
# Time given to the gRPC hop on top of the app's own callback timeout.
_HOP_MARGIN_S = 0.5


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool = True
    error_code: int = 0
    error_info: str = ""
    # The app server's answer, parsed; empty when it was not asked or did not answer.
    answer: Mapping[str, Any] = field(default_factory=dict)


ALLOWED = Verdict()


def wants(app: App, command: str) -> bool:
    """Whether the app enabled `command`: if not, it is not asked (nor its body built)."""
    config = config_of(app)
    return config is not None and config.enabled(command)


def refused_members(answer: Mapping[str, Any]) -> set[str]:
    """Group.CallbackBeforeInviteJoinGroup: the accounts the app server keeps out."""
    refused = answer.get("RefusedMembers_Account")
    if not isinstance(refused, list):
        return set()
    return {u for u in refused if isinstance(u, str)}


def friend_refusals(answer: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """Sns.CallbackPrevFriendAdd: the accounts the app server refuses, with its ResultCode and
    ResultInfo (0 allows)."""
    items = answer.get("ResultItem")
    refusals: dict[str, tuple[int, str]] = {}
    if not isinstance(items, list):
        return refusals
    for item in items:
        if not isinstance(item, dict):
            continue
        to, code, info = item.get("To_Account"), item.get("ResultCode"), item.get("ResultInfo")
        if isinstance(to, str) and isinstance(code, int) and not isinstance(code, bool) and code:
            refusals[to] = (code, info if isinstance(info, str) else "")
    return refusals


def group_rejection(verdict: Verdict) -> TidingsError:
    """The error a refused group before-callback gives the caller."""
    if verdict.error_code == ErrorCode.CALLBACK_UNAVAILABLE:
        return TidingsError(ErrorCode.CALLBACK_UNAVAILABLE, verdict.error_info)
    return TidingsError(
        ErrorCode.GROUP_CALLBACK_REJECTED,
        verdict.error_info or ErrorCode.GROUP_CALLBACK_REJECTED.default_info,
    )


class BeforeEvents:
    def __init__(self, channels: Channels, callback_addr: str) -> None:
        self._channels = channels
        self._addr = callback_addr

    async def ask(
        self,
        app: App,
        command: str,
        payload: Mapping[str, Any],
        *,
        client_ip: str = "",
        platform: str = "",
    ) -> Verdict:
        config = config_of(app)
        if config is None or not config.enabled(command) or not self._addr:
            return ALLOWED
        stub = callback_pb2_grpc.CallbackServiceStub(self._channels.get(self._addr))
        request = callback_pb2.BeforeEventRequest(
            sdkappid=app.sdkappid,
            command=command,
            payload_json=orjson.dumps(dict(payload)),
            client_ip=client_ip,
            platform=platform,
        )
        try:
            reply = await stub.BeforeEvent(request, timeout=config.timeout_s + _HOP_MARGIN_S)
        except grpc.aio.AioRpcError as err:
            policy = config.fail_policy_for(command)
            log.warning(
                "before-event callback unreachable",
                app=app.sdkappid,
                command=command,
                policy=policy,
                error=err.details(),
            )
            if policy == "open":
                return ALLOWED
            return Verdict(
                allowed=False,
                error_code=int(ErrorCode.CALLBACK_UNAVAILABLE),
                error_info="the app's before-callback failed and the app refuses the action "
                "then (fail-closed); retry later",
            )
        answer: dict[str, Any] = {}
        if reply.reply_json:
            try:
                doc = orjson.loads(reply.reply_json)
            except orjson.JSONDecodeError:
                doc = None
            answer = doc if isinstance(doc, dict) else {}
        return Verdict(
            allowed=reply.verdict == callback_pb2.VERDICT_ALLOW,
            error_code=reply.error_code,
            error_info=reply.error_info,
            answer=answer,
        )


async def ask_rest(ctx: RestContext, command: str, payload: Mapping[str, Any]) -> Verdict:
    """A before-callback of a REST v4 command: OptPlatform RESTAPI, ClientIP the caller's."""
    before = BeforeEvents(ctx.deps.channels, ctx.deps.settings.callback_addr)
    return await before.ask(
        ctx.app, command, payload, client_ip=ctx.client_ip, platform=REST_PLATFORM
    )
