"""The cluster adapter: Cassandra through cassandra-driver, retention by TTL.

Every query is a prepared statement sent with `execute_async`; the driver's callbacks hand
results to the event loop, so nothing blocks it once the stores are built. Construction
(connect, schema, prepare) blocks: it runs once, at startup.

Tests run this adapter against mockylla, an in-memory stand-in that patches the driver. Where
mockylla cannot run the natural CQL, the comments below say what was chosen instead; every
choice stays correct on a real cluster.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.query import PreparedStatement

from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.cassandra_admin_audit import CassandraAdminAuditStore
from services.common.store.cassandra_avchatroom import CassandraAVChatRoomStore
from services.common.store.cassandra_console_accounts import CassandraConsoleAccountStore
from services.common.store.cassandra_contact_groups import CassandraContactGroupStore
from services.common.store.cassandra_conversations import CassandraConversationStore
from services.common.store.cassandra_device_logs import CassandraDeviceLogStore
from services.common.store.cassandra_dirtywords import CassandraDirtyWordStore
from services.common.store.cassandra_follow import CassandraFollowStore
from services.common.store.cassandra_group_bans import CassandraGroupBanStore
from services.common.store.cassandra_group_kv import CassandraGroupKvStore
from services.common.store.cassandra_group_topics import CassandraGroupTopicStore
from services.common.store.cassandra_groups import CassandraGroupStore
from services.common.store.cassandra_msg_deletions import CassandraMessageDeletionStore
from services.common.store.cassandra_msg_ext import CassandraMsgExtStore
from services.common.store.cassandra_profiles import (
    CassandraNoSpeakingStore,
    CassandraProfileStore,
)
from services.common.store.cassandra_push_devices import CassandraPushDeviceStore
from services.common.store.cassandra_pushattrs import CassandraPushAttrStore
from services.common.store.cassandra_reports import CassandraReportStore
from services.common.store.cassandra_sns import CassandraSnsStore
from services.common.store.cassandra_stats import CassandraStatsStore
from services.common.store.cassandra_trace_log import CassandraTraceStore
from services.common.store.codec import app_to_doc, doc_to_app
from services.common.store.conversations import LastMessage
from services.common.store.ports import (
    Account,
    App,
    ArchiveBatch,
    archive_chat_type,
    countable,
    hour_of,
    hour_position,
)
from services.common.store.profiles import CachedNoSpeakingStore

# deploy/cassandra/schema.cql is this text rendered for keyspace `tidings`, replication 1.
# conv_head keeps each conversation's highest seq out of reach of the messages' TTL: max_seq
# re-seeds the seq counters, and must not fall back once a conversation's history expires.
SCHEMA_CQL = """\
CREATE KEYSPACE IF NOT EXISTS {keyspace}
  WITH replication = {'class': 'SimpleStrategy', 'replication_factor': {replication_factor}};

CREATE TABLE IF NOT EXISTS {keyspace}.apps (
  sdkappid bigint PRIMARY KEY,
  doc text
);

CREATE TABLE IF NOT EXISTS {keyspace}.accounts (
  sdkappid bigint,
  user_id text,
  nick text,
  face_url text,
  created_at bigint,
  PRIMARY KEY ((sdkappid), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.messages (
  sdkappid bigint,
  conversation text,
  seq bigint,
  time_ms bigint,
  sender text,
  countable boolean,
  body blob,
  PRIMARY KEY ((sdkappid, conversation), seq)
) WITH CLUSTERING ORDER BY (seq ASC);

CREATE TABLE IF NOT EXISTS {keyspace}.conv_head (
  sdkappid bigint,
  conversation text,
  seq bigint,
  PRIMARY KEY ((sdkappid, conversation), seq)
) WITH CLUSTERING ORDER BY (seq DESC);

CREATE TABLE IF NOT EXISTS {keyspace}.conversations (
  sdkappid bigint,
  user_id text,
  conversation text,
  kind int,
  peer text,
  last_seq bigint,
  last_time_ms bigint,
  read_seq bigint,
  hidden_seq bigint,
  pinned_at_ms bigint,
  PRIMARY KEY ((sdkappid, user_id), conversation)
);

CREATE TABLE IF NOT EXISTS {keyspace}.sns_friends (
  sdkappid bigint,
  owner text,
  peer text,
  add_time bigint,
  doc text,
  PRIMARY KEY ((sdkappid, owner), peer)
);

CREATE TABLE IF NOT EXISTS {keyspace}.sns_blocks (
  sdkappid bigint,
  owner text,
  peer text,
  added_at bigint,
  PRIMARY KEY ((sdkappid, owner), peer)
);

CREATE TABLE IF NOT EXISTS {keyspace}.sns_pendencies (
  sdkappid bigint,
  owner text,
  requester text,
  add_time bigint,
  doc text,
  PRIMARY KEY ((sdkappid, owner), requester)
);

CREATE TABLE IF NOT EXISTS {keyspace}.sns_meta (
  sdkappid bigint,
  owner text,
  doc text,
  PRIMARY KEY ((sdkappid, owner))
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_attr_names (
  sdkappid bigint,
  attr int,
  name text,
  PRIMARY KEY ((sdkappid), attr)
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_user_attrs (
  sdkappid bigint,
  user_id text,
  attr int,
  value text,
  PRIMARY KEY ((sdkappid, user_id), attr)
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_user_tags (
  sdkappid bigint,
  user_id text,
  tag text,
  PRIMARY KEY ((sdkappid, user_id), tag)
);

CREATE TABLE IF NOT EXISTS {keyspace}.dirty_words (
  sdkappid bigint,
  word text,
  PRIMARY KEY ((sdkappid), word)
);

CREATE TABLE IF NOT EXISTS {keyspace}.contact_groups (
  sdkappid bigint,
  user_id text,
  group_id int,
  name text,
  PRIMARY KEY ((sdkappid, user_id), group_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.contact_entries (
  sdkappid bigint,
  user_id text,
  kind int,
  peer text,
  standard_mark text,
  custom_mark text,
  group_ids text,
  updated_ms bigint,
  PRIMARY KEY ((sdkappid, user_id), kind, peer)
);

CREATE TABLE IF NOT EXISTS {keyspace}.reports (
  sdkappid bigint,
  report_id text,
  doc text,
  PRIMARY KEY ((sdkappid), report_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.profiles (
  sdkappid bigint,
  user_id text,
  tag text,
  value blob,
  PRIMARY KEY ((sdkappid, user_id), tag)
);

CREATE TABLE IF NOT EXISTS {keyspace}.profile_custom_tags (
  sdkappid bigint,
  tag text,
  PRIMARY KEY ((sdkappid), tag)
);

CREATE TABLE IF NOT EXISTS {keyspace}.no_speaking (
  sdkappid bigint,
  user_id text,
  c2c_until bigint,
  group_until bigint,
  PRIMARY KEY ((sdkappid, user_id))
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_profiles (
  sdkappid bigint,
  group_id text,
  group_type text,
  list_key bigint,
  name text,
  owner text,
  introduction text,
  notification text,
  face_url text,
  max_members int,
  apply_join_option text,
  invite_join_option text,
  mute_all boolean,
  support_topic boolean,
  create_time bigint,
  info_seq bigint,
  last_info_time bigint,
  app_defined text,
  PRIMARY KEY ((sdkappid, group_id))
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_msg_state (
  sdkappid bigint,
  group_id text,
  last_msg_time bigint,
  next_msg_seq bigint,
  PRIMARY KEY ((sdkappid, group_id))
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_list (
  sdkappid bigint,
  list_key bigint,
  group_id text,
  group_type text,
  PRIMARY KEY ((sdkappid), list_key, group_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_members (
  sdkappid bigint,
  group_id text,
  user_id text,
  role text,
  join_time bigint,
  mute_until bigint,
  msg_flag text,
  name_card text,
  app_defined text,
  PRIMARY KEY ((sdkappid, group_id), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_member_msg (
  sdkappid bigint,
  group_id text,
  user_id text,
  msg_seq bigint,
  last_send_msg_time bigint,
  unread_msg_num bigint,
  PRIMARY KEY ((sdkappid, group_id), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.user_groups (
  sdkappid bigint,
  user_id text,
  group_id text,
  group_type text,
  PRIMARY KEY ((sdkappid, user_id), group_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_kv (
  sdkappid bigint,
  group_id text,
  kind text,
  version bigint,
  doc text,
  PRIMARY KEY ((sdkappid, group_id, kind), version)
) WITH CLUSTERING ORDER BY (version DESC);

CREATE TABLE IF NOT EXISTS {keyspace}.follow_following (
  sdkappid bigint,
  owner text,
  peer text,
  since bigint,
  PRIMARY KEY ((sdkappid, owner), peer)
);

CREATE TABLE IF NOT EXISTS {keyspace}.follow_fans (
  sdkappid bigint,
  owner text,
  fan text,
  since bigint,
  PRIMARY KEY ((sdkappid, owner), fan)
);

CREATE TABLE IF NOT EXISTS {keyspace}.follow_mutual (
  sdkappid bigint,
  owner text,
  peer text,
  since bigint,
  PRIMARY KEY ((sdkappid, owner), peer)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_bans (
  sdkappid bigint,
  group_id text,
  user_id text,
  banned_until bigint,
  description text,
  PRIMARY KEY ((sdkappid, group_id), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.msg_ext (
  sdkappid bigint,
  conversation text,
  msg_seq bigint,
  version bigint,
  doc text,
  PRIMARY KEY ((sdkappid, conversation, msg_seq), version)
) WITH CLUSTERING ORDER BY (version DESC);

CREATE TABLE IF NOT EXISTS {keyspace}.avchatroom_admins (
  sdkappid bigint,
  group_id text,
  user_id text,
  PRIMARY KEY ((sdkappid, group_id), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.avchatroom_marks (
  sdkappid bigint,
  group_id text,
  user_id text,
  mark bigint,
  set_ms bigint,
  PRIMARY KEY ((sdkappid, group_id), user_id, mark)
);

CREATE TABLE IF NOT EXISTS {keyspace}.msg_hidden (
  sdkappid bigint,
  user_id text,
  conversation text,
  seq bigint,
  PRIMARY KEY ((sdkappid, user_id, conversation), seq)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_msg_cleared (
  sdkappid bigint,
  group_id text,
  up_to_seq bigint,
  PRIMARY KEY ((sdkappid, group_id), up_to_seq)
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_token_owner (
  sdkappid bigint,
  vendor text,
  token text,
  user_id text,
  PRIMARY KEY ((sdkappid, vendor, token))
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_user_devices (
  sdkappid bigint,
  user_id text,
  vendor text,
  token text,
  registered_ms bigint,
  PRIMARY KEY ((sdkappid, user_id), vendor, token)
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_settings (
  sdkappid bigint,
  user_id text,
  enabled boolean,
  dnd_start_min int,
  dnd_end_min int,
  timezone text,
  PRIMARY KEY ((sdkappid, user_id))
);

CREATE TABLE IF NOT EXISTS {keyspace}.push_mutes (
  sdkappid bigint,
  user_id text,
  conversation text,
  until_ms bigint,
  PRIMARY KEY ((sdkappid, user_id), conversation)
);

CREATE TABLE IF NOT EXISTS {keyspace}.trace_log (
  sdkappid bigint,
  day int,
  time_ms bigint,
  record_id text,
  body blob,
  PRIMARY KEY ((sdkappid, day), time_ms, record_id)
) WITH CLUSTERING ORDER BY (time_ms DESC, record_id DESC);

CREATE TABLE IF NOT EXISTS {keyspace}.admin_audit (
  day int,
  entry_id text,
  doc text,
  PRIMARY KEY ((day), entry_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.device_logs (
  sdkappid bigint,
  upload_id text,
  info text,
  PRIMARY KEY ((sdkappid), upload_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.device_log_blobs (
  sdkappid bigint,
  upload_id text,
  body blob,
  PRIMARY KEY ((sdkappid, upload_id))
);

CREATE TABLE IF NOT EXISTS {keyspace}.stats_members (
  sdkappid bigint,
  day text,
  metric text,
  member text,
  PRIMARY KEY ((sdkappid, day, metric), member)
);

CREATE TABLE IF NOT EXISTS {keyspace}.stats_values (
  sdkappid bigint,
  day text,
  metric text,
  source text,
  value bigint,
  upto bigint,
  PRIMARY KEY ((sdkappid, day), metric, source)
);

CREATE TABLE IF NOT EXISTS {keyspace}.stats_sessions (
  sdkappid bigint,
  user_id text,
  sessions int,
  source text,
  upto bigint,
  PRIMARY KEY ((sdkappid), user_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.stats_groups (
  sdkappid bigint,
  group_id text,
  created_ms bigint,
  destroyed_ms bigint,
  PRIMARY KEY ((sdkappid), group_id, created_ms)
);

CREATE TABLE IF NOT EXISTS {keyspace}.group_topics (
  sdkappid bigint,
  group_id text,
  topic_id text,
  name text,
  creator text,
  face_url text,
  notification text,
  introduction text,
  custom_string text,
  mute_all int,
  create_time bigint,
  PRIMARY KEY ((sdkappid, group_id), topic_id)
);

CREATE TABLE IF NOT EXISTS {keyspace}.console_accounts (
  username text,
  doc text,
  PRIMARY KEY (username)
);

CREATE TABLE IF NOT EXISTS {keyspace}.messages_by_hour (
  sdkappid bigint,
  chat_type text,
  hour_ms bigint,
  position text,
  conversation text,
  seq bigint,
  PRIMARY KEY ((sdkappid, chat_type, hour_ms), position)
);
"""

# CQL identifiers cannot be bound, so the keyspace name is checked before it is spliced in.
_KEYSPACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")

# `seq < ?` with no caller bound: the largest bigint.
_NO_UPPER_BOUND = 2**63 - 1

# mockylla keeps rows in insertion order and ignores CLUSTERING ORDER, so every multi-row
# read names its order even where it is the clustering order.
#
# The TTL is spliced in rather than bound (`USING TTL ?`) because mockylla cannot bind it.
# One statement per distinct TTL stays few: retention_seconds() yields at most 360 values.
_INSERT_MESSAGE = (
    "INSERT INTO messages (sdkappid, conversation, seq, time_ms, sender, countable, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL {ttl_s}"
)
# A message's hour index row lives as long as the message.
_INDEX_HOUR = (
    "INSERT INTO messages_by_hour (sdkappid, chat_type, hour_ms, position, conversation, seq)"
    " VALUES (?, ?, ?, ?, ?, ?) USING TTL {ttl_s}"
)


def render_schema(keyspace: str, replication_factor: int) -> str:
    if not _KEYSPACE_NAME.fullmatch(keyspace):
        raise ValueError(f"not a Cassandra keyspace name: {keyspace!r}")
    return SCHEMA_CQL.replace("{keyspace}", keyspace).replace(
        "{replication_factor}", str(replication_factor)
    )


def _resolve(done: asyncio.Future[list[Any]], rows: list[Any]) -> None:
    if not done.done():
        done.set_result(rows)


def _reject(done: asyncio.Future[list[Any]], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


class CassandraSession:
    """Runs prepared statements and awaits them on the calling event loop.

    mockylla supports `execute_async`: its future runs the query at once and calls back
    synchronously, so the same bridge serves both.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def prepare(self, cql: str) -> PreparedStatement:
        return self._session.prepare(cql)

    async def prepare_async(self, cql: str) -> PreparedStatement:
        # The driver's prepare blocks on a round trip and has no asynchronous form.
        return await asyncio.to_thread(self._session.prepare, cql)

    async def execute(self, statement: PreparedStatement, params: Sequence[object]) -> list[Any]:
        """Every row of every page; a plain write resolves to []."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Any]] = loop.create_future()
        rows: list[Any] = []
        response = self._session.execute_async(statement, tuple(params))

        # The driver calls these on its own I/O thread, once per page.
        def on_page(page: Sequence[Any] | None) -> None:
            if page is not None:
                rows.extend(page)
            # mockylla's future has no paging: its one callback carries every row.
            if getattr(response, "has_more_pages", False):
                response.start_fetching_next_page()
            else:
                loop.call_soon_threadsafe(_resolve, done, rows)

        def on_error(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_reject, done, exc)

        response.add_callbacks(on_page, on_error)
        return await done


class CassandraAppStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._create = cql.prepare("INSERT INTO apps (sdkappid, doc) VALUES (?, ?) IF NOT EXISTS")
        self._save = cql.prepare("INSERT INTO apps (sdkappid, doc) VALUES (?, ?)")
        self._get = cql.prepare("SELECT doc FROM apps WHERE sdkappid = ?")
        self._list = cql.prepare("SELECT sdkappid, doc FROM apps")

    async def create_app(self, app: App) -> None:
        rows = await self._cql.execute(self._create, (app.sdkappid, app_to_doc(app)))
        if not rows[0][0]:
            raise ValueError(f"app {app.sdkappid} already exists")

    async def save_app(self, app: App) -> None:
        await self._cql.execute(self._save, (app.sdkappid, app_to_doc(app)))

    async def get_app(self, sdkappid: int) -> App | None:
        rows = await self._cql.execute(self._get, (sdkappid,))
        return doc_to_app(rows[0][0]) if rows else None

    async def list_apps(self) -> list[App]:
        rows = await self._cql.execute(self._list, ())
        return [doc_to_app(r[1]) for r in sorted(rows, key=lambda r: r[0])]


class CassandraDirectoryStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._upsert = cql.prepare(
            "INSERT INTO accounts (sdkappid, user_id, nick, face_url, created_at)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        # One read per user rather than `user_id IN ?`: mockylla splices a bound IN list in
        # as text, and cannot parse a one-element list.
        self._get_one = cql.prepare(
            "SELECT user_id, nick, face_url, created_at FROM accounts"
            " WHERE sdkappid = ? AND user_id = ?"
        )
        self._count = cql.prepare("SELECT count(*) FROM accounts WHERE sdkappid = ?")
        self._delete = cql.prepare("DELETE FROM accounts WHERE sdkappid = ? AND user_id = ?")
        # mockylla ignores clustering order, so the page names its order.
        self._list = cql.prepare(
            "SELECT user_id FROM accounts WHERE sdkappid = ? AND user_id > ?"
            " ORDER BY user_id ASC LIMIT ?"
        )

    async def upsert_accounts(self, sdkappid: int, accounts: Sequence[Account]) -> None:
        latest = {a.user_id: a for a in accounts}
        # CQL has no ON CONFLICT: read who exists so their created_at survives the rewrite.
        existing = await self.get_accounts(sdkappid, list(latest))
        now = int(time.time())
        await asyncio.gather(
            *(
                self._cql.execute(
                    self._upsert,
                    (
                        sdkappid,
                        a.user_id,
                        a.nick,
                        a.face_url,
                        existing[a.user_id].created_at
                        if a.user_id in existing
                        else a.created_at or now,
                    ),
                )
                for a in latest.values()
            )
        )

    async def get_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> dict[str, Account]:
        found = await asyncio.gather(
            *(self._cql.execute(self._get_one, (sdkappid, u)) for u in dict.fromkeys(user_ids))
        )
        return {r[0]: Account(r[0], r[1], r[2], r[3]) for rows in found for r in rows}

    async def count_accounts(self, sdkappid: int) -> int:
        rows = await self._cql.execute(self._count, (sdkappid,))
        return int(rows[0][0])

    async def delete_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._delete, (sdkappid, u)) for u in dict.fromkeys(user_ids))
        )

    async def list_accounts(self, sdkappid: int, after_user: str, limit: int) -> list[str]:
        rows = await self._cql.execute(self._list, (sdkappid, after_user, limit))
        return [r[0] for r in rows]


def _decode(rows: list[Any]) -> list[Message]:
    return [Message.FromString(r[0]) for r in rows]


def _message_row(m: Message, raw: bytes | None = None) -> tuple[object, ...]:
    return (
        m.sdkappid,
        m.conversation,
        m.seq,
        m.server_time_ms,
        m.sender,
        countable(m),
        m.SerializeToString() if raw is None else raw,
    )


def _hour_row(m: Message) -> tuple[object, ...]:
    return (
        m.sdkappid,
        archive_chat_type(m.conversation),
        hour_of(m.server_time_ms),
        hour_position(m),
        m.conversation,
        m.seq,
    )


class CassandraMessageStore:
    def __init__(
        self,
        cql: CassandraSession,
        conversations: CassandraConversationStore,
        groups: CassandraGroupStore,
    ) -> None:
        self._cql = cql
        self._conversations = conversations
        self._groups = groups
        self._inserts: dict[int, PreparedStatement] = {}
        self._hour_inserts: dict[int, PreparedStatement] = {}
        # The keys of an hour's page; the bodies are read from `messages`, so a recall or an
        # edit shows there too.
        self._hour_page = cql.prepare(
            "SELECT conversation, seq FROM messages_by_hour"
            " WHERE sdkappid = ? AND chat_type = ? AND hour_ms = ? AND position > ?"
            " ORDER BY position ASC LIMIT ?"
        )
        self._after = cql.prepare(
            "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
            " AND seq > ? ORDER BY seq ASC LIMIT ?"
        )
        # Time is not a key here, so filtering it scans the conversation from the seq bound
        # until `limit` rows match. Within one partition that scan is what paging through it
        # in Python would do, minus shipping the rows that miss. A table keyed by time could
        # not honour "seq order, from a seq cursor, at most limit" without reading the whole
        # time window on every page.
        self._by_time = cql.prepare(
            "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
            " AND seq > ? AND time_ms >= ? AND time_ms <= ?"
            " ORDER BY seq ASC LIMIT ? ALLOW FILTERING"
        )
        self._by_time_desc = cql.prepare(
            "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
            " AND seq < ? AND time_ms >= ? AND time_ms <= ?"
            " ORDER BY seq DESC LIMIT ? ALLOW FILTERING"
        )
        # One read per seq rather than `seq IN ?`, as for accounts.
        self._get_one = cql.prepare(
            "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ? AND seq = ?"
        )
        # The head is kept without LWT: each append adds its highest seq and drops the rows
        # below it. The highest seq ever added is below no other, so it is never dropped,
        # whatever order concurrent or replayed appends land in.
        self._head_add = cql.prepare(
            "INSERT INTO conv_head (sdkappid, conversation, seq) VALUES (?, ?, ?)"
        )
        self._head_trim = cql.prepare(
            "DELETE FROM conv_head WHERE sdkappid = ? AND conversation = ? AND seq < ?"
        )
        self._head = cql.prepare(
            "SELECT seq FROM conv_head WHERE sdkappid = ? AND conversation = ?"
            " ORDER BY seq DESC LIMIT 1"
        )
        self._unread = cql.prepare(
            "SELECT sender, countable FROM messages WHERE sdkappid = ? AND conversation = ?"
            " AND seq > ? AND seq < ?"
        )

    async def _insert(self, ttl_s: int) -> PreparedStatement:
        return await self._with_ttl(self._inserts, _INSERT_MESSAGE, ttl_s)

    async def _with_ttl(
        self, prepared: dict[int, PreparedStatement], template: str, ttl_s: int
    ) -> PreparedStatement:
        statement = prepared.get(ttl_s)
        if statement is None:
            statement = await self._cql.prepare_async(template.format(ttl_s=ttl_s))
            prepared[ttl_s] = statement
        return statement

    async def _write(self, messages: Sequence[tuple[Message, bytes | None, int]]) -> None:
        """Each message (with its bytes, if kept as they came, and its TTL) and its hour index
        row."""
        ttls = {ttl for _, _, ttl in messages}
        inserts = {ttl: await self._insert(ttl) for ttl in ttls}
        indexes = {ttl: await self._with_ttl(self._hour_inserts, _INDEX_HOUR, ttl) for ttl in ttls}
        await asyncio.gather(
            *(self._cql.execute(inserts[ttl], _message_row(m, raw)) for m, raw, ttl in messages),
            *(self._cql.execute(indexes[ttl], _hour_row(m)) for m, _, ttl in messages),
        )

    async def archive(self, batch: ArchiveBatch) -> None:
        """Cassandra has no transaction across partitions: the writes go out together, and
        each is idempotent, so a batch replayed after a failure comes out the same."""
        for r in batch.messages:
            if r.ttl_s <= 0:
                raise ValueError(f"ttl_s must be positive, got {r.ttl_s}")
        await self._write([(r.message, r.raw, r.ttl_s) for r in batch.messages])
        await self._advance_heads([r.message for r in batch.messages])
        by_app: dict[int, list[LastMessage]] = {}
        for app, entry in batch.last:
            by_app.setdefault(app, []).append(entry)
        await asyncio.gather(
            *(self._conversations.record_last(app, entries) for app, entries in by_app.items()),
            *(
                self._groups.record_messages(app, group, t, seq)
                for (app, group), (t, seq) in batch.group_activity.items()
            ),
        )

    async def _advance_heads(self, messages: Sequence[Message]) -> None:
        heads: dict[tuple[int, str], int] = {}
        for m in messages:
            key = (m.sdkappid, m.conversation)
            heads[key] = max(heads.get(key, 0), m.seq)
        await asyncio.gather(*(self._advance_head(a, c, seq) for (a, c), seq in heads.items()))

    async def append(self, messages: Sequence[Message], ttl_s: int) -> None:
        if ttl_s <= 0:
            # CQL reads TTL 0 as "never expires".
            raise ValueError(f"ttl_s must be positive, got {ttl_s}")
        if not messages:
            return
        await self._write([(m, None, ttl_s) for m in messages])
        await self._advance_heads(messages)

    async def rewrite(self, messages: Sequence[Message], ttl_s: int) -> None:
        # An INSERT of the same key overwrites the row; ttl_s is the time the message has left,
        # so a recall or an edit does not extend its retention.
        if not messages:
            return
        insert = await self._insert(max(1, ttl_s))
        await asyncio.gather(*(self._cql.execute(insert, _message_row(m)) for m in messages))

    async def count_unread(
        self, sdkappid: int, conversation: str, after_seq: int, reader: str, before_seq: int = 0
    ) -> int:
        # Counted in Python: `sender != ?` is not a CQL restriction. The scan is bounded by the
        # unread window of one partition.
        rows = await self._cql.execute(
            self._unread, (sdkappid, conversation, after_seq, before_seq or 2**63 - 1)
        )
        return sum(1 for sender, can_count in rows if can_count and sender != reader)

    async def _advance_head(self, sdkappid: int, conversation: str, seq: int) -> None:
        await self._cql.execute(self._head_add, (sdkappid, conversation, seq))
        await self._cql.execute(self._head_trim, (sdkappid, conversation, seq))

    async def after(
        self, sdkappid: int, conversation: str, after_seq: int, limit: int
    ) -> list[Message]:
        rows = await self._cql.execute(self._after, (sdkappid, conversation, after_seq, limit))
        return _decode(rows)

    async def by_time(
        self,
        sdkappid: int,
        conversation: str,
        min_time_ms: int,
        max_time_ms: int,
        after_seq: int,
        limit: int,
    ) -> list[Message]:
        rows = await self._cql.execute(
            self._by_time,
            (sdkappid, conversation, after_seq, min_time_ms, max_time_ms, limit),
        )
        return _decode(rows)

    async def by_time_desc(
        self,
        sdkappid: int,
        conversation: str,
        min_time_ms: int,
        max_time_ms: int,
        before_seq: int,
        limit: int,
    ) -> list[Message]:
        bound = before_seq if before_seq > 0 else _NO_UPPER_BOUND
        rows = await self._cql.execute(
            self._by_time_desc,
            (sdkappid, conversation, bound, min_time_ms, max_time_ms, limit),
        )
        return _decode(rows)

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        found = await asyncio.gather(
            *(
                self._cql.execute(self._get_one, (sdkappid, conversation, s))
                for s in sorted(set(seqs))
            )
        )
        return [m for rows in found for m in _decode(rows)]

    async def max_seq(self, sdkappid: int, conversation: str) -> int:
        rows = await self._cql.execute(self._head, (sdkappid, conversation))
        return int(rows[0][0]) if rows else 0

    async def by_hour(
        self, sdkappid: int, chat_type: str, hour_ms: int, after: str, limit: int
    ) -> list[Message]:
        keys = await self._cql.execute(
            self._hour_page, (sdkappid, chat_type, hour_ms, after, limit)
        )
        seqs: dict[str, list[int]] = {}
        for conversation, seq in keys:
            seqs.setdefault(conversation, []).append(seq)
        found = await asyncio.gather(
            *(self.get(sdkappid, conversation, wanted) for conversation, wanted in seqs.items())
        )
        # An index row can outlive its message by moments (both expire with the same TTL).
        return sorted((m for page in found for m in page), key=hour_position)


class CassandraStores:
    def __init__(
        self,
        hosts: Sequence[str],
        keyspace: str,
        *,
        replication_factor: int = 1,
        consistency: int = ConsistencyLevel.LOCAL_QUORUM,
        serial_consistency: int = ConsistencyLevel.LOCAL_SERIAL,
    ) -> None:
        schema = render_schema(keyspace, replication_factor)
        profile = ExecutionProfile(
            consistency_level=consistency, serial_consistency_level=serial_consistency
        )
        self._cluster = Cluster(list(hosts), execution_profiles={EXEC_PROFILE_DEFAULT: profile})
        session = self._cluster.connect()
        for statement in schema.split(";"):
            if statement.strip():
                session.execute(statement.strip())
        session.set_keyspace(keyspace)
        cql = CassandraSession(session)
        self.apps = CassandraAppStore(cql)
        self.directory = CassandraDirectoryStore(cql)
        self.groups = CassandraGroupStore(cql)
        self.group_kv = CassandraGroupKvStore(cql)
        self.group_bans = CassandraGroupBanStore(cql)
        self.group_topics = CassandraGroupTopicStore(cql)
        self.avchatroom = CassandraAVChatRoomStore(cql)
        self.msg_ext = CassandraMsgExtStore(cql)
        self.conversations = CassandraConversationStore(cql)
        self.contact_groups = CassandraContactGroupStore(cql)
        self.messages = CassandraMessageStore(cql, self.conversations, self.groups)
        self.profiles = CassandraProfileStore(cql)
        self.no_speaking = CachedNoSpeakingStore(CassandraNoSpeakingStore(cql))
        self.push_attrs = CassandraPushAttrStore(cql)
        self.push_devices = CassandraPushDeviceStore(cql)
        self.dirty_words = CassandraDirtyWordStore(cql)
        self.sns = CassandraSnsStore(cql)
        self.follows = CassandraFollowStore(cql)
        self.reports = CassandraReportStore(cql)
        self.msg_deletions = CassandraMessageDeletionStore(cql)
        self.admin_audit = CassandraAdminAuditStore(cql)
        self.trace_log = CassandraTraceStore(cql)
        self.stats = CassandraStatsStore(cql)
        self.device_logs = CassandraDeviceLogStore(cql)
        self.console_accounts = CassandraConsoleAccountStore(cql)

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)
