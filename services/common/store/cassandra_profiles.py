"""The cluster adapters for profile fields and global no-speaking.

profiles: one partition per (app, user), one row per tag, so a portrait_set of some tags
touches only those cells. no_speaking: one row per (app, user); each deadline is written by
an UPDATE naming only its own column, so setting the C2C deadline never resets the group one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.common.store.profiles import NoSpeaking, ProfileValue

if TYPE_CHECKING:
    # cassandra.py builds these stores, so importing it at run time would be circular.
    from services.common.store.cassandra import CassandraSession

# The tables (profiles, profile_custom_tags, no_speaking) are in cassandra.SCHEMA_CQL.
#
# A value is kept as UTF-8 bytes with a type letter in front (b"i42", b"sNick"), so an integer
# field reads back as an integer. A blob, not text: mockylla splices bound text into the
# statement and strips quotes from its ends.
_USER = " WHERE sdkappid = ? AND user_id = ?"


def _encode(value: ProfileValue) -> bytes:
    return (f"i{value}" if isinstance(value, int) else f"s{value}").encode()


def _decode(raw: bytes) -> ProfileValue:
    text = raw.decode()
    return int(text[1:]) if text[0] == "i" else text[1:]


class CassandraProfileStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._set = cql.prepare(
            "INSERT INTO profiles (sdkappid, user_id, tag, value) VALUES (?, ?, ?, ?)"
        )
        # One read per user rather than `user_id IN ?`: mockylla cannot bind IN.
        self._get = cql.prepare("SELECT tag, value FROM profiles" + _USER)
        self._delete = cql.prepare("DELETE FROM profiles" + _USER)
        self._tags = cql.prepare("SELECT tag FROM profile_custom_tags WHERE sdkappid = ?")
        self._add_tag = cql.prepare("INSERT INTO profile_custom_tags (sdkappid, tag) VALUES (?, ?)")

    async def set_values(
        self, sdkappid: int, user_id: str, values: Mapping[str, ProfileValue]
    ) -> None:
        await asyncio.gather(
            *(
                self._cql.execute(self._set, (sdkappid, user_id, tag, _encode(v)))
                for tag, v in values.items()
            )
        )

    async def get_values(
        self, sdkappid: int, user_ids: Sequence[str]
    ) -> dict[str, dict[str, ProfileValue]]:
        ids = list(dict.fromkeys(user_ids))
        found = await asyncio.gather(*(self._cql.execute(self._get, (sdkappid, u)) for u in ids))
        return {
            user_id: {r[0]: _decode(r[1]) for r in rows}
            for user_id, rows in zip(ids, found, strict=True)
            if rows
        }

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._delete, (sdkappid, u)) for u in dict.fromkeys(user_ids))
        )

    async def custom_tags(self, sdkappid: int) -> set[str]:
        return {r[0] for r in await self._cql.execute(self._tags, (sdkappid,))}

    async def add_custom_tags(self, sdkappid: int, tags: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._add_tag, (sdkappid, t)) for t in dict.fromkeys(tags))
        )


class CassandraNoSpeakingStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._set_c2c = cql.prepare("UPDATE no_speaking SET c2c_until = ?" + _USER)
        self._set_group = cql.prepare("UPDATE no_speaking SET group_until = ?" + _USER)
        self._get = cql.prepare("SELECT c2c_until, group_until FROM no_speaking" + _USER)
        self._delete = cql.prepare("DELETE FROM no_speaking" + _USER)

    async def set(
        self, sdkappid: int, user_id: str, *, c2c_until: int | None, group_until: int | None
    ) -> None:
        writes = []
        if c2c_until is not None:
            writes.append(self._cql.execute(self._set_c2c, (c2c_until, sdkappid, user_id)))
        if group_until is not None:
            writes.append(self._cql.execute(self._set_group, (group_until, sdkappid, user_id)))
        await asyncio.gather(*writes)

    async def get(self, sdkappid: int, user_id: str) -> NoSpeaking:
        rows = await self._cql.execute(self._get, (sdkappid, user_id))
        if not rows:
            return NoSpeaking()
        # A column never written reads back as null.
        return NoSpeaking(rows[0][0] or 0, rows[0][1] or 0)

    async def delete_users(self, sdkappid: int, user_ids: Sequence[str]) -> None:
        await asyncio.gather(
            *(self._cql.execute(self._delete, (sdkappid, u)) for u in dict.fromkeys(user_ids))
        )
