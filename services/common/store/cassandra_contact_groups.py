"""ContactGroupStore on Cassandra (tables in cassandra.SCHEMA_CQL).

contact_groups and contact_entries each hold one partition per (app, user). A group id is
claimed with a lightweight transaction (INSERT ... IF NOT EXISTS), so two concurrent creates
never share an id. Standard marks are stored as decimal text: bit 63 does not fit a bigint.
Reads sort in Python: mockylla ignores clustering order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.common.store.contact_groups import (
    ContactEntry,
    ContactGroup,
    ContactKey,
    decode_group_ids,
    encode_group_ids,
)

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

_ENTRY_COLUMNS = "kind, peer, standard_mark, custom_mark, group_ids, updated_ms"
_USER = " WHERE sdkappid = ? AND user_id = ?"


def _entry(row: Any) -> ContactEntry:
    return ContactEntry(
        kind=int(row[0]),
        peer=row[1],
        standard_mark=int(row[2]),
        custom_mark=row[3],
        group_ids=decode_group_ids(row[4]),
        updated_ms=int(row[5]),
    )


class CassandraContactGroupStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        p = cql.prepare
        self._groups = p("SELECT group_id, name FROM contact_groups" + _USER)
        self._claim = p(
            "INSERT INTO contact_groups (sdkappid, user_id, group_id, name) VALUES (?, ?, ?, ?)"
            " IF NOT EXISTS"
        )
        self._rename = p("UPDATE contact_groups SET name = ?" + _USER + " AND group_id = ?")
        self._delete_group = p("DELETE FROM contact_groups" + _USER + " AND group_id = ?")
        self._entries = p(f"SELECT {_ENTRY_COLUMNS} FROM contact_entries" + _USER)
        self._entry = p(
            f"SELECT {_ENTRY_COLUMNS} FROM contact_entries" + _USER + " AND kind = ? AND peer = ?"
        )
        self._put_entry = p(
            f"INSERT INTO contact_entries (sdkappid, user_id, {_ENTRY_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._delete_entry = p("DELETE FROM contact_entries" + _USER + " AND kind = ? AND peer = ?")

    async def list_groups(self, sdkappid: int, user: str) -> list[ContactGroup]:
        rows = await self._cql.execute(self._groups, (sdkappid, user))
        return sorted((ContactGroup(int(r[0]), r[1]) for r in rows), key=lambda g: g.group_id)

    async def claim_group(self, sdkappid: int, user: str, group: ContactGroup) -> bool:
        rows = await self._cql.execute(self._claim, (sdkappid, user, group.group_id, group.name))
        return bool(rows[0][0])

    async def rename_group(self, sdkappid: int, user: str, group: ContactGroup) -> None:
        await self._cql.execute(self._rename, (group.name, sdkappid, user, group.group_id))

    async def delete_group(self, sdkappid: int, user: str, group_id: int) -> None:
        await self._cql.execute(self._delete_group, (sdkappid, user, group_id))

    async def list_entries(self, sdkappid: int, user: str) -> list[ContactEntry]:
        rows = await self._cql.execute(self._entries, (sdkappid, user))
        return sorted(map(_entry, rows), key=lambda e: e.key)

    async def get_entries(
        self, sdkappid: int, user: str, keys: Sequence[ContactKey]
    ) -> dict[ContactKey, ContactEntry]:
        wanted = list(dict.fromkeys(keys))
        found = await asyncio.gather(
            *(self._cql.execute(self._entry, (sdkappid, user, kind, peer)) for kind, peer in wanted)
        )
        return {e.key: e for rows in found for e in map(_entry, rows)}

    async def put_entries(self, sdkappid: int, user: str, entries: Sequence[ContactEntry]) -> None:
        await asyncio.gather(*(self._put(sdkappid, user, e) for e in entries))

    async def _put(self, sdkappid: int, user: str, e: ContactEntry) -> None:
        if e.marked or e.grouped:
            row = (
                sdkappid,
                user,
                e.kind,
                e.peer,
                str(e.standard_mark),
                e.custom_mark,
                encode_group_ids(e.group_ids),
                e.updated_ms,
            )
            await self._cql.execute(self._put_entry, row)
        else:
            await self._cql.execute(self._delete_entry, (sdkappid, user, e.kind, e.peer))
