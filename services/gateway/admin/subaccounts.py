"""/admin/subaccounts: the web console's accounts (services/common/store/console_accounts.py)
and their CAM-like policies (services/common/console_policy.py). Root, or a user allowed
subaccounts:write, manages them; a root account is listed but is changed only with
`tidings console passwd`, never here. A deleted account's sessions end at once, as do its
sessions when its password changes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from services.common import console_policy
from services.common.console_policy import PolicyError
from services.common.store.console_accounts import (
    ConsoleAccount,
    ConsoleAccountStore,
    hash_password,
)
from services.gateway.admin.apps import Request
from services.gateway.admin.base import AdminDeps, AdminError, current_change

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"
Username = Annotated[str, Path(pattern=USERNAME_PATTERN, description="the console username")]
Password = Annotated[str, Field(min_length=8, max_length=256, description="at least 8 characters")]
Policies = Annotated[
    list[dict[str, Any]],
    Field(description='statements {"effect": "allow"|"deny", "actions": [...], "apps": [...]}'),
]
Preset = Annotated[str, Field(description="FullAccess or ReadOnlyAccess, instead of policies")]
PresetApps = Annotated[
    list[int | str],
    Field(description='with a preset: the apps it covers (default ["*"])'),
]


class CreateSubaccount(Request):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: Password
    policies: Policies | None = None
    preset: Preset | None = None
    apps: PresetApps | None = None


class PatchSubaccount(Request):
    password: Password | None = None
    policies: Policies | None = None
    preset: Preset | None = None
    apps: PresetApps | None = None


class SubaccountView(BaseModel):
    username: str
    root: bool
    policies: list[dict[str, Any]]
    created_ms: int
    updated_ms: int


class SubaccountList(BaseModel):
    subaccounts: list[SubaccountView]


def _view(account: ConsoleAccount) -> SubaccountView:
    return SubaccountView(
        username=account.username,
        root=account.root,
        policies=account.policies,
        created_ms=account.created_ms,
        updated_ms=account.updated_ms,
    )


def _policies(
    policies: list[dict[str, Any]] | None, preset: str | None, apps: list[int | str] | None
) -> list[dict[str, Any]] | None:
    """The statements to store, validated; None when neither policies nor a preset is given."""
    try:
        if preset is not None:
            if policies is not None:
                raise PolicyError("give policies or a preset, not both")
            return console_policy.preset(preset, apps)
        if apps is not None:
            raise PolicyError("apps scopes a preset: with policies, name apps in each statement")
        if policies is None:
            return None
        return console_policy.statements_doc(console_policy.parse_statements(policies))
    except PolicyError as err:
        raise AdminError(422, "invalid_argument", str(err)) from None


async def _sub_account(store: ConsoleAccountStore, username: str) -> ConsoleAccount:
    account = await store.get(username)
    if account is None:
        raise AdminError(404, "not_found", f"console account {username!r} does not exist")
    if account.root:
        raise AdminError(
            403, "forbidden", "a root console account is changed only with `tidings console passwd`"
        )
    return account


def build_router(deps: AdminDeps, store: ConsoleAccountStore) -> APIRouter:
    router = deps.router()

    @router.post(
        "/subaccounts",
        status_code=201,
        summary="Create a console sub-account with policies or a preset",
        dependencies=[deps.audited("subaccount.create")],
    )
    async def create(req: CreateSubaccount) -> SubaccountView:
        policies = _policies(req.policies, req.preset, req.apps)
        if policies is None:
            raise AdminError(422, "invalid_argument", "give policies or a preset")
        now = int(time.time() * 1000)
        account = ConsoleAccount(
            req.username,
            await asyncio.to_thread(hash_password, req.password),
            root=False,
            policies=policies,
            created_ms=now,
            updated_ms=now,
        )
        if not await store.create(account):
            raise AdminError(409, "already_exists", f"console account {req.username!r} exists")
        change = current_change()
        change.resource = req.username
        change.after = {"policies": policies}
        return _view(account)

    @router.get("/subaccounts", summary="List the console accounts")
    async def list_all() -> SubaccountList:
        return SubaccountList(subaccounts=[_view(a) for a in await store.list()])

    @router.get("/subaccounts/{username}", summary="One console account")
    async def get_one(username: Username) -> SubaccountView:
        account = await store.get(username)
        if account is None:
            raise AdminError(404, "not_found", f"console account {username!r} does not exist")
        return _view(account)

    @router.patch(
        "/subaccounts/{username}",
        summary="Change a sub-account's password or policies; its sessions see it at once",
        dependencies=[deps.audited("subaccount.update")],
    )
    async def patch(username: Username, req: PatchSubaccount) -> SubaccountView:
        account = await _sub_account(store, username)
        policies = _policies(req.policies, req.preset, req.apps)
        change = current_change()
        change.before = {"policies": account.policies}
        if policies is not None:
            account.policies = policies
        if req.password is not None:
            account.password_hash = await asyncio.to_thread(hash_password, req.password)
        account.updated_ms = int(time.time() * 1000)
        await store.save(account)
        change.after = {"policies": account.policies, "password_changed": req.password is not None}
        return _view(account)

    @router.delete(
        "/subaccounts/{username}",
        summary="Delete a sub-account; its sessions end",
        dependencies=[deps.audited("subaccount.delete")],
    )
    async def delete(username: Username) -> dict[str, str]:
        account = await _sub_account(store, username)
        await store.delete(username)
        change = current_change()
        change.before = {"policies": account.policies}
        return {}

    return router
