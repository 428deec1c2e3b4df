"""sns: the blocklist (black_list_add, black_list_delete, black_list_get, black_list_check)."""

from __future__ import annotations

import time
from typing import Any

from services.common import events, messaging_settings
from services.common.errors import ErrorCode
from services.common.store.sns import BlockEntry
from services.gateway import sns_rules as rules
from services.gateway.bounds import UINT32
from services.gateway.events import emit_rest
from services.gateway.rest_v4 import accounts_check, fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.sns_common import (
    BAD,
    MAX_LIMITED,
    bump_sequences,
    check_request,
    drop_from_lists_of,
    owner_field,
    sequence_field,
    to_accounts_field,
    unfriend,
)

# ---- blocklist -------------------------------------------------------------------------------


async def black_list_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    peers = to_accounts_field(body)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    missing = await accounts_check.missing_accounts(ctx, (p for p in peers if p != owner))
    already = set(await store.get_blocked(sdkappid, owner, peers))
    count = await store.count_blocked(sdkappid, owner)
    now = int(time.time())
    results: list[dict[str, Any]] = []
    entries: list[BlockEntry] = []
    for peer in peers:
        if peer == owner:
            results.append(rules.result_item(peer, BAD, "Err_SNS_BlackListAdd_Cannot_Add_Self"))
        elif peer in missing:
            results.append(
                rules.result_item(
                    peer, ErrorCode.SNS_ACCOUNT_NOT_FOUND, "To_Account does not exist"
                )
            )
        elif peer in already:
            results.append(rules.result_item(peer, BAD, "Err_SNS_BlackListAdd_Already_Exist"))
        elif count >= rules.MAX_BLOCKED:
            results.append(
                rules.result_item(
                    peer, ErrorCode.SNS_BLACKLIST_LIMIT, f"at most {rules.MAX_BLOCKED} blocked"
                )
            )
        else:
            entries.append(BlockEntry(owner, peer, now))
            count += 1
            results.append(rules.result_item(peer))
    await store.put_blocked(sdkappid, entries)
    if entries:
        await bump_sequences(ctx, owner, black=True)
        blocked = [e.peer for e in entries]
        # Tencent's default blocklist handling ("解除好友关系") ends the friendship on both
        # sides; an app may keep it ("保留好友关系", messaging setting blocklist_keeps_friendship).
        if not messaging_settings.value(ctx.app.settings, "blocklist_keeps_friendship"):
            mine = await store.get_friends(sdkappid, owner, blocked)
            await unfriend(ctx, owner, list(mine.values()), both=False)
            await drop_from_lists_of(ctx, owner, blocked)
        await emit_rest(
            ctx, events.BLOCKLIST_ADDED, owner, {"PairList": events.pairs(owner, blocked)}
        )
    return rules.batch_reply(results)


async def black_list_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    peers = to_accounts_field(body)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    blocked = await store.get_blocked(sdkappid, owner, peers)
    await store.delete_blocked(sdkappid, owner, list(blocked))
    if blocked:
        await bump_sequences(ctx, owner, black=True)
        await emit_rest(
            ctx,
            events.BLOCKLIST_DELETED,
            owner,
            {"PairList": events.pairs(owner, [p for p in peers if p in blocked])},
        )
    return rules.batch_reply(
        [
            rules.result_item(p)
            if p in blocked
            else rules.result_item(p, BAD, "Err_SNS_BlackListDelete_Not_Exist")
            for p in peers
        ]
    )


async def black_list_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32)
    max_limited = fields.integer(body, "MaxLimited", code=BAD, within=MAX_LIMITED)
    # LastSequence only tells what the caller saw last; every page is served whatever it is.
    sequence_field(body, "LastSequence")
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    entries = await store.list_blocked(sdkappid, owner)
    chunk, next_start = rules.page(entries, start, max_limited)
    meta = await store.get_meta(sdkappid, owner)
    return {
        "BlackListItem": [rules.blocked_item(e) for e in chunk],
        "StartIndex": next_start,
        # Tencent's spelling.
        "CurruentSequence": meta.black_seq,
    }


async def black_list_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner, peers, both = await check_request(
        ctx, body, rules.BLACK_CHECK_TYPE_SINGLE, rules.BLACK_CHECK_TYPE_BOTH
    )
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    mine = set(await store.get_blocked(sdkappid, owner, peers))
    theirs = await store.blocker_owners(sdkappid, owner, peers) if both else set()
    items = [
        {
            "To_Account": p,
            "Relation": rules.black_relation(p in mine, p in theirs, both),
            "ResultCode": 0,
            "ResultInfo": "",
        }
        for p in peers
    ]
    return rules.batch_reply(items, key="BlackListCheckItem")


COMMANDS: dict[str, Handler] = {
    "black_list_add": black_list_add,
    "black_list_delete": black_list_delete,
    "black_list_get": black_list_get,
    "black_list_check": black_list_check,
}
