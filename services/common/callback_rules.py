"""An app's Easemob-style callback rules, kept in App.settings["callback_rules"]. Pure.

Beside the Tencent-style callback (callback_config.py), an app may have:

- pre-send rules (Easemob 发送前回调), at most 4: each names the chat types and message types it
  applies to, a URL, a timeout (200 ms by default), what a failed call means (`pass` lets the
  message through, `block` stops it), whether a blocked sender is told (`report_error`), and
  whether the rule is on;
- post-send rules (Easemob 发送后回调), at most 4: each follows one stream, `chat` (every sent
  message) or `offline` (one event per member a message found offline), may leave out messages
  sent through REST, and filters on From, To, Group and ext keys.

Every rule has a secret: requests carry `security = md5(callId + secret + timestamp)`. One is
drawn when the rule is created without one (Easemob generates it too).

Filters: each holds at most 50 values and matches when the message has any of them; the four
filters combine with AND, and an empty filter matches everything. To is the receiving user (the
C2C peer, or the offline member in the offline stream): a group message in the chat stream has
no receiving user, so it never matches a non-empty To filter, as in Easemob.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final, Literal, TypeAlias

from services.common.callback_config import check_url
from services.common.store.ports import App

SETTINGS_KEY = "callback_rules"

MAX_PRE_SEND_RULES = 4
MAX_POST_SEND_RULES = 4
MAX_NAME_LENGTH = 32
MAX_FILTER_VALUES = 50
MAX_FILTER_VALUE_LENGTH = 128
MAX_SECRET_LENGTH = 128

DEFAULT_TIMEOUT_MS = 200
MIN_TIMEOUT_MS = 50
# Rules run one after the other within the sender's wait; one rule may not take it all.
MAX_TIMEOUT_MS = 5000

# Chat types as the SPEC names them; the request body spells single as "chat" (Easemob).
CHAT_TYPES: tuple[str, ...] = ("single", "group", "chatroom")
# Easemob's message types (its REST message format's `type`).
MSG_TYPES: tuple[str, ...] = ("txt", "img", "loc", "audio", "video", "file", "custom", "cmd")
STREAMS: tuple[str, ...] = ("chat", "offline")

PRE_SEND: Final = "pre-send"
POST_SEND: Final = "post-send"

RuleKind: TypeAlias = Literal["pre-send", "post-send"]
OnFailure: TypeAlias = Literal["pass", "block"]
Stream: TypeAlias = Literal["chat", "offline"]

# Post-send rule names: Easemob allows letters, digits and underscores only.
_POST_NAME = re.compile(r"[A-Za-z0-9_]+")
_PRE_FIELDS = frozenset(
    {
        "name",
        "url",
        "chat_types",
        "msg_types",
        "timeout_ms",
        "on_failure",
        "report_error",
        "enabled",
        "secret",
    }
)
_POST_FIELDS = frozenset(
    {
        "name",
        "url",
        "stream",
        "include_rest",
        "from_ids",
        "to_ids",
        "group_ids",
        "ext_keys",
        "enabled",
        "secret",
    }
)


class RuleError(ValueError):
    """A refused rule change. `code`: invalid_argument, too_many_rules, name_taken or
    not_found (the admin API's error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PreSendRule:
    name: str
    url: str
    chat_types: frozenset[str]
    msg_types: frozenset[str]
    secret: str
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    on_failure: OnFailure = "pass"
    report_error: bool = True
    enabled: bool = True

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000

    def applies(self, chat_type: str, msg_types: Iterable[str]) -> bool:
        """Whether a message of this chat type, with elements of these types, is sent to the
        rule (a message with several elements: any of them)."""
        return (
            self.enabled
            and chat_type in self.chat_types
            and not self.msg_types.isdisjoint(msg_types)
        )

    def doc(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "chat_types": [t for t in CHAT_TYPES if t in self.chat_types],
            "msg_types": [t for t in MSG_TYPES if t in self.msg_types],
            "timeout_ms": self.timeout_ms,
            "on_failure": self.on_failure,
            "report_error": self.report_error,
            "enabled": self.enabled,
            "secret": self.secret,
        }


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What post-send filters look at. `to_user` is the receiving user, "" for a group
    message in the chat stream."""

    sender: str
    to_user: str
    group_id: str
    ext_keys: frozenset[str]
    via_rest: bool


@dataclass(frozen=True, slots=True)
class PostSendRule:
    name: str
    url: str
    secret: str
    stream: Stream = "chat"
    include_rest: bool = True
    from_ids: frozenset[str] = frozenset()
    to_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    ext_keys: frozenset[str] = frozenset()
    enabled: bool = True

    def matches(self, facts: MessageFacts) -> bool:
        if not self.enabled or (facts.via_rest and not self.include_rest):
            return False
        return (
            (not self.from_ids or facts.sender in self.from_ids)
            and (not self.to_ids or facts.to_user in self.to_ids)
            and (not self.group_ids or facts.group_id in self.group_ids)
            and (not self.ext_keys or not self.ext_keys.isdisjoint(facts.ext_keys))
        )

    def doc(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "stream": self.stream,
            "include_rest": self.include_rest,
            "from_ids": sorted(self.from_ids),
            "to_ids": sorted(self.to_ids),
            "group_ids": sorted(self.group_ids),
            "ext_keys": sorted(self.ext_keys),
            "enabled": self.enabled,
            "secret": self.secret,
        }


@dataclass(frozen=True, slots=True)
class Rules:
    pre_send: tuple[PreSendRule, ...] = ()
    post_send: tuple[PostSendRule, ...] = ()

    def post_send_rule(self, name: str) -> PostSendRule | None:
        return next((r for r in self.post_send if r.name == name), None)

    def doc(self) -> dict[str, object]:
        return {
            "pre_send": [r.doc() for r in self.pre_send],
            "post_send": [r.doc() for r in self.post_send],
        }


def _invalid(message: str) -> RuleError:
    return RuleError("invalid_argument", message)


def _name(raw: object, kind: RuleKind) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("name must be a non-empty string")
    name = raw.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise _invalid(f"name must be at most {MAX_NAME_LENGTH} characters")
    if kind == POST_SEND and not _POST_NAME.fullmatch(name):
        raise _invalid("a post-send rule name may hold letters, digits and underscores only")
    if any(not c.isprintable() for c in name):
        raise _invalid("name must not contain control characters")
    return name


def _flag(raw: object, key: str) -> bool:
    if not isinstance(raw, bool):
        raise _invalid(f"{key} must be true or false")
    return raw


def _choices(raw: object, key: str, allowed: tuple[str, ...]) -> frozenset[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise _invalid(f"{key} must be a non-empty list of {', '.join(allowed)}")
    # "chat" is Easemob's own word for single chats.
    values = {"single" if v == "chat" and "single" in allowed else v for v in raw}
    unknown = sorted(values - set(allowed))
    if unknown:
        raise _invalid(f"{key} has unknown values {unknown}; known: {', '.join(allowed)}")
    return frozenset(values)


def _filter(raw: object, key: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise _invalid(f"{key} must be a list of non-empty strings")
    values = frozenset(raw)
    if len(values) > MAX_FILTER_VALUES:
        raise _invalid(f"{key} holds {len(values)} values; at most {MAX_FILTER_VALUES}")
    if any(len(v) > MAX_FILTER_VALUE_LENGTH for v in values):
        raise _invalid(f"{key} values must be at most {MAX_FILTER_VALUE_LENGTH} characters")
    return values


def _secret(raw: object) -> str:
    if raw is None or raw == "":
        return secrets.token_hex(16)
    if not isinstance(raw, str) or len(raw) > MAX_SECRET_LENGTH:
        raise _invalid(f"secret must be a string of at most {MAX_SECRET_LENGTH} characters")
    return raw


def _timeout_ms(raw: object) -> int:
    value = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else math.nan
    if not (math.isfinite(value) and value == int(value)):
        raise _invalid("timeout_ms must be a whole number of milliseconds")
    if not MIN_TIMEOUT_MS <= value <= MAX_TIMEOUT_MS:
        raise _invalid(f"timeout_ms must be in [{MIN_TIMEOUT_MS}, {MAX_TIMEOUT_MS}]")
    return int(value)


def _url(raw: object, allow_private: bool) -> str:
    try:
        return check_url(raw, allow_private)
    except ValueError as err:
        raise _invalid(str(err)) from None


def _read(raw: object, kind: RuleKind, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise _invalid(f"a {kind} rule must be an object")
    unknown = set(raw) - allowed
    if unknown:
        raise _invalid(f"a {kind} rule has unknown fields {sorted(unknown)}")
    return raw


def parse_pre_send(raw: object, allow_private: bool) -> PreSendRule:
    f = _read(raw, PRE_SEND, _PRE_FIELDS)
    on_failure = f.get("on_failure", "pass")
    if on_failure not in ("pass", "block"):
        raise _invalid('on_failure must be "pass" or "block"')
    return PreSendRule(
        name=_name(f.get("name", None), PRE_SEND),
        url=_url(f.get("url", None), allow_private),
        chat_types=_choices(f.get("chat_types", None), "chat_types", CHAT_TYPES),
        msg_types=_choices(f.get("msg_types", None), "msg_types", MSG_TYPES),
        secret=_secret(f.get("secret", None)),
        timeout_ms=_timeout_ms(f.get("timeout_ms", DEFAULT_TIMEOUT_MS)),
        on_failure="pass" if on_failure == "pass" else "block",
        report_error=_flag(f.get("report_error", True), "report_error"),
        enabled=_flag(f.get("enabled", True), "enabled"),
    )


def parse_post_send(raw: object, allow_private: bool) -> PostSendRule:
    f = _read(raw, POST_SEND, _POST_FIELDS)
    stream = f.get("stream", "chat")
    if stream not in STREAMS:
        raise _invalid('stream must be "chat" or "offline"')
    return PostSendRule(
        name=_name(f.get("name", None), POST_SEND),
        url=_url(f.get("url", None), allow_private),
        secret=_secret(f.get("secret", None)),
        stream="chat" if stream == "chat" else "offline",
        include_rest=_flag(f.get("include_rest", True), "include_rest"),
        from_ids=_filter(f.get("from_ids", None), "from_ids"),
        to_ids=_filter(f.get("to_ids", None), "to_ids"),
        group_ids=_filter(f.get("group_ids", None), "group_ids"),
        ext_keys=_filter(f.get("ext_keys", None), "ext_keys"),
        enabled=_flag(f.get("enabled", True), "enabled"),
    )


def rules_of(app: App) -> Rules:
    """The app's rules. A stored rule has passed validation; one that no longer does (a field
    renamed since) is left out rather than failing every message."""
    raw = app.settings.get(SETTINGS_KEY)
    if not isinstance(raw, Mapping):
        return Rules()
    pre: list[PreSendRule] = []
    post: list[PostSendRule] = []
    for doc in raw.get("pre_send", ()) or ():
        try:
            pre.append(parse_pre_send(doc, allow_private=True))
        except RuleError:
            continue
    for doc in raw.get("post_send", ()) or ():
        try:
            post.append(parse_post_send(doc, allow_private=True))
        except RuleError:
            continue
    return Rules(tuple(pre), tuple(post))


def pre_send_budget_s(app: App) -> float:
    """The longest the app's pre-send rules can take together (they run one after another):
    what a caller of the before-send callback adds to its deadline."""
    return sum(r.timeout_s for r in rules_of(app).pre_send if r.enabled)


def _store(app: App, rules: Rules) -> None:
    app.settings[SETTINGS_KEY] = rules.doc()


def _limit(kind: RuleKind) -> int:
    return MAX_PRE_SEND_RULES if kind == PRE_SEND else MAX_POST_SEND_RULES


def _parse(kind: RuleKind, raw: object, allow_private: bool) -> PreSendRule | PostSendRule:
    if kind == PRE_SEND:
        return parse_pre_send(raw, allow_private)
    return parse_post_send(raw, allow_private)


def _with(rules: Rules, kind: RuleKind, items: list[PreSendRule | PostSendRule]) -> Rules:
    if kind == PRE_SEND:
        return replace(rules, pre_send=tuple(r for r in items if isinstance(r, PreSendRule)))
    return replace(rules, post_send=tuple(r for r in items if isinstance(r, PostSendRule)))


def _items(rules: Rules, kind: RuleKind) -> list[PreSendRule | PostSendRule]:
    return list(rules.pre_send if kind == PRE_SEND else rules.post_send)


def add_rule(
    app: App, kind: RuleKind, raw: object, allow_private: bool
) -> PreSendRule | PostSendRule:
    """Add a rule at the end (pre-send rules run in this order)."""
    rules = rules_of(app)
    items = _items(rules, kind)
    if len(items) >= _limit(kind):
        raise RuleError(
            "too_many_rules",
            f"the app has {len(items)} {kind} rules, the most it may have; "
            "delete or change one instead",
        )
    rule = _parse(kind, raw, allow_private)
    if any(r.name == rule.name for r in items):
        raise RuleError("name_taken", f"the app already has a {kind} rule named {rule.name!r}")
    _store(app, _with(rules, kind, [*items, rule]))
    return rule


def replace_rule(
    app: App, kind: RuleKind, name: str, raw: object, allow_private: bool
) -> PreSendRule | PostSendRule:
    """Replace the rule named `name` in place; a secret left out keeps the rule's own."""
    rules = rules_of(app)
    items = _items(rules, kind)
    index = next((i for i, r in enumerate(items) if r.name == name), None)
    if index is None:
        raise RuleError("not_found", f"the app has no {kind} rule named {name!r}")
    if isinstance(raw, Mapping) and not raw.get("secret"):
        raw = {**raw, "secret": items[index].secret}
    rule = _parse(kind, raw, allow_private)
    if any(r.name == rule.name for i, r in enumerate(items) if i != index):
        raise RuleError("name_taken", f"the app already has a {kind} rule named {rule.name!r}")
    items[index] = rule
    _store(app, _with(rules, kind, items))
    return rule


def delete_rule(app: App, kind: RuleKind, name: str) -> None:
    rules = rules_of(app)
    items = _items(rules, kind)
    kept = [r for r in items if r.name != name]
    if len(kept) == len(items):
        raise RuleError("not_found", f"the app has no {kind} rule named {name!r}")
    _store(app, _with(rules, kind, kept))


def get_rule(app: App, kind: RuleKind, name: str) -> PreSendRule | PostSendRule:
    found = next((r for r in _items(rules_of(app), kind) if r.name == name), None)
    if found is None:
        raise RuleError("not_found", f"the app has no {kind} rule named {name!r}")
    return found
