"""The per-app REST IP whitelist (settings["ip_whitelist"]): at most 8 IPs or CIDRs, IPv4 or
IPv6. An empty list allows every caller. Pure.

The caller's IP is the socket peer, or X-Forwarded-For when the peer is a trusted proxy
(uvicorn's `forwarded_allow_ips`, 127.0.0.1 by default), so a whitelist works behind an ingress.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from services.common import app_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4096)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    parsed: list[Network] = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            # Unreadable entries match nothing; the list stays non-empty, so it fails closed.
            continue
    return tuple(parsed)


def _address(ip: str) -> Address | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 callers as ::ffff:a.b.c.d.
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def allowed(entries: Sequence[str], ip: str) -> bool:
    if not entries:
        return True
    addr = _address(ip)
    return addr is not None and any(addr in net for net in _networks(tuple(entries)))


def check(app: App, client_ip: str) -> None:
    """Refuse with 60021, naming the caller's IP, when it is outside a non-empty whitelist."""
    if not allowed(app_settings.ip_whitelist_of(app), client_ip):
        raise TidingsError(
            ErrorCode.REST_IP_NOT_ALLOWED,
            f"the caller ip {client_ip or 'unknown'} is not in the ip whitelist"
            f" of app {app.sdkappid}",
        )
