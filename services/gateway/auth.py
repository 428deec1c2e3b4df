"""Who is calling and what they may do: UserSig verification against the app's keys, admin
checks, accounts, and the rules a client's send passes (send_rules.py).

Accounts are looked up in the gateway's directory (directory.py): cached, found or not, and
dropped when an account is imported or deleted (im.events), so a deleted account can neither
log in nor be sent to once the delete has returned.
"""

from __future__ import annotations

import time

from services.common import usersig
from services.common.app_cache import AppCache
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.directory import Directory
from services.gateway.send_rules import SendRules


class Authenticator:
    def __init__(self, apps: AppCache, directory: Directory) -> None:
        self._apps = apps
        self.directory = directory
        self.rules = SendRules(directory)

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
        return await self.directory.missing_accounts(sdkappid, users)

    def forget(self, sdkappid: int, users: list[str]) -> None:
        self.directory.forget_accounts(sdkappid, users)
