"""An app's REST platform settings: per-command rate limits and the IP whitelist (both in
App.settings) and the admin accounts (App.admins).

Pure: parse, validate and apply. The admin API and the CLI both change settings through here,
so a value in the store has always passed these checks.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.common.apps import MAX_EXTRA_ADMINS
from services.common.store.ports import App

RATE_LIMITS = "rate_limits"
IP_WHITELIST = "ip_whitelist"
ADMIN = "administrator"

# SPEC §3 and Easemob's REST whitelist: at most 8 IPs or CIDRs.
MAX_WHITELIST = 8
MAX_RATE_LIMIT = 1_000_000
MAX_RATE_WINDOW_S = 86_400
# Tencent's UserID limit.
MAX_IDENTIFIER_BYTES = 32

_COMMAND = re.compile(r"[a-z0-9_]+/[a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `limit` requests per `per_s` seconds."""

    limit: int
    per_s: int

    def doc(self) -> dict[str, int]:
        return {"limit": self.limit, "per_s": self.per_s}


def _int_in(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}]")
    return value


def parse_rate(command: str, raw: object) -> Rate:
    if not _COMMAND.fullmatch(command):
        raise ValueError(f"rate limit key {command!r} must be service/command, e.g. openim/sendmsg")
    if not isinstance(raw, Mapping):
        raise ValueError(f"rate limit for {command} must be an object with limit and per_s")
    unknown = set(raw) - {"limit", "per_s"}
    if unknown:
        raise ValueError(f"rate limit for {command} has unknown fields {sorted(unknown)}")
    return Rate(
        _int_in(raw.get("limit"), f"{command}.limit", 1, MAX_RATE_LIMIT),
        _int_in(raw.get("per_s", 1), f"{command}.per_s", 1, MAX_RATE_WINDOW_S),
    )


def parse_rate_limits(raw: object) -> dict[str, Rate]:
    if not isinstance(raw, Mapping):
        raise ValueError("rate_limits must be an object of service/command -> {limit, per_s}")
    return {str(k): parse_rate(str(k), v) for k, v in raw.items()}


def parse_rate_arg(arg: str) -> tuple[str, Rate]:
    """The CLI's `service/command=LIMIT/SECONDS` (the `/SECONDS` part defaults to 1)."""
    command, sep, spec = arg.partition("=")
    limit, _, per_s = spec.partition("/")
    if not sep or not limit.isdigit() or (per_s and not per_s.isdigit()):
        raise ValueError(f"{arg!r} is not service/command=LIMIT/SECONDS")
    return command, parse_rate(command, {"limit": int(limit), "per_s": int(per_s or 1)})


def normalise_network(entry: object) -> str:
    """One IP or CIDR, IPv4 or IPv6, in canonical form; a single host is shown as its address."""
    if not isinstance(entry, str):
        raise ValueError("each whitelist entry must be a string")
    try:
        net = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
    host = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if host else str(net)


def parse_ip_whitelist(raw: object) -> list[str]:
    if not isinstance(raw, list):
        raise ValueError("ip_whitelist must be a list of IPs or CIDRs")
    entries = list(dict.fromkeys(normalise_network(e) for e in raw))
    if len(entries) > MAX_WHITELIST:
        raise ValueError(f"ip_whitelist holds at most {MAX_WHITELIST} entries")
    return entries


def parse_admins(raw: object) -> list[str]:
    """`administrator` first, then up to 15 more; naming `administrator` is optional."""
    if not isinstance(raw, list):
        raise ValueError("admins must be a list of identifiers")
    extra: list[str] = []
    for ident in raw:
        if not isinstance(ident, str) or not ident.strip():
            raise ValueError("each admin must be a non-empty string")
        if len(ident.encode()) > MAX_IDENTIFIER_BYTES:
            raise ValueError(f"admin {ident!r} is longer than {MAX_IDENTIFIER_BYTES} bytes")
        if ident != ADMIN and ident not in extra:
            extra.append(ident)
    if len(extra) > MAX_EXTRA_ADMINS:
        raise ValueError(f"an app has administrator plus at most {MAX_EXTRA_ADMINS} admins")
    return [ADMIN, *extra]


def rate_limits_of(app: App) -> dict[str, Rate]:
    raw = app.settings.get(RATE_LIMITS)
    return parse_rate_limits(raw) if raw else {}


def ip_whitelist_of(app: App) -> list[str]:
    raw = app.settings.get(IP_WHITELIST)
    return [e for e in raw if isinstance(e, str)] if isinstance(raw, list) else []


def apply(
    app: App,
    *,
    rate_limits: Mapping[str, object] | None = None,
    ip_whitelist: Iterable[object] | None = None,
    admins: Iterable[object] | None = None,
) -> None:
    """Validate everything first, then replace each setting that was given."""
    rates = None if rate_limits is None else parse_rate_limits(rate_limits)
    whitelist = None if ip_whitelist is None else parse_ip_whitelist(list(ip_whitelist))
    admin_list = None if admins is None else parse_admins(list(admins))
    if rates is not None:
        app.settings[RATE_LIMITS] = {k: r.doc() for k, r in rates.items()}
    if whitelist is not None:
        app.settings[IP_WHITELIST] = whitelist
    if admin_list is not None:
        app.admins = admin_list


def view(app: App) -> dict[str, object]:
    return {
        RATE_LIMITS: {k: r.doc() for k, r in rate_limits_of(app).items()},
        IP_WHITELIST: ip_whitelist_of(app),
        "admins": list(app.admins),
    }
