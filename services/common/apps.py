"""App lifecycle: SDKAppIDs, secret keys, rotation. Pure functions over the App record."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App, AppKey, AppStore

FIRST_SDKAPPID = 1400000000
EDITIONS = ("Developer", "Standard", "Premium")
MAX_EXTRA_ADMINS = 15


def new_key() -> str:
    return secrets.token_hex(32)


def next_sdkappid(existing: Iterable[int]) -> int:
    return max(existing, default=FIRST_SDKAPPID - 1) + 1


def normalise_edition(edition: str) -> str:
    aliases = {
        "developer": "Developer",
        "trial": "Developer",
        "standard": "Standard",
        "pro": "Standard",
        "premium": "Premium",
        "flagship": "Premium",
        "ultimate": "Premium",
    }
    try:
        return aliases[edition.lower()]
    except KeyError:
        raise TidingsError(
            ErrorCode.ACCOUNT_INVALID_PARAM, f"unknown edition {edition!r}: one of {EDITIONS}"
        ) from None


def make_app(sdkappid: int, name: str, edition: str, now: int | None = None) -> App:
    return App(
        sdkappid=sdkappid,
        name=name,
        edition=normalise_edition(edition),
        keys=[AppKey(new_key())],
        created_at=int(time.time()) if now is None else now,
    )


def rotate_key(app: App, grace_s: int, now: int | None = None) -> str:
    """Make a new current key; the old one keeps verifying for grace_s seconds."""
    t = int(time.time()) if now is None else now
    kept = [k for k in app.keys if k.valid_until is not None and k.valid_until > t]
    current = [AppKey(k.key, t + grace_s) for k in app.keys if k.valid_until is None]
    key = new_key()
    app.keys = [AppKey(key), *current, *kept]
    return key


def current_key(app: App) -> str:
    return next(k.key for k in app.keys if k.valid_until is None)


async def create_app(store: AppStore, name: str, edition: str = "Developer") -> App:
    existing = [a.sdkappid for a in await store.list_apps()]
    app = make_app(next_sdkappid(existing), name, edition)
    await store.create_app(app)
    return app
