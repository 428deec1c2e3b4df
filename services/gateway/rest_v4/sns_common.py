"""What the sns commands share: reading the owner and targets, the change sequences, the
add-friend verification, and removing friendships."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from services.common.errors import ErrorCode
from services.common.store.ports import Stores
from services.common.store.sns import Friend, SnsMeta
from services.gateway import sns_rules as rules
from services.gateway.bounds import STORED_U64, UINT32_MAX, IntRange
from services.gateway.rest_v4 import accounts_check, fields
from services.gateway.rest_v4.context import RestContext

BAD = ErrorCode.SNS_INVALID_PARAM
# Any page size is taken: a page is the blocklist's rest at most.
MAX_LIMITED = IntRange(1, UINT32_MAX)
ALLOW_TYPE_TAG = "Tag_Profile_IM_AllowType"

# (sdkappid, user) -> the user's Tag_Profile_IM_AllowType, None when never set.
AllowTypeReader = Callable[[int, str], Awaitable[str | None]]


async def allow_type_of(
    read: AllowTypeReader | None, sdkappid: int, user: str, default: str
) -> str:
    """The user's add-friend verification; the app's default (messaging setting
    `default_allow_type`) when unset or unknown."""
    value = await read(sdkappid, user) if read is not None else None
    known = (rules.ALLOW_TYPE_ANY, rules.ALLOW_TYPE_NEED_CONFIRM, rules.ALLOW_TYPE_DENY_ANY)
    return value if value in known else default


def profile_allow_type_reader(stores: Stores) -> AllowTypeReader:
    async def read(sdkappid: int, user: str) -> str | None:
        values = await stores.profiles.get_values(sdkappid, [user])
        value = values.get(user, {}).get(ALLOW_TYPE_TAG)
        return value if isinstance(value, str) else None

    return read


def sequence_field(body: dict[str, Any], name: str) -> int:
    """A change sequence the caller saw last (0: none); ours are stored as int64."""
    return fields.integer(body, name, code=BAD, within=STORED_U64, required=False)


def owner_field(body: dict[str, Any]) -> str:
    return fields.text(body, "From_Account", code=BAD, max_len=rules.MAX_USER_ID_BYTES)


def to_accounts_field(body: dict[str, Any], *, required: bool = True) -> list[str]:
    return rules.user_ids(fields.raw(body, "To_Account"), "To_Account", required=required)


async def bump_sequences(
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


def group_overflow(known: tuple[str, ...], wanted: Iterable[str]) -> bool:
    return len(rules.merge_groups(known, wanted)) > rules.MAX_GROUPS


async def drop_from_lists_of(ctx: RestContext, owner: str, peers: list[str]) -> None:
    """Remove owner from the friend list of each of peers that holds it."""
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    for peer in await store.friend_owners(sdkappid, owner, peers):
        theirs = (await store.get_friends(sdkappid, peer, [owner]))[owner]
        await store.delete_friends(sdkappid, peer, [owner])
        await bump_sequences(ctx, peer, standard=True, custom=bool(theirs.custom))


async def unfriend(ctx: RestContext, owner: str, removed: list[Friend], both: bool) -> None:
    """Delete owner's entries, and with both the peers' entries for owner."""
    peers = [f.peer for f in removed]
    await ctx.deps.stores.sns.delete_friends(ctx.app.sdkappid, owner, peers)
    if removed:
        await bump_sequences(ctx, owner, standard=True, custom=any(f.custom for f in removed))
    if both:
        await drop_from_lists_of(ctx, owner, peers)


async def check_request(
    ctx: RestContext, body: dict[str, Any], single: str, both: str
) -> tuple[str, list[str], bool]:
    """A check command's owner (an imported account), the accounts it asks about, and whether
    its CheckType asks both ways."""
    owner = owner_field(body)
    peers = to_accounts_field(body)
    both_ways = rules.choice(fields.raw(body, "CheckType"), "CheckType", (single, both)) == both
    await accounts_check.require_account(ctx, owner)
    return owner, peers, both_ways
