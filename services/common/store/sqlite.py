"""The embedded adapter: one SQLite file under the data dir, WAL mode, one writer thread.

Several processes open the same file (gateway owns the directory, audit the archive);
WAL lets readers and the writer work at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.codec import app_to_doc, doc_to_app
from services.common.store.ports import (
    CHAT_TYPE_OF_KIND,
    HOUR_MS,
    Account,
    App,
    ArchiveBatch,
    Received,
    countable,
    split_hour_position,
)
from services.common.store.profiles import CachedNoSpeakingStore
from services.common.store.sqlite_admin_audit import SqliteAdminAuditStore
from services.common.store.sqlite_avchatroom import SqliteAVChatRoomStore
from services.common.store.sqlite_console_accounts import SqliteConsoleAccountStore
from services.common.store.sqlite_contact_groups import SqliteContactGroupStore
from services.common.store.sqlite_conversations import SqliteConversationStore
from services.common.store.sqlite_device_logs import SqliteDeviceLogStore
from services.common.store.sqlite_dirtywords import SqliteDirtyWordStore
from services.common.store.sqlite_follow import SqliteFollowStore
from services.common.store.sqlite_group_bans import SqliteGroupBanStore
from services.common.store.sqlite_group_kv import SqliteGroupKvStore
from services.common.store.sqlite_group_topics import SqliteGroupTopicStore
from services.common.store.sqlite_groups import SqliteGroupStore
from services.common.store.sqlite_msg_deletions import SqliteMessageDeletionStore
from services.common.store.sqlite_msg_ext import SqliteMsgExtStore
from services.common.store.sqlite_profiles import SqliteNoSpeakingStore, SqliteProfileStore
from services.common.store.sqlite_push_devices import SqlitePushDeviceStore
from services.common.store.sqlite_pushattrs import SqlitePushAttrStore
from services.common.store.sqlite_reports import SqliteReportStore
from services.common.store.sqlite_sns import SqliteSnsStore
from services.common.store.sqlite_stats import SqliteStatsStore
from services.common.store.sqlite_trace_log import SqliteTraceStore

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  sdkappid INTEGER PRIMARY KEY,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  nick TEXT NOT NULL DEFAULT '',
  face_url TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  sdkappid INTEGER NOT NULL,
  conversation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  expire_at_ms INTEGER NOT NULL,
  sender TEXT NOT NULL,
  -- Counted as unread only when not silent (history import), recalled or deleted.
  countable INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (sdkappid, conversation, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (sdkappid, conversation, time_ms);
CREATE INDEX IF NOT EXISTS messages_by_app_time ON messages (sdkappid, time_ms, conversation, seq);
CREATE TABLE IF NOT EXISTS push_attr_names (
  sdkappid INTEGER NOT NULL,
  attr INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (sdkappid, attr)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_user_attrs (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  attr INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (sdkappid, user_id, attr)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_user_tags (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (sdkappid, user_id, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty_words (
  sdkappid INTEGER NOT NULL,
  word TEXT NOT NULL,
  PRIMARY KEY (sdkappid, word)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_groups (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  group_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (sdkappid, user_id, group_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_entries (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  peer TEXT NOT NULL,
  standard_mark TEXT NOT NULL,
  custom_mark TEXT NOT NULL,
  group_ids TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, user_id, kind, peer)
) WITHOUT ROWID;
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


# How long a write waits for another process's write lock before it fails (and the caller's
# retry takes over). Writes take milliseconds; a lock held longer is an outage.
BUSY_TIMEOUT_S = 5.0


class SqliteDb:
    """A connection owned by one thread; every call runs there."""

    def __init__(self, path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection = self._executor.submit(
            self._open, path, busy_timeout_s
        ).result()

    @staticmethod
    def _open(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        return conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn)

    async def close(self) -> None:
        await self.run(lambda c: c.close())
        self._executor.shutdown(wait=True)


class SqliteAppStore:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def create_app(self, app: App) -> None:
        doc = app_to_doc(app)
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO apps (sdkappid, doc) VALUES (?, ?)", (app.sdkappid, doc)
            )
        )

    async def save_app(self, app: App) -> None:
        doc = app_to_doc(app)
        await self._db.run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO apps (sdkappid, doc) VALUES (?, ?)", (app.sdkappid, doc)
            )
        )

    async def get_app(self, sdkappid: int) -> App | None:
        row = await self._db.run(
            lambda c: c.execute("SELECT doc FROM apps WHERE sdkappid = ?", (sdkappid,)).fetchone()
        )
        return doc_to_app(row[0]) if row else None

    async def list_apps(self) -> list[App]:
        rows = await self._db.run(
            lambda c: c.execute("SELECT doc FROM apps ORDER BY sdkappid").fetchall()
        )
        return [doc_to_app(r[0]) for r in rows]


class SqliteDirectoryStore:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def upsert_accounts(self, sdkappid: int, accounts: Sequence[Account]) -> None:
        now = int(time.time())
        rows = [(sdkappid, a.user_id, a.nick, a.face_url, a.created_at or now) for a in accounts]

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            c.executemany(
                "INSERT INTO accounts (sdkappid, user_id, nick, face_url, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sdkappid, user_id)"
                " DO UPDATE SET nick = excluded.nick, face_url = excluded.face_url",
                rows,
            )
            c.execute("COMMIT")

        await self._db.run(write)

    async def get_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> dict[str, Account]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}

        def read(c: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
            marks = ",".join("?" * len(ids))
            return c.execute(
                "SELECT user_id, nick, face_url, created_at FROM accounts"
                f" WHERE sdkappid = ? AND user_id IN ({marks})",
                (sdkappid, *ids),
            ).fetchall()

        rows = await self._db.run(read)
        return {r[0]: Account(r[0], r[1], r[2], r[3]) for r in rows}

    async def count_accounts(self, sdkappid: int) -> int:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT count(*) FROM accounts WHERE sdkappid = ?", (sdkappid,)
            ).fetchone()
        )
        return int(row[0])

    async def delete_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        ids = list(user_ids)
        await self._db.run(
            lambda c: c.executemany(
                "DELETE FROM accounts WHERE sdkappid = ? AND user_id = ?",
                [(sdkappid, u) for u in ids],
            )
        )

    async def list_accounts(self, sdkappid: int, after_user: str, limit: int) -> list[str]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT user_id FROM accounts WHERE sdkappid = ? AND user_id > ?"
                " ORDER BY user_id LIMIT ?",
                (sdkappid, after_user, limit),
            ).fetchall()
        )
        return [r[0] for r in rows]


def _decode(rows: list[tuple[bytes]]) -> list[Message]:
    return [Message.FromString(r[0]) for r in rows]


def _message_rows(received: Sequence[Received]) -> list[tuple[object, ...]]:
    return [
        (
            r.message.sdkappid,
            r.message.conversation,
            r.message.seq,
            r.message.server_time_ms,
            r.message.server_time_ms + r.ttl_s * 1000,
            r.message.sender,
            int(countable(r.message)),
            r.raw,
        )
        for r in received
    ]


_INSERT_MESSAGE = (
    "INSERT OR IGNORE INTO messages"
    " (sdkappid, conversation, seq, time_ms, expire_at_ms, sender, countable, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteMessageStore:
    def __init__(
        self,
        db: SqliteDb,
        conversations: SqliteConversationStore,
        groups: SqliteGroupStore,
    ) -> None:
        self._db = db
        self._conversations = conversations
        self._groups = groups

    async def archive(self, batch: ArchiveBatch) -> None:
        rows = _message_rows(batch.messages)

        def write(c: sqlite3.Connection) -> None:
            self._conversations.ensure_schema(c)
            self._groups.ensure_schema(c)
            c.execute("BEGIN")
            # Commits on success, rolls back if a statement fails: nothing half written.
            with c:
                c.executemany(_INSERT_MESSAGE, rows)
                self._conversations.record_last_rows(c, batch.last)
                self._groups.record_messages_rows(c, batch.group_activity)

        await self._db.run(write)

    async def append(self, messages: Sequence[Message], ttl_s: int) -> None:
        rows = _message_rows([Received(m, m.SerializeToString(), ttl_s) for m in messages])

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            with c:
                c.executemany(_INSERT_MESSAGE, rows)

        await self._db.run(write)

    async def rewrite(self, messages: Sequence[Message], ttl_s: int) -> None:
        rows = [
            (int(countable(m)), m.SerializeToString(), m.sdkappid, m.conversation, m.seq)
            for m in messages
        ]

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            c.executemany(
                "UPDATE messages SET countable = ?, body = ?"
                " WHERE sdkappid = ? AND conversation = ? AND seq = ?",
                rows,
            )
            c.execute("COMMIT")

        await self._db.run(write)

    async def count_unread(
        self, sdkappid: int, conversation: str, after_seq: int, reader: str, before_seq: int = 0
    ) -> int:
        now = _now_ms()
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT count(*) FROM messages WHERE sdkappid = ? AND conversation = ?"
                " AND seq > ? AND seq < ? AND sender != ? AND countable = 1 AND expire_at_ms > ?",
                (sdkappid, conversation, after_seq, before_seq or 2**63 - 1, reader, now),
            ).fetchone()
        )
        return int(row[0])

    async def after(
        self, sdkappid: int, conversation: str, after_seq: int, limit: int
    ) -> list[Message]:
        now = _now_ms()
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
                " AND seq > ? AND expire_at_ms > ? ORDER BY seq LIMIT ?",
                (sdkappid, conversation, after_seq, now, limit),
            ).fetchall()
        )
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
        now = _now_ms()
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
                " AND seq > ? AND time_ms BETWEEN ? AND ? AND expire_at_ms > ?"
                " ORDER BY seq LIMIT ?",
                (sdkappid, conversation, after_seq, min_time_ms, max_time_ms, now, limit),
            ).fetchall()
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
        now = _now_ms()
        bound = before_seq if before_seq > 0 else 2**62
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
                " AND seq < ? AND time_ms BETWEEN ? AND ? AND expire_at_ms > ?"
                " ORDER BY seq DESC LIMIT ?",
                (sdkappid, conversation, bound, min_time_ms, max_time_ms, now, limit),
            ).fetchall()
        )
        return _decode(rows)

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        wanted = list(seqs)
        if not wanted:
            return []

        def read(c: sqlite3.Connection) -> list[tuple[bytes]]:
            marks = ",".join("?" * len(wanted))
            return c.execute(
                "SELECT body FROM messages WHERE sdkappid = ? AND conversation = ?"
                f" AND seq IN ({marks}) ORDER BY seq",
                (sdkappid, conversation, *wanted),
            ).fetchall()

        return _decode(await self._db.run(read))

    async def max_seq(self, sdkappid: int, conversation: str) -> int:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT max(seq) FROM messages WHERE sdkappid = ? AND conversation = ?",
                (sdkappid, conversation),
            ).fetchone()
        )
        return int(row[0] or 0)

    async def by_hour(
        self, sdkappid: int, chat_type: str, hour_ms: int, after: str, limit: int
    ) -> list[Message]:
        kinds = sorted(kind for kind, of in CHAT_TYPE_OF_KIND.items() if of == chat_type)
        start = split_hour_position(after) if after else (hour_ms, "", 0)
        now = _now_ms()

        def read(c: sqlite3.Connection) -> list[tuple[bytes]]:
            marks = ",".join("?" * len(kinds))
            return c.execute(
                "SELECT body FROM messages WHERE sdkappid = ? AND time_ms >= ? AND time_ms < ?"
                " AND (time_ms, conversation, seq) > (?, ?, ?) AND expire_at_ms > ?"
                f" AND substr(conversation, 1, instr(conversation, ':') - 1) IN ({marks})"
                " ORDER BY time_ms, conversation, seq LIMIT ?",
                (sdkappid, hour_ms, hour_ms + HOUR_MS, *start, now, *kinds, limit),
            ).fetchall()

        return _decode(await self._db.run(read))


class SqliteStores:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDb(path)
        self.apps = SqliteAppStore(self._db)
        self.directory = SqliteDirectoryStore(self._db)
        self.groups = SqliteGroupStore(self._db)
        self.group_kv = SqliteGroupKvStore(self._db)
        self.group_bans = SqliteGroupBanStore(self._db)
        self.group_topics = SqliteGroupTopicStore(self._db)
        self.avchatroom = SqliteAVChatRoomStore(self._db)
        self.msg_ext = SqliteMsgExtStore(self._db)
        self.conversations = SqliteConversationStore(self._db)
        self.contact_groups = SqliteContactGroupStore(self._db)
        self.messages = SqliteMessageStore(self._db, self.conversations, self.groups)
        self.profiles = SqliteProfileStore(self._db)
        self.no_speaking = CachedNoSpeakingStore(SqliteNoSpeakingStore(self._db))
        self.push_attrs = SqlitePushAttrStore(self._db)
        self.push_devices = SqlitePushDeviceStore(self._db)
        self.dirty_words = SqliteDirtyWordStore(self._db)
        self.sns = SqliteSnsStore(self._db)
        self.follows = SqliteFollowStore(self._db)
        self.reports = SqliteReportStore(self._db)
        self.msg_deletions = SqliteMessageDeletionStore(self._db)
        self.admin_audit = SqliteAdminAuditStore(self._db)
        self.trace_log = SqliteTraceStore(self._db)
        self.stats = SqliteStatsStore(self._db)
        self.device_logs = SqliteDeviceLogStore(self._db)
        self.console_accounts = SqliteConsoleAccountStore(self._db)

    async def close(self) -> None:
        await self._db.close()
