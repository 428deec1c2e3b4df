"""ContactGroupStore on the embedded SQLite file (tables in sqlite.SCHEMA).

Standard marks are stored as decimal text: bit 63 does not fit SQLite's signed INTEGER.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.contact_groups import (
    ContactEntry,
    ContactGroup,
    ContactKey,
    decode_group_ids,
    encode_group_ids,
)

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_ENTRY_COLUMNS = "kind, peer, standard_mark, custom_mark, group_ids, updated_ms"
_PUT_ENTRY = (
    f"INSERT OR REPLACE INTO contact_entries (sdkappid, user_id, {_ENTRY_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_ENTRY = (
    "DELETE FROM contact_entries WHERE sdkappid = ? AND user_id = ? AND kind = ? AND peer = ?"
)


def _entry(row: tuple[int, str, str, str, str, int]) -> ContactEntry:
    kind, peer, mark, custom, groups, updated = row
    return ContactEntry(
        kind=int(kind),
        peer=peer,
        standard_mark=int(mark),
        custom_mark=custom,
        group_ids=decode_group_ids(groups),
        updated_ms=int(updated),
    )


class SqliteContactGroupStore:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def list_groups(self, sdkappid: int, user: str) -> list[ContactGroup]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT group_id, name FROM contact_groups WHERE sdkappid = ? AND user_id = ?"
                " ORDER BY group_id",
                (sdkappid, user),
            ).fetchall()
        )
        return [ContactGroup(int(r[0]), r[1]) for r in rows]

    async def claim_group(self, sdkappid: int, user: str, group: ContactGroup) -> bool:
        count = await self._db.run(
            lambda c: (
                c.execute(
                    "INSERT OR IGNORE INTO contact_groups (sdkappid, user_id, group_id, name)"
                    " VALUES (?, ?, ?, ?)",
                    (sdkappid, user, group.group_id, group.name),
                ).rowcount
            )
        )
        return bool(count)

    async def rename_group(self, sdkappid: int, user: str, group: ContactGroup) -> None:
        await self._db.run(
            lambda c: c.execute(
                "UPDATE contact_groups SET name = ? WHERE sdkappid = ? AND user_id = ?"
                " AND group_id = ?",
                (group.name, sdkappid, user, group.group_id),
            )
        )

    async def delete_group(self, sdkappid: int, user: str, group_id: int) -> None:
        await self._db.run(
            lambda c: c.execute(
                "DELETE FROM contact_groups WHERE sdkappid = ? AND user_id = ? AND group_id = ?",
                (sdkappid, user, group_id),
            )
        )

    async def list_entries(self, sdkappid: int, user: str) -> list[ContactEntry]:
        rows = await self._db.run(
            lambda c: c.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM contact_entries WHERE sdkappid = ? AND user_id = ?"
                " ORDER BY kind, peer",
                (sdkappid, user),
            ).fetchall()
        )
        return [_entry(r) for r in rows]

    async def get_entries(
        self, sdkappid: int, user: str, keys: Sequence[ContactKey]
    ) -> dict[ContactKey, ContactEntry]:
        wanted = list(dict.fromkeys(keys))

        def read(c: sqlite3.Connection) -> list[tuple[int, str, str, str, str, int]]:
            return [
                row
                for kind, peer in wanted
                for row in c.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM contact_entries WHERE sdkappid = ?"
                    " AND user_id = ? AND kind = ? AND peer = ?",
                    (sdkappid, user, kind, peer),
                ).fetchall()
            ]

        return {e.key: e for e in map(_entry, await self._db.run(read))}

    async def put_entries(self, sdkappid: int, user: str, entries: Sequence[ContactEntry]) -> None:
        kept = [
            (
                sdkappid,
                user,
                e.kind,
                e.peer,
                str(e.standard_mark),
                e.custom_mark,
                encode_group_ids(e.group_ids),
                e.updated_ms,
            )
            for e in entries
            if e.marked or e.grouped
        ]
        dropped = [(sdkappid, user, e.kind, e.peer) for e in entries if not (e.marked or e.grouped)]

        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN")
            # Commits on success, rolls back if a statement fails.
            with c:
                c.executemany(_PUT_ENTRY, kept)
                c.executemany(_DELETE_ENTRY, dropped)

        await self._db.run(write)
