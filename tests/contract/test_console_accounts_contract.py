"""ConsoleAccountStore contract: a username is created once, saved over, listed by name and
deleted; every field round-trips."""

from __future__ import annotations

from services.common.store.console_accounts import ConsoleAccount
from services.common.store.ports import Stores


def account(username: str, root: bool = False) -> ConsoleAccount:
    return ConsoleAccount(
        username=username,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        root=root,
        policies=[{"effect": "allow", "actions": ["*:read"], "apps": [1400000001]}],
        created_ms=1_700_000_000_000,
        updated_ms=1_700_000_000_000,
    )


async def test_create_once_get_list_save_delete(stores: Stores) -> None:
    s = stores.console_accounts
    assert await s.get("ops") is None
    assert await s.list() == []
    assert await s.create(account("ops", root=True))
    assert await s.create(account("carol"))
    taken = account("ops")
    taken.policies = []
    assert not await s.create(taken)  # the first one stays
    assert await s.get("ops") == account("ops", root=True)
    assert [a.username for a in await s.list()] == ["carol", "ops"]

    changed = account("carol")
    changed.policies = [{"effect": "deny", "actions": ["*"], "apps": ["*"]}]
    changed.updated_ms += 5
    await s.save(changed)
    assert await s.get("carol") == changed

    assert await s.delete("carol")
    assert not await s.delete("carol")
    assert await s.get("carol") is None
    assert [a.username for a in await s.list()] == ["ops"]
