"""Store ports. Services depend on these Protocols; adapters live beside them.

Every method takes the SDKAppID: no port reads across apps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.common.pb.tidings.v1.envelope_pb2 import MESSAGE_KIND_GROUP_TIPS, Message
from services.common.store.admin_audit import AdminAuditStore
from services.common.store.avchatroom import AVChatRoomStore
from services.common.store.console_accounts import ConsoleAccountStore
from services.common.store.contact_groups import ContactGroupStore
from services.common.store.conversations import ConversationStore, LastMessage
from services.common.store.device_logs import DeviceLogStore
from services.common.store.dirtywords import DirtyWordStore
from services.common.store.follow import FollowStore
from services.common.store.group_bans import GroupBanStore
from services.common.store.group_kv import GroupKvStore
from services.common.store.group_topics import GroupTopicStore
from services.common.store.groups import GroupStore
from services.common.store.msg_deletions import MessageDeletionStore
from services.common.store.msg_ext import MsgExtStore
from services.common.store.profiles import NoSpeakingStore, ProfileStore
from services.common.store.push_devices import PushDeviceStore
from services.common.store.pushattrs import PushAttrStore
from services.common.store.reports import ReportStore
from services.common.store.sns import SnsStore
from services.common.store.stats import StatsStore
from services.common.store.trace_log import TraceStore


@dataclass(slots=True)
class AppKey:
    key: str
    # Unix seconds after which a rotated key stops verifying; None for the current key.
    valid_until: int | None = None


@dataclass(slots=True)
class App:
    sdkappid: int
    name: str
    edition: str
    keys: list[AppKey]
    admins: list[str] = field(default_factory=lambda: ["administrator"])
    settings: dict[str, object] = field(default_factory=dict)
    created_at: int = 0
    # Easemob alias: the app can be addressed as org#app.
    org_name: str = ""
    app_name: str = ""

    def valid_keys(self, now: int) -> list[str]:
        return [k.key for k in self.keys if k.valid_until is None or k.valid_until > now]


@dataclass(slots=True)
class Account:
    user_id: str
    nick: str = ""
    face_url: str = ""
    created_at: int = 0


class AppStore(Protocol):
    async def create_app(self, app: App) -> None: ...
    async def get_app(self, sdkappid: int) -> App | None: ...
    async def list_apps(self) -> list[App]: ...
    async def save_app(self, app: App) -> None: ...


class DirectoryStore(Protocol):
    async def upsert_accounts(self, sdkappid: int, accounts: Sequence[Account]) -> None: ...
    async def get_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> dict[str, Account]: ...
    async def count_accounts(self, sdkappid: int) -> int: ...
    async def delete_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> None: ...
    async def list_accounts(self, sdkappid: int, after_user: str, limit: int) -> list[str]:
        """UserIDs greater than after_user ("" for the first page), ascending, at most limit."""


@dataclass(frozen=True, slots=True)
class Received:
    """A message to archive: decoded, the bytes it came as (stored as they are), and how long
    the app keeps it."""

    message: Message
    raw: bytes
    ttl_s: int


@dataclass(frozen=True, slots=True)
class ArchiveBatch:
    """What audit writes for a run of new messages: the messages, each party's conversation
    list entry, and each group's activity ((app, group) -> (last time s, next seq))."""

    messages: Sequence[Received]
    last: Sequence[tuple[int, LastMessage]]
    group_activity: Mapping[tuple[int, str], tuple[int, int]]


class MessageStore(Protocol):
    async def append(self, messages: Sequence[Message], ttl_s: int) -> None:
        """Store messages; idempotent by (sdkappid, conversation, seq)."""

    async def archive(self, batch: ArchiveBatch) -> None:
        """Write a batch as one transaction where the adapter has them (SQLite); each write is
        idempotent, so a replay of the batch is harmless either way."""

    async def after(
        self, sdkappid: int, conversation: str, after_seq: int, limit: int
    ) -> list[Message]:
        """Messages with seq > after_seq, ascending, at most limit."""

    async def by_time(
        self,
        sdkappid: int,
        conversation: str,
        min_time_ms: int,
        max_time_ms: int,
        after_seq: int,
        limit: int,
    ) -> list[Message]:
        """Messages whose server time is in [min, max] and seq > after_seq, ascending."""

    async def by_time_desc(
        self,
        sdkappid: int,
        conversation: str,
        min_time_ms: int,
        max_time_ms: int,
        before_seq: int,
        limit: int,
    ) -> list[Message]:
        """Messages whose server time is in [min, max] and seq < before_seq (0: no bound),
        newest first."""

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]: ...

    async def max_seq(self, sdkappid: int, conversation: str) -> int: ...

    async def rewrite(self, messages: Sequence[Message], ttl_s: int) -> None:
        """Replace stored messages in place (recall, modify), keeping their seq. ttl_s is the
        time each has left; an adapter that keeps its own expiry may ignore it."""

    async def count_unread(
        self, sdkappid: int, conversation: str, after_seq: int, reader: str, before_seq: int = 0
    ) -> int:
        """Messages after after_seq (and before before_seq, 0: no bound) that `reader` did not
        send and that are `countable`."""

    async def by_hour(
        self, sdkappid: int, chat_type: str, hour_ms: int, after: str, limit: int
    ) -> list[Message]:
        """The app's stored messages of one chat type ("C2C", or "Group" with its topics) whose
        server time is in the hour starting at hour_ms, in `hour_position` order after `after`
        ("" for the first page), at most limit."""


def countable(m: Message) -> bool:
    """Whether a message can count as unread: not silent, recalled, deleted, a group tip or
    sent with Tencent's SendMsgControl NoUnread."""
    return not (
        m.silent or m.recalled or m.deleted or m.no_unread or m.kind == MESSAGE_KIND_GROUP_TIPS
    )


HOUR_MS = 3_600_000
# Tencent's ChatType of a conversation kind (services/common/conversation.py).
CHAT_TYPE_OF_KIND = {"c2c": "C2C", "group": "Group", "topic": "Group"}
# Between the parts of an hour position: below every character a conversation id holds, so
# positions sort as (time, conversation, seq) tuples do.
_POSITION_SEP = "\x00"


def archive_chat_type(conversation: str) -> str:
    kind = conversation.partition(":")[0]
    return CHAT_TYPE_OF_KIND.get(kind, kind)


def hour_of(time_ms: int) -> int:
    """The start of the hour holding time_ms (UTC and Beijing hours begin together)."""
    return time_ms - time_ms % HOUR_MS


def hour_position(m: Message) -> str:
    """Where a message sorts within its hour, and the cursor `by_hour` pages from: by server
    time, then conversation, then seq; fixed-width numbers so the text sorts as they do."""
    return _POSITION_SEP.join((f"{m.server_time_ms:020d}", m.conversation, f"{m.seq:020d}"))


def split_hour_position(position: str) -> tuple[int, str, int]:
    time_ms, conversation, seq = position.split(_POSITION_SEP)
    return int(time_ms), conversation, int(seq)


class Stores(Protocol):
    @property
    def apps(self) -> AppStore: ...
    @property
    def directory(self) -> DirectoryStore: ...
    @property
    def messages(self) -> MessageStore: ...
    @property
    def push_attrs(self) -> PushAttrStore: ...
    @property
    def push_devices(self) -> PushDeviceStore: ...
    @property
    def dirty_words(self) -> DirtyWordStore: ...
    @property
    def conversations(self) -> ConversationStore: ...
    @property
    def contact_groups(self) -> ContactGroupStore: ...
    @property
    def sns(self) -> SnsStore: ...
    @property
    def follows(self) -> FollowStore: ...

    @property
    def profiles(self) -> ProfileStore: ...
    @property
    def no_speaking(self) -> NoSpeakingStore: ...

    @property
    def groups(self) -> GroupStore: ...
    @property
    def group_kv(self) -> GroupKvStore: ...
    @property
    def group_bans(self) -> GroupBanStore: ...
    @property
    def group_topics(self) -> GroupTopicStore: ...
    @property
    def avchatroom(self) -> AVChatRoomStore: ...
    @property
    def msg_ext(self) -> MsgExtStore: ...
    @property
    def reports(self) -> ReportStore: ...
    @property
    def msg_deletions(self) -> MessageDeletionStore: ...
    @property
    def admin_audit(self) -> AdminAuditStore: ...
    @property
    def trace_log(self) -> TraceStore: ...
    @property
    def stats(self) -> StatsStore: ...
    @property
    def device_logs(self) -> DeviceLogStore: ...
    @property
    def console_accounts(self) -> ConsoleAccountStore: ...
    async def close(self) -> None: ...
