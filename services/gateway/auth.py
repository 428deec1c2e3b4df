"""Who is calling and what they may do: UserSig verification against the app's keys, admin
checks, accounts, and the state the send rules read (send_rules.py, handlers/send.py).

Accounts are looked up in the gateway's directory (directory.py): cached, found or not, and
dropped when an account is imported or deleted (im.events), so a deleted account can neither
log in nor be sent to once the delete has returned.
"""

from __future__ import annotations

import time

from services.common import usersig
from services.common.app_cache import AppCache
from services.common.config_versions import ConfigVersions
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.directory import Directory
from services.gateway.send_rules import SendRules


class Authenticator:
    def __init__(
        self, apps: AppCache, directory: Directory, versions: ConfigVersions | None = None
    ) -> None:
        self._apps = apps
        self.directory = directory
        self.rules = SendRules(directory)
        self._versions = versions

    async def app(self, sdkappid: int, at_least: int = 0) -> App:
        app = await self._apps.get(sdkappid, at_least)
        if app is None:
            raise TidingsError(
                ErrorCode.SIG_SDKAPPID_UNKNOWN, f"sdkappid {sdkappid} does not exist"
            )
        return app

    async def verify(
        self, sdkappid: int, identifier: str, sig: str, *, current: bool = False
    ) -> App:
        """`current`: read the app at its configuration version (one Redis read), so that a
        key rotation or a login mode answered before this call applies to it. WebSocket logins
        ask for it; REST calls, which come far more often, use the cached app."""
        version = 0
        if current and self._versions is not None:
            version = (await self._versions.read_or_none([sdkappid])).get(sdkappid, 0)
        app = await self.app(sdkappid, version)
        usersig.verify(sig, sdkappid, identifier, app.valid_keys(int(time.time())))
        return app

    @staticmethod
    def is_admin(app: App, identifier: str) -> bool:
        return identifier in app.admins

    async def missing_accounts(self, sdkappid: int, users: list[str]) -> list[str]:
        return await self.directory.missing_accounts(sdkappid, users)

    def forget(self, sdkappid: int, users: list[str]) -> None:
        self.directory.forget_accounts(sdkappid, users)
