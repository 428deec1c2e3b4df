"""recentcontact: a user's conversation list, paged, pinned first; deleting a conversation.

get_list's SessionItem carries the conversation's StandardMark, CustomMark and ContactGroupId
(mark_contact, update_contact_group) when it has them, as Tencent's reference example does.
The reference asks for AssistFlags 63 and names no bit for them: they come whatever the flags.
"""

from __future__ import annotations

from typing import Any

from services.common import conversation, conversation_list, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.contact_groups import ContactEntry
from services.common.store.conversations import C2C, GROUP, ConversationState
from services.gateway.bounds import FLAG, UINT32
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.contact_groups import mark_fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.OPENIM_JSON_FIELDS
# AssistFlags bits (Tencent): pinned conversations supported, empty conversations returned.
PINNED = 1
EMPTY = 2


def session_item(s: ConversationState, marks: ContactEntry | None) -> dict[str, Any]:
    item: dict[str, Any] = {"Type": s.kind, "MsgTime": s.last_time_ms // 1000}
    item["To_Account" if s.kind == C2C else "GroupId"] = s.peer
    item["TopFlag"] = 1 if s.pinned_at_ms else 0
    return item | (mark_fields(marks) if marks else {})


def page_of(
    states: list[ConversationState], start: int, assist_flags: int, page: int
) -> tuple[list[ConversationState], list[ConversationState]]:
    """(pinned, normal) for one page. Pinned ones come first when the caller supports them;
    the pinned list is short and returned whole, the normal list is paged from `start`, `page`
    (the app's conversation pull count) at a time."""
    shown = [s for s in states if s.visible or (assist_flags & EMPTY and s.last_seq == 0)]
    if assist_flags & PINNED:
        pinned = sorted((s for s in shown if s.pinned_at_ms), key=lambda s: -s.pinned_at_ms)
        normal = [s for s in shown if not s.pinned_at_ms]
    else:
        pinned, normal = [], shown
    return pinned, normal[start : start + page]


async def get_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = fields.text(body, "From_Account", code=BAD)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32, required=False)
    top_start = fields.integer(body, "TopStartIndex", code=BAD, within=UINT32, required=False)
    assist = fields.integer(body, "AssistFlags", code=BAD, within=UINT32, required=False)
    fields.integer(body, "TimeStamp", code=BAD, within=UINT32, required=False)
    fields.integer(body, "TopTimeStamp", code=BAD, within=UINT32, required=False)
    if await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, [user]):
        raise TidingsError(ErrorCode.MSG_ACCOUNT_INVALID, f"From_Account {user!r} not found")
    states = sorted(
        await conversation_list.user_states(
            ctx.deps.stores, ctx.deps.tails, ctx.app.sdkappid, user
        ),
        key=lambda s: s.last_time_ms,
        reverse=True,
    )
    page = messaging_settings.conversation_page(ctx.app.settings, 0)
    pinned, normal = page_of(states, start, assist, page)
    pinned = pinned[top_start:] if top_start else pinned
    total_normal = sum(1 for s in states if s.visible and not (assist & PINNED and s.pinned_at_ms))
    next_start = start + len(normal)
    newest = max((s.last_time_ms for s in states), default=0) // 1000
    shown = (*pinned, *normal)
    marks = await ctx.deps.stores.contact_groups.get_entries(
        ctx.app.sdkappid, user, [(s.kind, s.peer) for s in shown]
    )
    return {
        "SessionItem": [session_item(s, marks.get((s.kind, s.peer))) for s in shown],
        "CompleteFlag": 1 if next_start >= total_normal else 0,
        "TimeStamp": newest,
        "StartIndex": 0 if next_start >= total_normal else next_start,
        "TopTimeStamp": newest,
        "TopStartIndex": 0,
    }


async def delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = fields.text(body, "From_Account", code=BAD)
    kind = fields.integer(body, "Type", code=BAD, within=UINT32)
    if kind == C2C:
        peer = fields.text(body, "To_Account", code=BAD)
        conv = conversation.c2c(user, peer)
    elif kind == GROUP:
        peer = fields.text(body, "ToGroupid", "To_Groupid", "GroupId", code=BAD)
        conv = conversation.group(peer)
    else:
        raise TidingsError(BAD, "Type must be 1 (C2C) or 2 (group)")
    # ClearRamble=1 also clears this user's roaming copy in Tencent; here history is shared per
    # conversation, so the conversation is hidden from the list and its unread count cleared.
    fields.integer(body, "ClearRamble", code=BAD, within=FLAG, required=False)
    await conversation_list.delete(ctx.deps.stores, ctx.deps.tails, ctx.app.sdkappid, user, conv)
    return {}


COMMANDS: dict[str, Handler] = {"get_list": get_list, "delete": delete}
