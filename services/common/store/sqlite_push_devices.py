"""PushDeviceStore on the embedded SQLite file: one row per token (its owner beside it), so
moving a token to another user is one row rewritten, in the same transaction as the trim of the
new owner's oldest devices."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.common.store.push_devices import Device, PushSettings, mute_active, overflow
from services.common.store.sqlite_tables import (
    LazyTables,
    in_immediate_transaction,
    placeholders,
)

if TYPE_CHECKING:
    from services.common.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_devices (
  sdkappid INTEGER NOT NULL,
  vendor TEXT NOT NULL,
  token TEXT NOT NULL,
  user_id TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, vendor, token)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_devices_by_user ON push_devices (sdkappid, user_id);
CREATE TABLE IF NOT EXISTS push_settings (
  sdkappid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  dnd_start_min INTEGER,
  dnd_end_min INTEGER,
  timezone TEXT NOT NULL,
  PRIMARY KEY (sdkappid, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_mutes (
  sdkappid INTEGER NOT NULL,
  conversation TEXT NOT NULL,
  user_id TEXT NOT NULL,
  until_ms INTEGER NOT NULL,
  PRIMARY KEY (sdkappid, conversation, user_id)
) WITHOUT ROWID;
"""


class SqlitePushDeviceStore:
    def __init__(self, db: SqliteDb) -> None:
        self._tables = LazyTables(db, _SCHEMA)

    async def register(
        self, sdkappid: int, user: str, vendor: str, token: str, now_ms: int
    ) -> None:
        def write(c: sqlite3.Connection) -> None:
            rows = c.execute(
                "SELECT vendor, token, registered_ms FROM push_devices"
                " WHERE sdkappid = ? AND user_id = ?",
                (sdkappid, user),
            ).fetchall()
            others = [Device(v, t, ms) for v, t, ms in rows if (v, t) != (vendor, token)]
            c.executemany(
                "DELETE FROM push_devices WHERE sdkappid = ? AND vendor = ? AND token = ?",
                [(sdkappid, d.vendor, d.token) for d in overflow(others)],
            )
            c.execute(
                "INSERT OR REPLACE INTO push_devices"
                " (sdkappid, vendor, token, user_id, registered_ms) VALUES (?, ?, ?, ?, ?)",
                (sdkappid, vendor, token, user, now_ms),
            )

        # The read and the writes under one write lock, taken first: a deferred transaction
        # that reads and then writes fails at once (no busy wait) when another process writes.
        await self._tables.run(lambda c: in_immediate_transaction(c, write))

    async def unregister(self, sdkappid: int, user: str, vendor: str, token: str) -> None:
        await self._tables.write_many(
            "DELETE FROM push_devices"
            " WHERE sdkappid = ? AND vendor = ? AND token = ? AND user_id = ?",
            [(sdkappid, vendor, token, user)],
        )

    async def devices(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[Device]]:
        ids = list(dict.fromkeys(users))
        if not ids:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, vendor, token, registered_ms FROM push_devices"
                f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})"
                " ORDER BY user_id, registered_ms, vendor, token",
                (sdkappid, *ids),
            ).fetchall()
        )
        found: dict[str, list[Device]] = {}
        for user, vendor, token, registered_ms in rows:
            found.setdefault(user, []).append(Device(vendor, token, int(registered_ms)))
        return found

    async def remove_token(self, sdkappid: int, vendor: str, token: str) -> None:
        await self._tables.write_many(
            "DELETE FROM push_devices WHERE sdkappid = ? AND vendor = ? AND token = ?",
            [(sdkappid, vendor, token)],
        )

    async def get_settings(self, sdkappid: int, users: Sequence[str]) -> dict[str, PushSettings]:
        ids = list(dict.fromkeys(users))
        if not ids:
            return {}
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, enabled, dnd_start_min, dnd_end_min, timezone FROM push_settings"
                f" WHERE sdkappid = ? AND user_id IN ({placeholders(len(ids))})",
                (sdkappid, *ids),
            ).fetchall()
        )
        stored = {u: PushSettings(bool(e), s, n, tz) for u, e, s, n, tz in rows}
        return {u: stored.get(u, PushSettings()) for u in ids}

    async def put_settings(self, sdkappid: int, user: str, settings: PushSettings) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO push_settings"
            " (sdkappid, user_id, enabled, dnd_start_min, dnd_end_min, timezone)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    sdkappid,
                    user,
                    int(settings.enabled),
                    settings.dnd_start_min,
                    settings.dnd_end_min,
                    settings.timezone,
                )
            ],
        )

    async def mute(self, sdkappid: int, user: str, conversation: str, until_ms: int) -> None:
        await self._tables.write_many(
            "INSERT OR REPLACE INTO push_mutes (sdkappid, conversation, user_id, until_ms)"
            " VALUES (?, ?, ?, ?)",
            [(sdkappid, conversation, user, until_ms)],
        )

    async def unmute(self, sdkappid: int, user: str, conversation: str) -> None:
        await self._tables.write_many(
            "DELETE FROM push_mutes WHERE sdkappid = ? AND conversation = ? AND user_id = ?",
            [(sdkappid, conversation, user)],
        )

    async def muted(
        self, sdkappid: int, users: Sequence[str], conversation: str, now_ms: int
    ) -> set[str]:
        ids = list(dict.fromkeys(users))
        if not ids:
            return set()
        rows = await self._tables.run(
            lambda c: c.execute(
                "SELECT user_id, until_ms FROM push_mutes WHERE sdkappid = ? AND conversation = ?"
                f" AND user_id IN ({placeholders(len(ids))})",
                (sdkappid, conversation, *ids),
            ).fetchall()
        )
        return {u for u, until_ms in rows if mute_active(int(until_ms), now_ms)}
