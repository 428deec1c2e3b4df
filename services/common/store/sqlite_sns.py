"""The embedded adapter for the relationship chain: friends, blocklists, pending friend requests
and per-user meta, one row per (app, owner, peer) or per (app, owner)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.sns import (
    BlockEntry,
    Friend,
    Pendency,
    SnsMeta,
    doc_to_friend,
    doc_to_meta,
    doc_to_pendency,
    friend_to_doc,
    meta_to_doc,
    pendency_to_doc,
)
from services.common.store.sqlite_tables import LazyTables, placeholders

if TYPE_CHECKING:
    # sqlite.py builds this store, so importing it at run time would be circular.
    from services.common.store.sqlite import SqliteDb

# The *_by_peer indexes answer "whose list holds this peer" (friend_check, black_list_check).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sns_friends (
  sdkappid INTEGER NOT NULL,
  owner TEXT NOT NULL,
  peer TEXT NOT NULL,
  add_time INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, owner, peer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sns_friends_by_peer ON sns_friends (sdkappid, peer, owner);
CREATE TABLE IF NOT EXISTS sns_blocks (
  sdkappid INTEGER NOT NULL,
  owner TEXT NOT NULL,
  peer TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, owner, peer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sns_blocks_by_peer ON sns_blocks (sdkappid, peer, owner);
CREATE TABLE IF NOT EXISTS sns_pendencies (
  sdkappid INTEGER NOT NULL,
  owner TEXT NOT NULL,
  requester TEXT NOT NULL,
  add_time INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, owner, requester)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sns_meta (
  sdkappid INTEGER NOT NULL,
  owner TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (sdkappid, owner)
) WITHOUT ROWID;
"""


class SqliteSnsStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def _owners_holding(
        self, table: str, sdkappid: int, peer: str, owners: Sequence[str]
    ) -> set[str]:
        wanted = list(dict.fromkeys(owners))
        if not wanted:
            return set()
        rows = await self._tables.run(
            lambda c: c.execute(
                f"SELECT owner FROM {table} WHERE sdkappid = ? AND peer = ?"
                f" AND owner IN ({placeholders(len(wanted))})",
                (sdkappid, peer, *wanted),
            ).fetchall()
        )
        return {r[0] for r in rows}

    async def _count(self, table: str, sdkappid: int, owner: str) -> int:
        row = await self._tables.run(
            lambda c: c.execute(
                f"SELECT count(*) FROM {table} WHERE sdkappid = ? AND owner = ?", (sdkappid, owner)
            ).fetchone()
        )
        return int(row[0])

    async def _delete(
        self, table: str, column: str, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> None:
        rows: list[tuple[object, ...]] = [(sdkappid, owner, p) for p in dict.fromkeys(peers)]
        await self._tables.write_many(
            f"DELETE FROM {table} WHERE sdkappid = ? AND owner = ? AND {column} = ?", rows
        )

    async def get_friends(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, Friend]:
        wanted = list(dict.fromkeys(peers))
        if not wanted:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT peer, add_time, doc FROM sns_friends WHERE sdkappid = ? AND owner = ?"
                f" AND peer IN ({placeholders(len(wanted))})",
                (sdkappid, owner, *wanted),
            ).fetchall()
        )
        return {r[0]: doc_to_friend(owner, r[0], r[1], r[2]) for r in rows}

    async def list_friends(self, sdkappid: int, owner: str) -> list[Friend]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT peer, add_time, doc FROM sns_friends WHERE sdkappid = ? AND owner = ?"
                " ORDER BY add_time, peer",
                (sdkappid, owner),
            ).fetchall()
        )
        return [doc_to_friend(owner, r[0], r[1], r[2]) for r in rows]

    async def count_friends(self, sdkappid: int, owner: str) -> int:
        return await self._count("sns_friends", sdkappid, owner)

    async def friend_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        return await self._owners_holding("sns_friends", sdkappid, peer, owners)

    async def put_friends(self, sdkappid: int, friends: Sequence[Friend]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO sns_friends (sdkappid, owner, peer, add_time, doc)"
            " VALUES (?, ?, ?, ?, ?)",
            [(sdkappid, f.owner, f.peer, f.add_time, friend_to_doc(f)) for f in friends],
        )

    async def delete_friends(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._delete("sns_friends", "peer", sdkappid, owner, peers)

    async def get_blocked(
        self, sdkappid: int, owner: str, peers: Sequence[str]
    ) -> dict[str, BlockEntry]:
        wanted = list(dict.fromkeys(peers))
        if not wanted:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT peer, added_at FROM sns_blocks WHERE sdkappid = ? AND owner = ?"
                f" AND peer IN ({placeholders(len(wanted))})",
                (sdkappid, owner, *wanted),
            ).fetchall()
        )
        return {r[0]: BlockEntry(owner, r[0], r[1]) for r in rows}

    async def list_blocked(self, sdkappid: int, owner: str) -> list[BlockEntry]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT peer, added_at FROM sns_blocks WHERE sdkappid = ? AND owner = ?"
                " ORDER BY added_at, peer",
                (sdkappid, owner),
            ).fetchall()
        )
        return [BlockEntry(owner, r[0], r[1]) for r in rows]

    async def count_blocked(self, sdkappid: int, owner: str) -> int:
        return await self._count("sns_blocks", sdkappid, owner)

    async def blocker_owners(self, sdkappid: int, peer: str, owners: Sequence[str]) -> set[str]:
        return await self._owners_holding("sns_blocks", sdkappid, peer, owners)

    async def put_blocked(self, sdkappid: int, entries: Sequence[BlockEntry]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO sns_blocks (sdkappid, owner, peer, added_at)"
            " VALUES (?, ?, ?, ?)",
            [(sdkappid, e.owner, e.peer, e.added_at) for e in entries],
        )

    async def delete_blocked(self, sdkappid: int, owner: str, peers: Sequence[str]) -> None:
        await self._delete("sns_blocks", "peer", sdkappid, owner, peers)

    async def put_pendencies(self, sdkappid: int, pendencies: Sequence[Pendency]) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO sns_pendencies (sdkappid, owner, requester, add_time, doc)"
            " VALUES (?, ?, ?, ?, ?)",
            [(sdkappid, p.owner, p.requester, p.add_time, pendency_to_doc(p)) for p in pendencies],
        )

    async def list_pendencies(self, sdkappid: int, owner: str) -> list[Pendency]:
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT requester, add_time, doc FROM sns_pendencies"
                " WHERE sdkappid = ? AND owner = ? ORDER BY add_time, requester",
                (sdkappid, owner),
            ).fetchall()
        )
        return [doc_to_pendency(owner, r[0], r[1], r[2]) for r in rows]

    async def delete_pendencies(self, sdkappid: int, owner: str, requesters: Sequence[str]) -> None:
        await self._delete("sns_pendencies", "requester", sdkappid, owner, requesters)

    async def get_meta(self, sdkappid: int, owner: str) -> SnsMeta:
        row = await self._tables.run(
            lambda c: c.execute(
                "SELECT doc FROM sns_meta WHERE sdkappid = ? AND owner = ?", (sdkappid, owner)
            ).fetchone()
        )
        return doc_to_meta(row[0]) if row else SnsMeta()

    async def put_meta(self, sdkappid: int, owner: str, meta: SnsMeta) -> None:
        doc = meta_to_doc(meta)
        await self._tables.run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO sns_meta (sdkappid, owner, doc) VALUES (?, ?, ?)",
                (sdkappid, owner, doc),
            )
        )
