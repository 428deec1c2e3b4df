"""An app's Tencent-style callback configuration, kept in App.settings["callback"]. Pure.

One URL and one auth token per app; each Tencent CallbackCommand is enabled on its own (or
"all"); a timeout for before-callbacks (Tencent's default 2 s); and what a before-callback that
times out or fails means: "open" lets the action through (Tencent's behaviour), "closed"
refuses it. `fail_policy` holds for every before-callback; `c2c_msg_fail_policy` and
`group_msg_fail_policy`, when set, override it for the two before-send callbacks (the two
checkboxes of Tencent's console). `fail_policy_for` is the one place that chooses.

The SSRF guard lives here too: a callback URL may not point at loopback, link-local (which holds
the cloud metadata address 169.254.169.254), private or other non-public addresses unless the
operator allows them (TIDINGS_CALLBACK_ALLOW_PRIVATE). The URL is checked when it is set, and
every address its host resolves to is checked again before each request. An IP literal is read
as the resolver reads it (`host_address`), so 0x7f000001, 2130706433, 127.1 and 0177.0.0.1 are
all 127.0.0.1, both here and in the poster.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from services.common.store.ports import App

SETTINGS_KEY = "callback"

C2C_BEFORE_SEND = "C2C.CallbackBeforeSendMsg"
C2C_AFTER_SEND = "C2C.CallbackAfterSendMsg"
GROUP_BEFORE_SEND = "Group.CallbackBeforeSendMsg"
GROUP_AFTER_SEND = "Group.CallbackAfterSendMsg"

# Every CallbackCommand SPEC §5 names, spelled as Tencent spells them.
COMMANDS: tuple[str, ...] = (
    C2C_BEFORE_SEND,
    C2C_AFTER_SEND,
    "C2C.CallbackAfterMsgReport",
    "C2C.CallbackAfterMsgWithDraw",
    "Group.CallbackBeforeCreateGroup",
    "Group.CallbackAfterCreateGroup",
    "Group.CallbackBeforeApplyJoinGroup",
    "Group.CallbackBeforeInviteJoinGroup",
    "Group.CallbackAfterNewMemberJoin",
    "Group.CallbackAfterMemberExit",
    GROUP_BEFORE_SEND,
    GROUP_AFTER_SEND,
    "Group.CallbackAfterRecallMsg",
    "Group.CallbackAfterGroupFull",
    "Group.CallbackAfterGroupDestroyed",
    "Group.CallbackAfterGroupInfoChanged",
    "Sns.CallbackPrevFriendAdd",
    "Sns.CallbackFriendAdd",
    "Sns.CallbackFriendDelete",
    "Sns.CallbackBlackListAdd",
    "Sns.CallbackBlackListDelete",
    "Profile.CallbackPortraitSet",
    "State.StateChange",
)
ALL = "all"
# The before-callbacks other than sends, served by CallbackService.BeforeEvent.
BEFORE_EVENTS: tuple[str, ...] = (
    "Group.CallbackBeforeCreateGroup",
    "Group.CallbackBeforeApplyJoinGroup",
    "Group.CallbackBeforeInviteJoinGroup",
    "Sns.CallbackPrevFriendAdd",
)

DEFAULT_TIMEOUT_S = 2.0
MIN_TIMEOUT_S = 0.1
# A before-callback holds a send; Tencent advises against raising its 2 s.
MAX_TIMEOUT_S = 10.0
MAX_URL_LENGTH = 2048
MAX_TOKEN_LENGTH = 256

FailPolicy: TypeAlias = Literal["open", "closed"]
# Given to `update` for a message fail policy: drop the override.
FOLLOW_DEFAULT = "default"
IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# The before-send callbacks whose fail policy can differ from the app's default, by field.
MESSAGE_FAIL_POLICY_FIELDS: dict[str, str] = {
    C2C_BEFORE_SEND: "c2c_msg_fail_policy",
    GROUP_BEFORE_SEND: "group_msg_fail_policy",
}

_FIELDS = frozenset(
    {"url", "token", "commands", "timeout_s", "fail_policy", *MESSAGE_FAIL_POLICY_FIELDS.values()}
)
# One part of an IPv4 address as glibc's inet_aton (and so getaddrinfo) reads it: decimal,
# 0-octal or 0x-hex.
_INET_ATON_PART = re.compile(r"0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    url: str
    token: str = ""
    # Empty with enable_all False: configured, but every command is off.
    commands: frozenset[str] = frozenset()
    enable_all: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    fail_policy: FailPolicy = "open"
    # None: the message callback follows fail_policy.
    c2c_msg_fail_policy: FailPolicy | None = None
    group_msg_fail_policy: FailPolicy | None = None

    def enabled(self, command: str) -> bool:
        return self.enable_all or command in self.commands

    def fail_policy_for(self, command: str) -> FailPolicy:
        """What a failed or timed-out before-callback `command` means for this app."""
        if command == C2C_BEFORE_SEND and self.c2c_msg_fail_policy is not None:
            return self.c2c_msg_fail_policy
        if command == GROUP_BEFORE_SEND and self.group_msg_fail_policy is not None:
            return self.group_msg_fail_policy
        return self.fail_policy

    def doc(self) -> dict[str, object]:
        return {
            "url": self.url,
            "token": self.token,
            "commands": ALL if self.enable_all else sorted(self.commands),
            "timeout_s": self.timeout_s,
            "fail_policy": self.fail_policy,
            "c2c_msg_fail_policy": self.c2c_msg_fail_policy,
            "group_msg_fail_policy": self.group_msg_fail_policy,
        }


def ip_allowed(ip: IpAddress, allow_private: bool) -> bool:
    """Whether a callback may connect to `ip`."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    # is_global is False for loopback, link-local, private, shared (100.64/10) and reserved
    # ranges alike.
    return allow_private or ip.is_global


def host_address(host: str) -> IpAddress | None:
    """The address a URL's host (without brackets) names when it is an IP literal, or None for
    a name. Read as the resolver and the HTTP client will read it: IDNA dots and full-width
    digits folded, one trailing dot dropped, and IPv4 in glibc inet_aton's forms (127.1,
    0x7f000001, 2130706433, 0177.0.0.1)."""
    try:
        # The IDNA codec folds what an HTTP client folds before resolving (127。0。0。1).
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None  # no client can send this name either
    host = host.lower().removesuffix(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """glibc's inet_aton: 1-4 parts, the last filling the bytes left (127.1 is 127.0.0.1,
    2130706433 too); None when `host` is no such address (1.2.3.4.5, 08.1: a name)."""
    parts = host.split(".")
    if len(parts) > 4 or not all(_INET_ATON_PART.fullmatch(p) for p in parts):
        return None
    values = [int(p, 16) if p.startswith("0x") else int(p, 8 if p[0] == "0" else 10) for p in parts]
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (5 - len(values))):
        return None
    return ipaddress.IPv4Address(sum(v << (8 * (3 - i)) for i, v in enumerate(leading)) + last)


def canonical_url(url: str) -> str:
    """The URL with an IPv4 literal host written as a dotted quad (http://127.1/ ->
    http://127.0.0.1/), so that the HTTP client connects to the address that was checked
    (httpx refuses 0177.0.0.1 and would hand 0x7f000001 to the resolver). IPv6 literals are
    left alone: httpx parses them as ipaddress does."""
    parts = urlsplit(url)
    host = parts.hostname
    address = host_address(host) if host and ":" not in host else None
    if address is None or str(address) == host:
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    _, colon, port = hostport.partition(":")
    netloc = f"{userinfo}{at}{address}{colon}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _host_allowed(host: str, allow_private: bool) -> bool:
    ip = host_address(host)
    if ip is None:
        # A name: only the obvious local ones are refused here; what it resolves to is checked
        # before every request.
        name = host.rstrip(".").lower()
        local = name == "localhost" or name.endswith(".localhost")
        return allow_private or not local
    return ip_allowed(ip, allow_private)


def check_url(url: object, allow_private: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValueError("url must be a non-empty http or https URL")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"url {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url {url!r} must be http:// or https:// with a host")
    if parts.fragment:
        raise ValueError("url must not have a #fragment")
    if port == 0:
        raise ValueError("url port must not be 0")
    if not _host_allowed(parts.hostname, allow_private):
        raise ValueError(
            f"url host {parts.hostname} is a loopback, link-local or private address; "
            "set TIDINGS_CALLBACK_ALLOW_PRIVATE=true to allow it"
        )
    return url


def parse_commands(raw: object) -> tuple[frozenset[str], bool]:
    """ "all", or a list (or comma-separated string) of Tencent CallbackCommand names."""
    if isinstance(raw, str):
        if raw.strip().lower() == ALL:
            return frozenset(), True
        raw = [c for c in (part.strip() for part in raw.split(",")) if c]
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise ValueError('commands must be "all" or a list of CallbackCommand names')
    unknown = sorted(set(raw) - set(COMMANDS))
    if unknown:
        raise ValueError(
            f"unknown CallbackCommand {', '.join(unknown)}; known: {', '.join(COMMANDS)}"
        )
    return frozenset(raw), False


def _timeout(raw: object) -> float:
    value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else math.nan
    if not (math.isfinite(value) and MIN_TIMEOUT_S <= value <= MAX_TIMEOUT_S):
        raise ValueError(f"timeout_s must be seconds in [{MIN_TIMEOUT_S}, {MAX_TIMEOUT_S}]")
    return value


def _fail_policy(raw: object, name: str = "fail_policy") -> FailPolicy:
    if raw == "open":
        return "open"
    if raw == "closed":
        return "closed"
    raise ValueError(f'{name} must be "open" or "closed"')


def _override(raw: Mapping[str, object], name: str) -> FailPolicy | None:
    value = raw.get(name)
    return None if value is None else _fail_policy(value, name)


def _token(raw: object) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_LENGTH:
        raise ValueError(f"token must be a string of at most {MAX_TOKEN_LENGTH} characters")
    return raw


def parse_config(raw: object, allow_private: bool) -> CallbackConfig:
    if not isinstance(raw, Mapping):
        raise ValueError("callback must be an object with url, token, commands, ...")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"callback has unknown fields {sorted(unknown)}")
    if "url" not in raw:
        raise ValueError("callback.url is required")
    commands, enable_all = parse_commands(raw.get("commands", []))
    return CallbackConfig(
        url=check_url(raw["url"], allow_private),
        token=_token(raw.get("token", "")),
        commands=commands,
        enable_all=enable_all,
        timeout_s=_timeout(raw.get("timeout_s", DEFAULT_TIMEOUT_S)),
        fail_policy=_fail_policy(raw.get("fail_policy", "open")),
        c2c_msg_fail_policy=_override(raw, "c2c_msg_fail_policy"),
        group_msg_fail_policy=_override(raw, "group_msg_fail_policy"),
    )


def config_of(app: App) -> CallbackConfig | None:
    """The app's configuration, or None when it has none. A stored value has passed
    parse_config; the address guard is applied again on every request."""
    raw = app.settings.get(SETTINGS_KEY)
    if raw is None:
        return None
    try:
        return parse_config(raw, allow_private=True)
    except ValueError:
        return None


def update(
    app: App,
    allow_private: bool,
    *,
    url: str | None = None,
    token: str | None = None,
    commands: str | Iterable[str] | None = None,
    timeout_s: float | None = None,
    fail_policy: str | None = None,
    c2c_msg_fail_policy: str | None = None,
    group_msg_fail_policy: str | None = None,
) -> CallbackConfig:
    """Change the given fields of the app's configuration (all of them validated), keep the
    rest; an app without one needs a url. A message fail policy of "default" drops its
    override (the message callback follows fail_policy again)."""
    current = config_of(app)
    doc: dict[str, object] = current.doc() if current else {}
    changes: dict[str, object] = {
        "url": url,
        "token": token,
        "commands": commands if commands is None or isinstance(commands, str) else list(commands),
        "timeout_s": timeout_s,
        "fail_policy": fail_policy,
        "c2c_msg_fail_policy": c2c_msg_fail_policy,
        "group_msg_fail_policy": group_msg_fail_policy,
    }
    doc.update({k: v for k, v in changes.items() if v is not None})
    for name in MESSAGE_FAIL_POLICY_FIELDS.values():
        if doc.get(name) == FOLLOW_DEFAULT:
            doc[name] = None
    config = parse_config(doc, allow_private)
    app.settings[SETTINGS_KEY] = config.doc()
    return config


def view(app: App) -> dict[str, object] | None:
    config = config_of(app)
    return config.doc() if config else None
