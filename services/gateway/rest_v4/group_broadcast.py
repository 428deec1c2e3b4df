"""group_open_http_svc/send_broadcast_msg: one message to every live group (AVChatRoom) of the app.

Tencent's reference (cloud.tencent.com/document/product/269/77402, "直播群广播消息"): From_Account
(optional, the calling admin when absent), Random (the same Random within five minutes is the
same message), MsgBody (12 KB) and CloudCustomData; the reply carries MsgSeq. Each live group
gets the message on the path send_group_msg takes (group_inbound, published as one run): online
members only, nothing stored.

Where Tencent is silent: a From_Account that is neither an imported account nor an app admin is
10019 (as import_group_msg); the sender need not be a member of the groups; a repeated Random is
a duplicate within our 24 h dedupe window rather than five minutes; `MsgSeq` is the seq the
message took in the first live group (in the groups' listing order), 0 when the app has no live
group; a group that refuses its copy misses the broadcast while the others get it, and the
request fails only when every group refused (with the first group's code). Tencent's console
switch is the messaging setting `avchatroom_broadcast` (off by default: 10007 while off); its
edition rule and 1-a-second call rate are not modelled: the REST platform's per-app limits
apply, and each group's copy takes its share of that group's `avchatroom_msg_rate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.common import messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import MsgElement
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.store.groups import AVCHATROOM
from services.gateway.bounds import UINT32
from services.gateway.msgbody import parse_msg_body
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_messages import group_inbound, publish_in_order

BAD = ErrorCode.GROUP_INVALID_PARAM
# Live groups published to per run: the store's page.
PAGE = 100


def broadcast_outcome(outcomes: Sequence[Outcome]) -> int:
    """The reply's MsgSeq: the first delivered copy's seq, 0 with no live group; a
    TidingsError with the first refusal when every copy was refused."""
    delivered = [o for o in outcomes if not o.error_code]
    if delivered:
        return int(delivered[0].seq)
    if outcomes:
        raise TidingsError(outcomes[0].error_code, outcomes[0].error_info)
    return 0


async def _live_groups(ctx: RestContext) -> list[list[str]]:
    """The app's live groups, in pages."""
    pages: list[list[str]] = []
    after = 0
    while True:
        refs = await ctx.deps.stores.groups.list_groups(ctx.app.sdkappid, AVCHATROOM, after, PAGE)
        if refs:
            pages.append([r.group_id for r in refs])
            after = refs[-1].list_key
        if len(refs) < PAGE:
            return pages


async def send_broadcast_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    messaging_settings.require_feature(
        ctx.app.settings, "avchatroom_broadcast", ErrorCode.GROUP_NO_PERMISSION
    )
    sender = fields.text(body, "From_Account", code=BAD, required=False) or ctx.identifier
    random = fields.integer(body, "Random", code=BAD, within=UINT32)
    cloud = fields.text(body, "CloudCustomData", code=BAD, required=False)
    elements: list[MsgElement] = parse_msg_body(
        fields.raw(body, "MsgBody"),
        ctx.deps.settings.max_body_bytes,
        ErrorCode.BODY_TOO_LARGE,
        BAD,
    )
    auth = ctx.deps.auth
    if not auth.is_admin(ctx.app, sender) and await auth.missing_accounts(
        ctx.app.sdkappid, [sender]
    ):
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND, f"From_Account {sender!r} does not exist"
        )
    outcomes: list[Outcome] = []
    for page in await _live_groups(ctx):
        copies = []
        for group_id in page:
            inbound = group_inbound(ctx, group_id, sender)
            inbound.msg_random = random
            inbound.client_msg_id = f"broadcast:{random}"
            inbound.elements.extend(elements)
            inbound.cloud_custom_data = cloud
            inbound.online_only = True
            copies.append(inbound)
        outcomes.extend(await publish_in_order(ctx, copies))
    return {"MsgSeq": broadcast_outcome(outcomes)}


COMMANDS: dict[str, Handler] = {"send_broadcast_msg": send_broadcast_msg}


# Request body for /openapi.json (the handler above does the validation, with Tencent's codes).
class SendBroadcastMsgRequest(BaseModel):
    From_Account: str | None = None
    Random: int = Field(ge=UINT32.low, le=UINT32.high)
    MsgBody: list[dict[str, Any]]
    CloudCustomData: str | None = None


REQUEST_MODELS: dict[str, type[BaseModel]] = {"send_broadcast_msg": SendBroadcastMsgRequest}
