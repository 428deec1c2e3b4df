"""Multi-device login modes (SPEC §4, Tencent's 多平台登录策略): which of a user's sessions a new
login pushes out. Pure: no I/O.

1. one device in total;
2. one mobile (Android, iPhone, iPad) and one PC or Web (Windows, Mac, Linux, Web);
3. one per platform;
4. many: up to `per_platform` (3) devices a platform, and up to `web` (10) Web sessions.

When a new login exceeds its slot, the oldest sessions in that slot are kicked (code 6208).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.common import messaging_settings

MOBILE = frozenset({"Android", "iPhone", "iPad"})
_DEFAULT = messaging_settings.DEFAULTS.login


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    mode: int = _DEFAULT.mode
    per_platform: int = _DEFAULT.per_platform
    web: int = _DEFAULT.web


@dataclass(frozen=True, slots=True)
class Session:
    conn_id: str
    platform: str
    login_ms: int


def policy_from_settings(settings: Mapping[str, object]) -> LoginPolicy:
    """The messaging setting `login`: Tencent's multi-platform defaults unless set."""
    login = messaging_settings.value(settings, "login")
    return LoginPolicy(mode=login.mode, per_platform=login.per_platform, web=login.web)


def slot(policy: LoginPolicy, platform: str) -> tuple[str, int]:
    """(slot name, sessions the slot holds) for a platform under the policy."""
    if policy.mode == 1:
        return "all", 1
    if policy.mode == 2:
        return ("mobile", 1) if platform in MOBILE else ("pc_or_web", 1)
    if policy.mode == 3:
        return platform, 1
    return (platform, policy.web) if platform == "Web" else (platform, policy.per_platform)


def sessions_to_kick(
    policy: LoginPolicy, existing: Sequence[Session], new_platform: str
) -> list[str]:
    """The conn_ids the new login pushes out: the oldest sessions of its slot beyond capacity
    (the new session takes one place)."""
    name, capacity = slot(policy, new_platform)
    same_slot = sorted(
        (s for s in existing if slot(policy, s.platform)[0] == name), key=lambda s: s.login_ms
    )
    overflow = len(same_slot) + 1 - capacity
    return [s.conn_id for s in same_slot[:overflow]] if overflow > 0 else []
