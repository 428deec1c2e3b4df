"""History deletions that take messages out of one view without deleting them:
openim/delete_c2c_msg_ramble and group_open_http_svc/clear_group_msg.

delete_c2c_msg_ramble (cloud.tencent.com/document/product/269/101439): the app admin deletes up
to 30 messages of a C2C conversation (MsgKeyList) for one party (Operator_Account, the other
being Peer_Account); that party no longer sees them, the other still does. clear_group_msg
(cloud.tencent.com/document/product/269/95617): a group's history up to and including MsgSeq
(all of it without one) is marked so that clients no longer pull it, while the admin's
group_msg_get_simple still returns it; every group type but Community.

Both only record a mark (store msg_deletions) and leave the messages as they are: the
operator's admin_getroammsg leaves out what it deleted, and a client's sync gets what its user
deleted, or a clear reached, as a deleted placeholder (seq kept, body gone, as
delete_group_msg_by_sender leaves a message), so its history keeps its seqs in order. Where
Tencent is silent: a MsgKey that names no message of the conversation is skipped (nothing to
delete) while a malformed one is 90054; the accounts need not exist; a MsgSeq above the group's
latest message clears up to the latest only, so later messages stay visible; a clear never
lowers an earlier one; conversation lists and unread counts are not changed by either.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2
from services.common.store.groups import COMMUNITY
from services.gateway.bounds import MSG_SEQ
from services.gateway.msgkeys import MsgKey, find_by_msg_key, parse_msg_key
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

OPENIM_BAD = ErrorCode.OPENIM_JSON_FIELDS
GROUP_BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_MSG_KEYS = 30


def msg_key_list(raw: Any) -> list[MsgKey]:
    """MsgKeyList: 1..30 MsgKeys, each as this API returns them; a repeated key counts once."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(OPENIM_BAD, "MsgKeyList must be a non-empty array of MsgKeys")
    if len(raw) > MAX_MSG_KEYS:
        raise TidingsError(OPENIM_BAD, f"at most {MAX_MSG_KEYS} MsgKeys a request")
    if not all(isinstance(k, str) for k in raw):
        raise TidingsError(OPENIM_BAD, "each MsgKeyList entry must be a string")
    return [parse_msg_key(k, ErrorCode.OPENIM_BAD_MSG_KEY) for k in dict.fromkeys(raw)]


def clear_up_to(requested: int | None, latest: int) -> int:
    """The seq a clear reaches: the requested one, never past the group's latest message."""
    return latest if requested is None else min(requested, latest)


async def delete_c2c_msg_ramble(ctx: RestContext, body: dict[str, Any]) -> Reply:
    operator = fields.text(body, "Operator_Account", code=OPENIM_BAD)
    peer = fields.text(body, "Peer_Account", code=OPENIM_BAD)
    keys = msg_key_list(fields.raw(body, "MsgKeyList"))
    sdkappid = ctx.app.sdkappid
    conv = conversation.c2c(operator, peer)
    found = await asyncio.gather(
        *(find_by_msg_key(ctx.deps.archive, sdkappid, conv, k) for k in keys)
    )
    seqs = [m.seq for m in found if m is not None]
    await ctx.deps.stores.msg_deletions.hide(sdkappid, operator, conv, seqs)
    return {}


async def clear_group_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group_id = fields.text(body, "GroupId", code=GROUP_BAD)
    requested = fields.optional_integer(body, "MsgSeq", code=GROUP_BAD, within=MSG_SEQ)
    sdkappid = ctx.app.sdkappid
    group = await ctx.deps.stores.groups.get_group(sdkappid, group_id)
    if group is None:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
    if group.group_type == COMMUNITY:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "Community groups are not supported")
    head = await ctx.deps.history.MaxSeq(
        history_pb2.MaxSeqRequest(sdkappid=sdkappid, conversation=conversation.group(group_id)),
        timeout=10.0,
    )
    up_to = clear_up_to(requested, int(head.seq))
    if up_to:
        await ctx.deps.stores.msg_deletions.clear_group(sdkappid, group_id, up_to)
    return {}


OPENIM_COMMANDS: dict[str, Handler] = {"delete_c2c_msg_ramble": delete_c2c_msg_ramble}
GROUP_COMMANDS: dict[str, Handler] = {"clear_group_msg": clear_group_msg}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class DeleteC2cMsgRambleRequest(BaseModel):
    Operator_Account: str
    Peer_Account: str
    MsgKeyList: list[str] = Field(min_length=1, max_length=MAX_MSG_KEYS)


class ClearGroupMsgRequest(BaseModel):
    GroupId: str
    MsgSeq: int | None = Field(default=None, ge=MSG_SEQ.low, le=MSG_SEQ.high)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "delete_c2c_msg_ramble": DeleteC2cMsgRambleRequest,
    "clear_group_msg": ClearGroupMsgRequest,
}
