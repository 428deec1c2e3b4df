"""What a send is checked against, in the gateway's memory: account existence, global
no-speaking, friendships, blocklists, group records and member rows (role, mute).

Each is loaded from the store on a miss, kept (bounded, least recently used out), and dropped
when a change is announced on im.events:

- by this process, at once, when it writes the change itself (`EventEmitter` applies the event
  here before producing it: the REST call that made the change returns only after that);
- by every other gateway when its feed reads the event (`ConfigFeed.follow`).

The max age is the fallback for writes that announce nothing (the CLI writes the store
directly) and for events lost to a broker outage (a produce that fails after the write is
logged and counted; a gap in reading clears everything). Entries are the store's own records:
callers read them, never change them. The message fields of a cached Group (last_msg_time,
next_msg_seq) are not kept current: the send checks do not read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from google.protobuf.message import DecodeError

from services.common import events
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import Event
from services.common.store.groups import Group, Member
from services.common.store.ports import Stores
from services.common.store.profiles import CachedNoSpeakingStore, NoSpeaking, NoSpeakingStore
from services.gateway.directory_cache import MISSING, DirectoryCache

log = get_logger(__name__)

MAX_AGE_S = 30.0
MAX_ACCOUNTS = 200_000
MAX_PAIRS = 200_000
MAX_GROUPS = 50_000
MAX_MEMBERS = 200_000
MAX_NO_SPEAKING = 100_000
# The metric stage: tidings_stage_messages_total{stage="directory", app, outcome} counts the
# events applied, outcome "local" (written by this process) or "feed" (read from im.events).
STAGE = "directory"

_MEMBER_LISTS = ("MemberList", "NewMemberList", "ExitMemberList")


def _uncached(store: NoSpeakingStore) -> NoSpeakingStore:
    """The store under its 1 s read cache: after an invalidation the directory must read the
    truth, not what another cache kept."""
    if isinstance(store, CachedNoSpeakingStore):
        inner: NoSpeakingStore = store._inner
        return inner
    return store


class Directory:
    def __init__(self, stores: Stores, max_age_s: float = MAX_AGE_S) -> None:
        self._stores = stores
        self._no_speaking_store = _uncached(stores.no_speaking)
        self.accounts: DirectoryCache[tuple[int, str], bool] = DirectoryCache(
            MAX_ACCOUNTS, max_age_s
        )
        self.no_speaking_cache: DirectoryCache[tuple[int, str], NoSpeaking] = DirectoryCache(
            MAX_NO_SPEAKING, max_age_s
        )
        # (app, owner, peer): peer is on owner's friend list / blocklist.
        self.friends: DirectoryCache[tuple[int, str, str], bool] = DirectoryCache(
            MAX_PAIRS, max_age_s
        )
        self.blocked: DirectoryCache[tuple[int, str, str], bool] = DirectoryCache(
            MAX_PAIRS, max_age_s
        )
        self.groups: DirectoryCache[tuple[int, str], Group | None] = DirectoryCache(
            MAX_GROUPS, max_age_s
        )
        # (app, group, user), under the scope (app, group): a destroyed group drops them all.
        self.members: DirectoryCache[tuple[int, str, str], Member | None] = DirectoryCache(
            MAX_MEMBERS, max_age_s
        )
        self._handlers: dict[str, Callable[[int, dict[str, Any]], None]] = {
            events.ACCOUNTS_IMPORTED: self._on_accounts,
            events.ACCOUNTS_DELETED: self._on_accounts,
            events.PROFILE_SET: self._on_profile,
            events.NO_SPEAKING_SET: self._on_no_speaking,
            events.FRIENDS_ADDED: self._on_friends,
            events.FRIENDS_DELETED: self._on_friends,
            events.FRIENDS_IMPORTED: self._on_friends,
            events.BLOCKLIST_ADDED: self._on_blocked,
            events.BLOCKLIST_DELETED: self._on_blocked,
            events.GROUP_CREATED: self._on_group_replaced,
            events.GROUP_IMPORTED: self._on_group_replaced,
            events.GROUP_DESTROYED: self._on_group_replaced,
            events.GROUP_INFO_CHANGED: self._on_group_changed,
            events.GROUP_MODIFIED: self._on_group_changed,
            events.GROUP_MEMBERS_JOINED: self._on_members,
            events.GROUP_MEMBERS_EXITED: self._on_members,
            events.GROUP_MEMBERS_IMPORTED: self._on_members,
            events.GROUP_MEMBERS_MUTED: self._on_members,
            events.GROUP_MEMBER_ROLE_CHANGED: self._on_roles,
        }

    # --- lookups --------------------------------------------------------------------------

    async def missing_accounts(self, sdkappid: int, users: Sequence[str]) -> list[str]:
        """Which of users were never imported (or were deleted), in the order given. One store
        read for all the users not cached."""
        cache = self.accounts
        exists: dict[str, bool] = {}
        unknown: list[str] = []
        for user in users:
            held = cache.get((sdkappid, user))
            if held is MISSING:
                unknown.append(user)
            else:
                exists[user] = held is True
        if unknown:
            ticket = cache.begin()
            try:
                found = await self._stores.directory.get_accounts(sdkappid, unknown)
                for user in unknown:
                    exists[user] = user in found
                    cache.put(ticket, (sdkappid, user), user in found)
            finally:
                cache.end()
        return [u for u in users if not exists[u]]

    async def account_exists(self, sdkappid: int, user: str) -> bool:
        key = (sdkappid, user)
        held = self.accounts.get(key)
        if held is MISSING:
            return await self.accounts.load(key, lambda: self._account(sdkappid, user))
        return held is True

    async def no_speaking(self, sdkappid: int, user: str) -> NoSpeaking:
        key = (sdkappid, user)
        held = self.no_speaking_cache.get(key)
        if held is MISSING:
            return await self.no_speaking_cache.load(
                key, lambda: self._no_speaking_store.get(sdkappid, user)
            )
        return held  # type: ignore[return-value]

    async def is_friend(self, sdkappid: int, owner: str, peer: str) -> bool:
        """peer is on owner's friend list."""
        key = (sdkappid, owner, peer)
        held = self.friends.get(key)
        if held is MISSING:
            return await self.friends.load(key, lambda: self._friend(sdkappid, owner, peer))
        return held is True

    async def is_blocked(self, sdkappid: int, owner: str, peer: str) -> bool:
        """peer is on owner's blocklist."""
        key = (sdkappid, owner, peer)
        held = self.blocked.get(key)
        if held is MISSING:
            return await self.blocked.load(key, lambda: self._blocked(sdkappid, owner, peer))
        return held is True

    async def group(self, sdkappid: int, group_id: str) -> Group | None:
        key = (sdkappid, group_id)
        held = self.groups.get(key)
        if held is MISSING:
            return await self.groups.load(
                key, lambda: self._stores.groups.get_group(sdkappid, group_id)
            )
        return held  # type: ignore[return-value]

    async def member(self, sdkappid: int, group_id: str, user: str) -> Member | None:
        key = (sdkappid, group_id, user)
        held = self.members.get(key)
        if held is MISSING:
            return await self.members.load(
                key, lambda: self._member(sdkappid, group_id, user), scope=(sdkappid, group_id)
            )
        return held  # type: ignore[return-value]

    async def _account(self, sdkappid: int, user: str) -> bool:
        return user in await self._stores.directory.get_accounts(sdkappid, [user])

    async def _friend(self, sdkappid: int, owner: str, peer: str) -> bool:
        return peer in await self._stores.sns.get_friends(sdkappid, owner, [peer])

    async def _blocked(self, sdkappid: int, owner: str, peer: str) -> bool:
        return peer in await self._stores.sns.get_blocked(sdkappid, owner, [peer])

    async def _member(self, sdkappid: int, group_id: str, user: str) -> Member | None:
        return (await self._stores.groups.get_members(sdkappid, group_id, [user])).get(user)

    # --- invalidation -------------------------------------------------------------------

    def forget_accounts(self, sdkappid: int, users: Iterable[str]) -> None:
        for user in users:
            self.accounts.invalidate((sdkappid, user))

    def apply(self, event: Event, source: str = "feed") -> bool:
        """Drop what `event` changed; False if it changes nothing cached here. An event whose
        payload cannot be read (a bug: gateways write them) is logged, and the max age
        applies."""
        handler = self._handlers.get(event.kind)
        if handler is None:
            return False
        try:
            payload = orjson.loads(event.payload_json or b"{}")
            if not isinstance(payload, dict):
                raise TypeError("payload is not an object")
            handler(int(event.sdkappid), payload)
        except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
            log.error("unusable event for the directory", kind=event.kind, error=str(exc))
            return False
        STAGE_MESSAGES.labels(STAGE, str(event.sdkappid), source).inc()
        return True

    def apply_local(self, event: Event) -> None:
        """An event this process is about to produce (`events.observe_local`)."""
        self.apply(event, "local")

    def apply_record(self, value: bytes | None) -> None:
        """An im.events record, as the feed reads it."""
        if not value:
            return
        try:
            event = Event.FromString(value)
        except DecodeError:
            log.error("unreadable im.events record skipped by the directory")
            return
        self.apply(event)

    def clear(self) -> None:
        """Forget everything (the feed lost track: what changed meanwhile is unknown)."""
        for cache in (
            self.accounts,
            self.no_speaking_cache,
            self.friends,
            self.blocked,
            self.groups,
            self.members,
        ):
            cache.clear()

    def _on_accounts(self, sdkappid: int, payload: dict[str, Any]) -> None:
        for item in payload.get("Accounts", ()):
            user = item["UserID"]
            self.accounts.invalidate((sdkappid, user))
            self.no_speaking_cache.invalidate((sdkappid, user))

    def _on_profile(self, sdkappid: int, payload: dict[str, Any]) -> None:
        # portrait_set may create an admin account's directory row.
        self.accounts.invalidate((sdkappid, payload["From_Account"]))

    def _on_no_speaking(self, sdkappid: int, payload: dict[str, Any]) -> None:
        self.no_speaking_cache.invalidate((sdkappid, payload["Set_Account"]))

    def _on_friends(self, sdkappid: int, payload: dict[str, Any]) -> None:
        for pair in payload.get("PairList", ()):
            self.friends.invalidate((sdkappid, pair["From_Account"], pair["To_Account"]))

    def _on_blocked(self, sdkappid: int, payload: dict[str, Any]) -> None:
        for pair in payload.get("PairList", ()):
            owner, peer = pair["From_Account"], pair["To_Account"]
            self.blocked.invalidate((sdkappid, owner, peer))
            # Blocking ends the friendship both ways (Tencent's default), with no event of its
            # own.
            self.friends.invalidate((sdkappid, owner, peer))
            self.friends.invalidate((sdkappid, peer, owner))

    def _on_group_replaced(self, sdkappid: int, payload: dict[str, Any]) -> None:
        group_id = payload["GroupId"]
        self.groups.invalidate((sdkappid, group_id))
        self.members.invalidate_scope((sdkappid, group_id))

    def _on_group_changed(self, sdkappid: int, payload: dict[str, Any]) -> None:
        self.groups.invalidate((sdkappid, payload["GroupId"]))

    def _on_members(self, sdkappid: int, payload: dict[str, Any]) -> None:
        group_id = payload["GroupId"]
        for name in _MEMBER_LISTS:
            for item in payload.get(name, ()):
                self.members.invalidate((sdkappid, group_id, item["Member_Account"]))

    def _on_roles(self, sdkappid: int, payload: dict[str, Any]) -> None:
        # An owner change also rewrites the group record (its Owner_Account).
        self._on_group_changed(sdkappid, payload)
        self._on_members(sdkappid, payload)
