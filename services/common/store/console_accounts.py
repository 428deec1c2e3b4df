"""Console accounts: who may log in to the web console (services/gateway/console_auth.py) and
what their policies let them do in the admin API (services/common/console_policy.py).

A password is kept only as its argon2id hash (argon2-cffi's defaults: 64 MiB, 3 passes, 4
lanes). The root account may do everything; a sub-account has CAM-like policy statements, kept
as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any, Protocol

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the user does not exist, so that an unknown name costs as long as a wrong
    password. Made on first use: a hash costs ~0.4 s of CPU, which every process importing this
    module (each service, each CLI call) paid at start."""
    return _HASHER.hash("not a password: the hash an unknown console user is checked against")


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (slow by design: call it off the event loop)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; an empty hash (no such user) checks a dummy one first."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(slots=True)
class ConsoleAccount:
    username: str
    password_hash: str
    root: bool = False
    # Policy statements: {"effect", "actions", "apps"} (console_policy.parse_statements).
    policies: list[dict[str, Any]] = field(default_factory=list)
    created_ms: int = 0
    updated_ms: int = 0

    def to_doc(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_doc(cls, doc: str | bytes) -> ConsoleAccount:
        return cls(**orjson.loads(doc))


class ConsoleAccountStore(Protocol):
    async def create(self, account: ConsoleAccount) -> bool:
        """Adds the account; False, changing nothing, when the username is taken."""

    async def save(self, account: ConsoleAccount) -> None:
        """Writes the account over the one of its username."""

    async def get(self, username: str) -> ConsoleAccount | None: ...

    async def list(self) -> list[ConsoleAccount]:
        """Every account, by username."""

    async def delete(self, username: str) -> bool:
        """False when there was no such account."""
