"""sns: Tencent's relationship chain — friends here, the blocklist in sns_blocklist.py,
friend-list groups in sns_groups.py, what they share in sns_common.py; COMMANDS here is the
whole service's.

Batch commands answer ActionStatus OK with one ResultItem (or InfoItem...) per account and
Fail_Account listing the failed ones; a malformed request as a whole answers 30001.
The rules live in services/gateway/sns_rules.py; this module gathers facts and writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from services.common import custom_fields, events, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.sns import Friend, Pendency
from services.gateway import sns_rules as rules
from services.gateway.before_events import PREV_FRIEND_ADD, ask_rest, friend_refusals
from services.gateway.bounds import FLAG, UINT32
from services.gateway.events import emit_rest
from services.gateway.quotas import quota_for
from services.gateway.rest_v4 import accounts_check, fields, sns_blocklist, sns_groups
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.sns_common import (
    BAD,
    allow_type_of,
    bump_sequences,
    check_request,
    group_overflow,
    owner_field,
    profile_allow_type_reader,
    sequence_field,
    to_accounts_field,
    unfriend,
)

# ---- friend_add / friend_import --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AddRequest:
    to: str
    remark: str
    group: str
    source: str
    wording: str


def _add_request(item: dict[str, Any]) -> _AddRequest:
    group = fields.text(item, "GroupName", code=BAD, required=False)
    if group:
        # friend_add takes one group, as a string.
        group = rules.group_names(group, "GroupName")[0]
    return _AddRequest(
        to=fields.text(item, "To_Account", code=BAD, max_len=rules.MAX_USER_ID_BYTES),
        remark=rules.bounded_text(item.get("Remark"), "Remark", rules.MAX_REMARK_BYTES),
        group=group,
        source=rules.add_source(item.get("AddSource")),
        wording=rules.bounded_text(item.get("AddWording"), "AddWording", rules.MAX_WORDING_BYTES),
    )


async def friend_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    raw_items = rules.object_list(fields.raw(body, "AddFriendItem"), "AddFriendItem")
    requests = [_add_request(item) for item in raw_items]
    both = (
        rules.choice(
            fields.raw(body, "AddType"),
            "AddType",
            (rules.ADD_TYPE_SINGLE, rules.ADD_TYPE_BOTH),
            default=rules.ADD_TYPE_BOTH,
        )
        == rules.ADD_TYPE_BOTH
    )
    forced = fields.integer(body, "ForceAddFlags", code=BAD, within=FLAG, required=False) == 1
    await accounts_check.require_account(ctx, owner)
    refusals = await _before_friend_add(ctx, owner, requests, both, forced)

    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    peers = list(dict.fromkeys(r.to for r in requests))
    missing = await accounts_check.missing_accounts(ctx, (p for p in peers if p != owner))
    mine = await store.get_friends(sdkappid, owner, peers)
    has_me = await store.friend_owners(sdkappid, owner, peers)
    i_blocked = set(await store.get_blocked(sdkappid, owner, peers))
    blocked_me = await store.blocker_owners(sdkappid, owner, peers)
    my_count = await store.count_friends(sdkappid, owner)
    groups = (await store.get_meta(sdkappid, owner)).groups
    limit = quota_for(ctx.app.edition).friends_per_user
    read_allow_type = profile_allow_type_reader(ctx.deps.stores)
    default_allow_type = str(messaging_settings.value(ctx.app.settings, "default_allow_type"))
    now = int(time.time())

    results: list[dict[str, Any]] = []
    writes: list[Friend] = []
    pendencies: list[Pendency] = []
    peers_changed: list[str] = []
    for r in requests:
        if r.to in refusals:
            results.append(rules.result_item(r.to, *refusals[r.to]))
            continue
        usable = r.to != owner and r.to not in missing
        allow_type = rules.ALLOW_TYPE_ANY
        if usable and not forced:
            allow_type = await allow_type_of(read_allow_type, sdkappid, r.to, default_allow_type)
        peer_count = 0
        if usable and both and r.to not in has_me:
            peer_count = await store.count_friends(sdkappid, r.to)
        refusal = rules.add_refusal(
            rules.AddFacts(
                is_self=r.to == owner,
                exists=r.to not in missing,
                a_blocked_b=r.to in i_blocked,
                b_blocked_a=r.to in blocked_me,
                a_has_b=r.to in mine,
                b_has_a=r.to in has_me,
                both=both,
                forced=forced,
                b_allow_type=allow_type,
                a_friend_count=my_count,
                b_friend_count=peer_count,
                friend_limit=limit,
            )
        )
        if refusal is None and r.group and group_overflow(groups, [r.group]):
            refusal = ErrorCode.SNS_GROUP_LIMIT, f"at most {rules.MAX_GROUPS} groups"
        if refusal is not None:
            code, info = refusal
            if code == ErrorCode.SNS_ALLOW_TYPE_NEED_CONFIRM:
                pendencies.append(
                    Pendency(r.to, owner, r.source, r.wording, r.remark, r.group, now)
                )
            results.append(rules.result_item(r.to, code, info))
            continue
        if r.to not in mine:
            mine[r.to] = Friend(
                owner,
                r.to,
                remark=r.remark,
                remark_time=now if r.remark else 0,
                groups=(r.group,) if r.group else (),
                add_source=r.source,
                add_wording=r.wording,
                add_time=now,
            )
            writes.append(mine[r.to])
            my_count += 1
            if r.group:
                groups = rules.merge_groups(groups, [r.group])
        if both and r.to not in has_me:
            # The peer's entry has no remark or group of the peer's choosing yet.
            writes.append(
                Friend(r.to, owner, add_source=r.source, add_wording=r.wording, add_time=now)
            )
            has_me.add(r.to)
            peers_changed.append(r.to)
        results.append(rules.result_item(r.to))

    await store.put_friends(sdkappid, writes)
    await store.put_pendencies(sdkappid, pendencies)
    added = [item["To_Account"] for item in results if item["ResultCode"] == 0]
    # A friendship formed settles any request pending between the two, either way.
    await store.delete_pendencies(sdkappid, owner, added)
    for peer in added:
        await store.delete_pendencies(sdkappid, peer, [owner])
    if any(f.owner == owner for f in writes):
        await bump_sequences(ctx, owner, standard=True, groups=groups)
    for peer in peers_changed:
        await bump_sequences(ctx, peer, standard=True)
    if writes:
        await emit_rest(
            ctx,
            events.FRIENDS_ADDED,
            owner,
            {
                "PairList": [
                    {"From_Account": f.owner, "To_Account": f.peer, "Initiator_Account": owner}
                    for f in writes
                ],
                "ClientCmd": "friend_add",
                "Admin_Account": ctx.identifier,
                "ForceFlag": 1 if forced else 0,
            },
        )
    return rules.batch_reply(results)


async def _before_friend_add(
    ctx: RestContext, owner: str, requests: list[_AddRequest], both: bool, forced: bool
) -> dict[str, tuple[int, str]]:
    """Sns.CallbackPrevFriendAdd: the accounts the app server refuses, with its codes."""
    verdict = await ask_rest(
        ctx,
        PREV_FRIEND_ADD,
        {
            "Requester_Account": ctx.identifier,
            "From_Account": owner,
            "FriendItem": [
                {
                    "To_Account": r.to,
                    "Remark": r.remark,
                    "GroupName": r.group,
                    "AddSource": r.source,
                    "AddWording": r.wording,
                }
                for r in requests
            ],
            "AddType": rules.ADD_TYPE_BOTH if both else rules.ADD_TYPE_SINGLE,
            "ForceAddFlags": 1 if forced else 0,
        },
    )
    if verdict.error_code == ErrorCode.CALLBACK_UNAVAILABLE:
        raise TidingsError(ErrorCode.CALLBACK_UNAVAILABLE, verdict.error_info)
    if not verdict.allowed:
        return {r.to: (verdict.error_code, verdict.error_info) for r in requests}
    return friend_refusals(verdict.answer)


def _import_request(owner: str, item: dict[str, Any], now: int) -> Friend:
    remark = rules.bounded_text(item.get("Remark"), "Remark", rules.MAX_REMARK_BYTES)
    group_value = item.get("GroupName")
    return Friend(
        owner=owner,
        peer=fields.text(item, "To_Account", code=BAD, max_len=rules.MAX_USER_ID_BYTES),
        remark=remark,
        remark_time=rules.stored_int(item.get("RemarkTime"), "RemarkTime", now if remark else 0),
        groups=rules.group_names(group_value, "GroupName") if group_value is not None else (),
        add_source=rules.add_source(item.get("AddSource")),
        add_wording=rules.bounded_text(
            item.get("AddWording"), "AddWording", rules.MAX_WORDING_BYTES
        ),
        add_time=rules.stored_int(item.get("AddTime"), "AddTime") or now,
        custom=rules.custom_fields(item.get("CustomItem"), "CustomItem"),
    )


async def friend_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    now = int(time.time())
    raw_items = rules.object_list(fields.raw(body, "AddFriendItem"), "AddFriendItem")
    entries = [_import_request(owner, item, now) for item in raw_items]
    for item in raw_items:
        custom_fields.check_friend_items(ctx.app.settings, item.get("CustomItem"))
    await accounts_check.require_account(ctx, owner)

    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    peers = list(dict.fromkeys(f.peer for f in entries))
    missing = await accounts_check.missing_accounts(ctx, (p for p in peers if p != owner))
    mine = set(await store.get_friends(sdkappid, owner, peers))
    my_count = await store.count_friends(sdkappid, owner)
    groups = (await store.get_meta(sdkappid, owner)).groups
    limit = quota_for(ctx.app.edition).friends_per_user

    results: list[dict[str, Any]] = []
    writes: list[Friend] = []
    for entry in entries:
        refusal = rules.import_refusal(
            is_self=entry.peer == owner,
            exists=entry.peer not in missing,
            a_has_b=entry.peer in mine,
            a_friend_count=my_count,
            friend_limit=limit,
        )
        if refusal is None and group_overflow(groups, entry.groups):
            refusal = ErrorCode.SNS_GROUP_LIMIT, f"at most {rules.MAX_GROUPS} groups"
        if refusal is not None:
            results.append(rules.result_item(entry.peer, *refusal))
            continue
        writes.append(entry)
        mine.add(entry.peer)
        my_count += 1
        groups = rules.merge_groups(groups, entry.groups)
        results.append(rules.result_item(entry.peer))

    await store.put_friends(sdkappid, writes)
    if writes:
        await bump_sequences(
            ctx, owner, standard=True, custom=any(f.custom for f in writes), groups=groups
        )
        # No callback (Tencent has none for imports), but the friend check reads them.
        await emit_rest(
            ctx,
            events.FRIENDS_IMPORTED,
            owner,
            {"PairList": events.pairs(owner, [f.peer for f in writes])},
        )
    return rules.batch_reply(results)


# ---- friend_update / friend_delete / friend_delete_all ---------------------------------------


async def friend_update(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    raw_items = rules.object_list(fields.raw(body, "UpdateItem"), "UpdateItem")
    targets = [
        fields.text(item, "To_Account", code=BAD, max_len=rules.MAX_USER_ID_BYTES)
        for item in raw_items
    ]
    await accounts_check.require_account(ctx, owner)

    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    mine = await store.get_friends(sdkappid, owner, targets)
    groups = (await store.get_meta(sdkappid, owner)).groups
    now = int(time.time())
    results: list[dict[str, Any]] = []
    changed: dict[str, Friend] = {}
    for peer, item in zip(targets, raw_items, strict=True):
        current = mine.get(peer)
        if current is None:
            results.append(rules.result_item(peer, BAD, "Err_SNS_FriendUpdate_Friend_Not_Exist"))
            continue
        try:
            updated = rules.apply_sns_items(current, item.get("SnsItem"), now)
            custom_fields.check_friend_items(ctx.app.settings, item.get("SnsItem"))
        except TidingsError as err:
            results.append(rules.result_item(peer, err.code, err.info))
            continue
        if group_overflow(groups, updated.groups):
            results.append(
                rules.result_item(
                    peer,
                    ErrorCode.SNS_GROUP_LIMIT,
                    "Err_SNS_FriendUpdate_Group_Num_Exceed_Threshold",
                )
            )
            continue
        groups = rules.merge_groups(groups, updated.groups)
        mine[peer] = changed[peer] = updated
        results.append(rules.result_item(peer))

    originals = await store.get_friends(sdkappid, owner, list(changed))
    await store.put_friends(sdkappid, list(changed.values()))
    if changed:
        await bump_sequences(
            ctx,
            owner,
            standard=any(_standard_changed(originals[p], f) for p, f in changed.items()),
            custom=any(originals[p].custom != f.custom for p, f in changed.items()),
            groups=groups,
        )
    return rules.batch_reply(results)


def _standard_changed(before: Friend, after: Friend) -> bool:
    return replace(before, custom={}) != replace(after, custom={})


def _delete_both(body: dict[str, Any]) -> bool:
    # Tencent documents Delete_Type_Single as friend_delete_all's default; friend_delete
    # takes the same default, the one that never touches the other user's list unasked.
    delete_type = rules.choice(
        fields.raw(body, "DeleteType"),
        "DeleteType",
        (rules.DELETE_TYPE_SINGLE, rules.DELETE_TYPE_BOTH),
        default=rules.DELETE_TYPE_SINGLE,
    )
    return delete_type == rules.DELETE_TYPE_BOTH


async def friend_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    peers = to_accounts_field(body)
    both = _delete_both(body)
    await accounts_check.require_account(ctx, owner)
    mine = await ctx.deps.stores.sns.get_friends(ctx.app.sdkappid, owner, peers)
    await _unfriend_and_tell(ctx, owner, [mine[p] for p in peers if p in mine], both)
    return rules.batch_reply(
        [
            rules.result_item(p)
            if p in mine
            else rules.result_item(
                p, ErrorCode.SNS_DELETE_NON_FRIEND, "Err_SNS_FriendDelete_Not_Friend"
            )
            for p in peers
        ]
    )


async def friend_delete_all(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    both = _delete_both(body)
    await accounts_check.require_account(ctx, owner)
    friends = await ctx.deps.stores.sns.list_friends(ctx.app.sdkappid, owner)
    await _unfriend_and_tell(ctx, owner, friends, both)
    return {}


async def _unfriend_and_tell(
    ctx: RestContext, owner: str, removed: list[Friend], both: bool
) -> None:
    """unfriend, then the event naming every entry it deleted."""
    peers = [f.peer for f in removed]
    holders = (
        await ctx.deps.stores.sns.friend_owners(ctx.app.sdkappid, owner, peers) if both else set()
    )
    await unfriend(ctx, owner, removed, both)
    pair_list = events.pairs(owner, peers) + [
        {"From_Account": p, "To_Account": owner} for p in peers if p in holders
    ]
    if pair_list:
        await emit_rest(ctx, events.FRIENDS_DELETED, owner, {"PairList": pair_list})


# ---- friend_check / friend_get / friend_get_list ---------------------------------------------


async def friend_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner, peers, both = await check_request(
        ctx, body, rules.CHECK_TYPE_SINGLE, rules.CHECK_TYPE_BOTH
    )
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    mine = await store.get_friends(sdkappid, owner, peers)
    has_me = await store.friend_owners(sdkappid, owner, peers) if both else set()
    items = [
        {
            "To_Account": p,
            "Relation": rules.friend_relation(p in mine, p in has_me, both),
            "ResultCode": 0,
            "ResultInfo": "",
        }
        for p in peers
    ]
    return rules.batch_reply(items, key="InfoItem")


async def friend_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32)
    seen_standard = sequence_field(body, "StandardSequence")
    seen_custom = sequence_field(body, "CustomSequence")
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    friends = await store.list_friends(sdkappid, owner)
    chunk, next_start = rules.page(friends, start, rules.FRIEND_PAGE_SIZE)
    # A sequence equal to the server's means the caller already holds that part of the data.
    standard = seen_standard != meta.standard_seq
    custom = seen_custom != meta.custom_seq
    return {
        "UserDataItem": [
            {
                "To_Account": f.peer,
                "ValueItem": rules.value_items(f, standard=standard, custom=custom),
            }
            for f in chunk
        ],
        "StandardSequence": meta.standard_seq,
        "CustomSequence": meta.custom_seq,
        "FriendNum": len(friends),
        "NextStartIndex": next_start,
        "CompleteFlag": 0 if next_start else 1,
    }


async def friend_get_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    peers = to_accounts_field(body)
    tags = rules.string_list(fields.raw(body, "TagList"), "TagList", maximum=100)
    if not tags:
        raise TidingsError(BAD, "TagList must not be empty")
    for tag in tags:
        if not (rules.is_sns_tag(tag) or tag.startswith(rules.PROFILE_TAG_PREFIX)):
            raise TidingsError(BAD, f"TagList: {tag!r} is neither a friend nor a profile field")
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    mine = await ctx.deps.stores.sns.get_friends(sdkappid, owner, peers)
    profiles = await _profile_values(ctx, list(mine), tags)
    items: list[dict[str, Any]] = []
    for peer in peers:
        friend = mine.get(peer)
        if friend is None:
            items.append(rules.result_item(peer, BAD, "Err_SNS_FriendGetList_Friend_Not_Exist"))
            continue
        profile = profiles.get(peer, {})
        values = [
            (tag, rules.sns_value(friend, tag) if rules.is_sns_tag(tag) else profile.get(tag))
            for tag in tags
        ]
        items.append(
            {
                "To_Account": peer,
                "SnsProfileItem": [
                    {"Tag": tag, "Value": value} for tag, value in values if value not in (None, "")
                ],
                "ResultCode": 0,
                "ResultInfo": "",
            }
        )
    return rules.batch_reply(items, key="InfoItem")


async def _profile_values(
    ctx: RestContext, users: list[str], tags: list[str]
) -> dict[str, dict[str, Any]]:
    """The users' Tag_Profile_* values, when the request asks for any."""
    if not any(t.startswith(rules.PROFILE_TAG_PREFIX) for t in tags):
        return {}
    return dict(await accounts_check.profile_values(ctx, users))


COMMANDS: dict[str, Handler] = {
    "friend_add": friend_add,
    "friend_import": friend_import,
    "friend_update": friend_update,
    "friend_delete": friend_delete,
    "friend_delete_all": friend_delete_all,
    "friend_check": friend_check,
    "friend_get": friend_get,
    "friend_get_list": friend_get_list,
    **sns_blocklist.COMMANDS,
    **sns_groups.COMMANDS,
}
