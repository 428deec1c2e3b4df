"""Who is calling: UserSig verification against the app's keys, admin checks, accounts."""

from __future__ import annotations

import time

from services.common import usersig
from services.common.app_cache import AppCache
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App, DirectoryStore


class Authenticator:
    def __init__(self, apps: AppCache, directory: DirectoryStore, account_ttl_s: float = 60.0):
        self._apps = apps
        self._directory = directory
        self._ttl = account_ttl_s
        # Positive lookups only: a just-imported account is found on the next read.
        self._known: dict[tuple[int, str], float] = {}

    async def app(self, sdkappid: int) -> App:
        app = await self._apps.get(sdkappid)
        if app is None:
            raise TidingsError(
                ErrorCode.SIG_SDKAPPID_UNKNOWN, f"sdkappid {sdkappid} does not exist"
            )
        return app

    async def verify(self, sdkappid: int, identifier: str, sig: str) -> App:
        app = await self.app(sdkappid)
        usersig.verify(sig, sdkappid, identifier, app.valid_keys(int(time.time())))
        return app

    @staticmethod
    def is_admin(app: App, identifier: str) -> bool:
        return identifier in app.admins

    async def missing_accounts(self, sdkappid: int, users: list[str]) -> list[str]:
        now = time.monotonic()
        unknown = [u for u in users if self._known.get((sdkappid, u), 0.0) < now]
        if not unknown:
            return []
        found = await self._directory.get_accounts(sdkappid, unknown)
        for u in found:
            self._known[(sdkappid, u)] = now + self._ttl
        return [u for u in unknown if u not in found]

    def forget(self, sdkappid: int, users: list[str]) -> None:
        for u in users:
            self._known.pop((sdkappid, u), None)
