"""PushDeviceStore on Cassandra (tables in cassandra.SCHEMA_CQL).

push_token_owner says who holds a token (one partition per token); push_user_devices lists a
user's tokens (one partition per user). Registering writes the owner row last-write-wins and
then mends the per-user lists: the previous owner loses the token, the new owner's oldest
devices beyond the limit are dropped. A concurrent register of the same token can leave it in a
stale list for a moment; `devices` reads through the owner table, so a stale entry is never
pushed to and is cleaned as it is seen. Reads go one query per user (mockylla cannot bind
`IN ?`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.push_devices import Device, PushSettings, mute_active, overflow

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession


class CassandraPushDeviceStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._cql = cql
        self._owner = cql.prepare(
            "SELECT user_id FROM push_token_owner WHERE sdkappid = ? AND vendor = ? AND token = ?"
        )
        self._set_owner = cql.prepare(
            "INSERT INTO push_token_owner (sdkappid, vendor, token, user_id) VALUES (?, ?, ?, ?)"
        )
        self._drop_owner = cql.prepare(
            "DELETE FROM push_token_owner WHERE sdkappid = ? AND vendor = ? AND token = ?"
        )
        self._user_devices = cql.prepare(
            "SELECT vendor, token, registered_ms FROM push_user_devices"
            " WHERE sdkappid = ? AND user_id = ?"
        )
        self._add_device = cql.prepare(
            "INSERT INTO push_user_devices (sdkappid, user_id, vendor, token, registered_ms)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._drop_device = cql.prepare(
            "DELETE FROM push_user_devices"
            " WHERE sdkappid = ? AND user_id = ? AND vendor = ? AND token = ?"
        )
        self._settings = cql.prepare(
            "SELECT enabled, dnd_start_min, dnd_end_min, timezone FROM push_settings"
            " WHERE sdkappid = ? AND user_id = ?"
        )
        self._put_settings = cql.prepare(
            "INSERT INTO push_settings"
            " (sdkappid, user_id, enabled, dnd_start_min, dnd_end_min, timezone)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._mute = cql.prepare(
            "SELECT until_ms FROM push_mutes"
            " WHERE sdkappid = ? AND user_id = ? AND conversation = ?"
        )
        self._set_mute = cql.prepare(
            "INSERT INTO push_mutes (sdkappid, user_id, conversation, until_ms) VALUES (?, ?, ?, ?)"
        )
        self._drop_mute = cql.prepare(
            "DELETE FROM push_mutes WHERE sdkappid = ? AND user_id = ? AND conversation = ?"
        )

    async def _owner_of(self, sdkappid: int, vendor: str, token: str) -> str | None:
        rows = await self._cql.execute(self._owner, (sdkappid, vendor, token))
        return str(rows[0][0]) if rows else None

    async def _listed(self, sdkappid: int, user: str) -> list[Device]:
        rows = await self._cql.execute(self._user_devices, (sdkappid, user))
        return [Device(r[0], r[1], int(r[2])) for r in rows]

    async def register(
        self, sdkappid: int, user: str, vendor: str, token: str, now_ms: int
    ) -> None:
        previous = await self._owner_of(sdkappid, vendor, token)
        await self._cql.execute(self._set_owner, (sdkappid, vendor, token, user))
        if previous is not None and previous != user:
            await self._cql.execute(self._drop_device, (sdkappid, previous, vendor, token))
        others = [
            d for d in await self._listed(sdkappid, user) if (d.vendor, d.token) != (vendor, token)
        ]
        dropped = overflow(others)
        await asyncio.gather(
            self._cql.execute(self._add_device, (sdkappid, user, vendor, token, now_ms)),
            *(
                self._cql.execute(self._drop_device, (sdkappid, user, d.vendor, d.token))
                for d in dropped
            ),
            *(self._drop_if_held(sdkappid, user, d.vendor, d.token) for d in dropped),
        )

    async def _drop_if_held(self, sdkappid: int, user: str, vendor: str, token: str) -> None:
        """Drop the owner row only while it still names `user`: the token may have moved."""
        if await self._owner_of(sdkappid, vendor, token) == user:
            await self._cql.execute(self._drop_owner, (sdkappid, vendor, token))

    async def unregister(self, sdkappid: int, user: str, vendor: str, token: str) -> None:
        await self._drop_if_held(sdkappid, user, vendor, token)
        await self._cql.execute(self._drop_device, (sdkappid, user, vendor, token))

    async def devices(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[Device]]:
        ids = list(dict.fromkeys(users))
        listed = await asyncio.gather(*(self._listed(sdkappid, u) for u in ids))
        found: dict[str, list[Device]] = {}
        for user, devices in zip(ids, listed, strict=True):
            owners = await asyncio.gather(
                *(self._owner_of(sdkappid, d.vendor, d.token) for d in devices)
            )
            held = [d for d, owner in zip(devices, owners, strict=True) if owner == user]
            stale = [d for d, owner in zip(devices, owners, strict=True) if owner != user]
            await asyncio.gather(
                *(
                    self._cql.execute(self._drop_device, (sdkappid, user, d.vendor, d.token))
                    for d in stale
                )
            )
            if held:
                # Sorted here: the clustering order is by token, and mockylla ignores it anyway.
                found[user] = sorted(held, key=lambda d: (d.registered_ms, d.vendor, d.token))
        return found

    async def remove_token(self, sdkappid: int, vendor: str, token: str) -> None:
        owner = await self._owner_of(sdkappid, vendor, token)
        await self._cql.execute(self._drop_owner, (sdkappid, vendor, token))
        if owner is not None:
            await self._cql.execute(self._drop_device, (sdkappid, owner, vendor, token))

    async def get_settings(self, sdkappid: int, users: Sequence[str]) -> dict[str, PushSettings]:
        ids = list(dict.fromkeys(users))
        found = await asyncio.gather(
            *(self._cql.execute(self._settings, (sdkappid, u)) for u in ids)
        )
        return {
            u: PushSettings(bool(r[0][0]), r[0][1], r[0][2], r[0][3]) if r else PushSettings()
            for u, r in zip(ids, found, strict=True)
        }

    async def put_settings(self, sdkappid: int, user: str, settings: PushSettings) -> None:
        await self._cql.execute(
            self._put_settings,
            (
                sdkappid,
                user,
                settings.enabled,
                settings.dnd_start_min,
                settings.dnd_end_min,
                settings.timezone,
            ),
        )

    async def mute(self, sdkappid: int, user: str, conversation: str, until_ms: int) -> None:
        await self._cql.execute(self._set_mute, (sdkappid, user, conversation, until_ms))

    async def unmute(self, sdkappid: int, user: str, conversation: str) -> None:
        await self._cql.execute(self._drop_mute, (sdkappid, user, conversation))

    async def muted(
        self, sdkappid: int, users: Sequence[str], conversation: str, now_ms: int
    ) -> set[str]:
        ids = list(dict.fromkeys(users))
        found = await asyncio.gather(
            *(self._cql.execute(self._mute, (sdkappid, u, conversation)) for u in ids)
        )
        return {
            u
            for u, rows in zip(ids, found, strict=True)
            if rows and mute_active(int(rows[0][0]), now_ms)
        }
