"""sns: Tencent's relationship chain — friends, the blocklist and friend-list groups.

Batch commands answer ActionStatus OK with one ResultItem (or InfoItem...) per account and
Fail_Account listing the failed ones; a malformed request as a whole answers 30001.
The rules live in services/gateway/sns_rules.py; this module gathers facts and writes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import Stores
from services.common.store.sns import BlockEntry, Friend, Pendency, SnsMeta
from services.gateway import sns_rules as rules
from services.gateway.before_events import PREV_FRIEND_ADD, ask_rest, friend_refusals
from services.gateway.bounds import FLAG, STORED_U64, UINT32, UINT32_MAX, IntRange
from services.gateway.events import emit_rest
from services.gateway.quotas import quota_for
from services.gateway.rest_v4 import accounts_check, fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.SNS_INVALID_PARAM
# Any page size is taken: a page is the blocklist's rest at most.
MAX_LIMITED = IntRange(1, UINT32_MAX)
ALLOW_TYPE_TAG = "Tag_Profile_IM_AllowType"

# (sdkappid, user) -> the user's Tag_Profile_IM_AllowType, None when never set.
AllowTypeReader = Callable[[int, str], Awaitable[str | None]]


async def allow_type_of(read: AllowTypeReader | None, sdkappid: int, user: str) -> str:
    """The user's add-friend verification; AllowType_Type_AllowAny when unset or unknown."""
    value = await read(sdkappid, user) if read is not None else None
    known = (rules.ALLOW_TYPE_ANY, rules.ALLOW_TYPE_NEED_CONFIRM, rules.ALLOW_TYPE_DENY_ANY)
    return value if value in known else rules.ALLOW_TYPE_ANY


def profile_allow_type_reader(stores: Stores) -> AllowTypeReader:
    async def read(sdkappid: int, user: str) -> str | None:
        values = await stores.profiles.get_values(sdkappid, [user])
        value = values.get(user, {}).get(ALLOW_TYPE_TAG)
        return value if isinstance(value, str) else None

    return read


def _sequence(body: dict[str, Any], name: str) -> int:
    """A change sequence the caller saw last (0: none); ours are stored as int64."""
    return fields.integer(body, name, code=BAD, within=STORED_U64, required=False)


def _owner(body: dict[str, Any]) -> str:
    return fields.text(body, "From_Account", code=BAD, max_len=rules.MAX_USER_ID_BYTES)


def _to_accounts(body: dict[str, Any], *, required: bool = True) -> list[str]:
    return rules.user_ids(fields.raw(body, "To_Account"), "To_Account", required=required)


async def _bump(
    ctx: RestContext,
    owner: str,
    *,
    standard: bool = False,
    custom: bool = False,
    black: bool = False,
    groups: tuple[str, ...] | None = None,
) -> SnsMeta:
    """Advance owner's sequences for what changed; a new group list advances group_seq."""
    store = ctx.deps.stores.sns
    meta = await store.get_meta(ctx.app.sdkappid, owner)
    new_groups = meta.groups if groups is None else groups
    updated = SnsMeta(
        groups=new_groups,
        standard_seq=meta.standard_seq + standard,
        custom_seq=meta.custom_seq + custom,
        group_seq=meta.group_seq + (new_groups != meta.groups),
        black_seq=meta.black_seq + black,
    )
    if updated != meta:
        await store.put_meta(ctx.app.sdkappid, owner, updated)
    return updated


def _group_overflow(known: tuple[str, ...], wanted: Iterable[str]) -> bool:
    return len(rules.merge_groups(known, wanted)) > rules.MAX_GROUPS


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
    owner = _owner(body)
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
            allow_type = await allow_type_of(read_allow_type, sdkappid, r.to)
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
        if refusal is None and r.group and _group_overflow(groups, [r.group]):
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
        await _bump(ctx, owner, standard=True, groups=groups)
    for peer in peers_changed:
        await _bump(ctx, peer, standard=True)
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
    owner = _owner(body)
    now = int(time.time())
    raw_items = rules.object_list(fields.raw(body, "AddFriendItem"), "AddFriendItem")
    entries = [_import_request(owner, item, now) for item in raw_items]
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
        if refusal is None and _group_overflow(groups, entry.groups):
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
        await _bump(ctx, owner, standard=True, custom=any(f.custom for f in writes), groups=groups)
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
    owner = _owner(body)
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
        except TidingsError as err:
            results.append(rules.result_item(peer, err.code, err.info))
            continue
        if _group_overflow(groups, updated.groups):
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
        await _bump(
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


async def _drop_from_lists_of(ctx: RestContext, owner: str, peers: list[str]) -> None:
    """Remove owner from the friend list of each of peers that holds it."""
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    for peer in await store.friend_owners(sdkappid, owner, peers):
        theirs = (await store.get_friends(sdkappid, peer, [owner]))[owner]
        await store.delete_friends(sdkappid, peer, [owner])
        await _bump(ctx, peer, standard=True, custom=bool(theirs.custom))


async def _unfriend(ctx: RestContext, owner: str, removed: list[Friend], both: bool) -> None:
    """Delete owner's entries, and with both the peers' entries for owner."""
    peers = [f.peer for f in removed]
    await ctx.deps.stores.sns.delete_friends(ctx.app.sdkappid, owner, peers)
    if removed:
        await _bump(ctx, owner, standard=True, custom=any(f.custom for f in removed))
    if both:
        await _drop_from_lists_of(ctx, owner, peers)


async def friend_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _to_accounts(body)
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
    owner = _owner(body)
    both = _delete_both(body)
    await accounts_check.require_account(ctx, owner)
    friends = await ctx.deps.stores.sns.list_friends(ctx.app.sdkappid, owner)
    await _unfriend_and_tell(ctx, owner, friends, both)
    return {}


async def _unfriend_and_tell(
    ctx: RestContext, owner: str, removed: list[Friend], both: bool
) -> None:
    """_unfriend, then the event naming every entry it deleted."""
    peers = [f.peer for f in removed]
    holders = (
        await ctx.deps.stores.sns.friend_owners(ctx.app.sdkappid, owner, peers) if both else set()
    )
    await _unfriend(ctx, owner, removed, both)
    pair_list = events.pairs(owner, peers) + [
        {"From_Account": p, "To_Account": owner} for p in peers if p in holders
    ]
    if pair_list:
        await emit_rest(ctx, events.FRIENDS_DELETED, owner, {"PairList": pair_list})


# ---- friend_check / friend_get / friend_get_list ---------------------------------------------


async def friend_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _to_accounts(body)
    both = (
        rules.choice(
            fields.raw(body, "CheckType"),
            "CheckType",
            (rules.CHECK_TYPE_SINGLE, rules.CHECK_TYPE_BOTH),
        )
        == rules.CHECK_TYPE_BOTH
    )
    await accounts_check.require_account(ctx, owner)
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
    owner = _owner(body)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32)
    seen_standard = _sequence(body, "StandardSequence")
    seen_custom = _sequence(body, "CustomSequence")
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
        # Tencent's example reply carries it (empty on success).
    }


async def friend_get_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _to_accounts(body)
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


# ---- blocklist -------------------------------------------------------------------------------


async def black_list_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _to_accounts(body)
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
        await _bump(ctx, owner, black=True)
        # Tencent's default blocklist handling ("解除好友关系"): blocking ends the friendship
        # on both sides.
        blocked = [e.peer for e in entries]
        mine = await store.get_friends(sdkappid, owner, blocked)
        await _unfriend(ctx, owner, list(mine.values()), both=False)
        await _drop_from_lists_of(ctx, owner, blocked)
        await emit_rest(
            ctx, events.BLOCKLIST_ADDED, owner, {"PairList": events.pairs(owner, blocked)}
        )
    return rules.batch_reply(results)


async def black_list_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _to_accounts(body)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    blocked = await store.get_blocked(sdkappid, owner, peers)
    await store.delete_blocked(sdkappid, owner, list(blocked))
    if blocked:
        await _bump(ctx, owner, black=True)
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
    owner = _owner(body)
    start = fields.integer(body, "StartIndex", code=BAD, within=UINT32)
    max_limited = fields.integer(body, "MaxLimited", code=BAD, within=MAX_LIMITED)
    # LastSequence only tells what the caller saw last; every page is served whatever it is.
    _sequence(body, "LastSequence")
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
    owner = _owner(body)
    peers = _to_accounts(body)
    both = (
        rules.choice(
            fields.raw(body, "CheckType"),
            "CheckType",
            (rules.BLACK_CHECK_TYPE_SINGLE, rules.BLACK_CHECK_TYPE_BOTH),
        )
        == rules.BLACK_CHECK_TYPE_BOTH
    )
    await accounts_check.require_account(ctx, owner)
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


# ---- friend-list groups ----------------------------------------------------------------------


def _group_list(body: dict[str, Any], *, required: bool) -> tuple[str, ...]:
    value = fields.raw(body, "GroupName")
    if value is None and not required:
        return ()
    names = rules.string_list(value, "GroupName", maximum=rules.MAX_GROUPS)
    if required and not names:
        raise TidingsError(BAD, "GroupName must not be empty")
    return rules.group_names(names, "GroupName")


async def group_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    names = _group_list(body, required=True)
    peers = _to_accounts(body, required=False)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    existing = [n for n in names if n in meta.groups]
    if existing:
        raise TidingsError(BAD, f"group {existing[0]!r} already exists")
    if _group_overflow(meta.groups, names):
        raise TidingsError(ErrorCode.SNS_GROUP_LIMIT, f"at most {rules.MAX_GROUPS} groups")
    mine = await store.get_friends(sdkappid, owner, peers)
    moved = [
        replace(f, groups=rules.merge_groups(f.groups, names)) for p in peers if (f := mine.get(p))
    ]
    await store.put_friends(sdkappid, moved)
    updated = await _bump(
        ctx, owner, standard=bool(moved), groups=rules.merge_groups(meta.groups, names)
    )
    reply: Reply = {"CurrentSequence": updated.group_seq}
    if peers:
        reply |= rules.batch_reply(
            [
                rules.result_item(p)
                if p in mine
                else rules.result_item(
                    p, ErrorCode.SNS_GROUP_ADD_NOT_FRIEND, "Err_SNS_GroupAdd_ToTinyId_Not_Friend"
                )
                for p in peers
            ]
        )
    return reply


async def group_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    names = _group_list(body, required=True)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    unknown = [n for n in names if n not in meta.groups]
    if unknown:
        raise TidingsError(BAD, f"group {unknown[0]!r} does not exist")
    friends = await store.list_friends(sdkappid, owner)
    moved = [
        replace(f, groups=tuple(g for g in f.groups if g not in names))
        for f in friends
        if set(f.groups) & set(names)
    ]
    await store.put_friends(sdkappid, moved)
    remaining = tuple(g for g in meta.groups if g not in names)
    updated = await _bump(ctx, owner, standard=bool(moved), groups=remaining)
    return {"CurrentSequence": updated.group_seq}


async def group_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    need_friend = (
        rules.choice(
            fields.raw(body, "NeedFriend"), "NeedFriend", (rules.NEED_FRIEND_YES,), default=""
        )
        == rules.NEED_FRIEND_YES
    )
    wanted = _group_list(body, required=False)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    friends = await store.list_friends(sdkappid, owner)
    # Names the user does not have are left out rather than failing the whole pull.
    shown = [g for g in meta.groups if not wanted or g in wanted]
    items: list[dict[str, Any]] = []
    for group in shown:
        members = [f.peer for f in friends if group in f.groups]
        item: dict[str, Any] = {"GroupName": group, "FriendNumber": len(members)}
        if need_friend:
            item["To_Account"] = members
        items.append(item)
    return {"ResultItem": items, "CurrentSequence": meta.group_seq}


COMMANDS: dict[str, Handler] = {
    "friend_add": friend_add,
    "friend_import": friend_import,
    "friend_update": friend_update,
    "friend_delete": friend_delete,
    "friend_delete_all": friend_delete_all,
    "friend_check": friend_check,
    "friend_get": friend_get,
    "friend_get_list": friend_get_list,
    "black_list_add": black_list_add,
    "black_list_delete": black_list_delete,
    "black_list_get": black_list_get,
    "black_list_check": black_list_check,
    "group_add": group_add,
    "group_delete": group_delete,
    "group_get": group_get,
}
