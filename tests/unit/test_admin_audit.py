"""The admin audit log's pure parts: what changed between two states of an app, secrets
redacted at any depth, push credentials as push_config shows them, and the search's bounds."""

from __future__ import annotations

import orjson
import pytest
from typer import BadParameter

from services.cli.audit_log import _millis
from services.common import (
    admin_audit,
    app_settings,
    apps,
    callback_config,
    callback_rules,
    push_config,
)
from services.common.admin_audit import MASK, mask, redact, search_query
from services.common.store.admin_audit import DAY_MS, AuditEntry, AuditQuery, matches
from services.common.store.ports import App, AppKey

NOW = 1_800_000_000_000
LONG_TOKEN = "tok-0123456789abcdef-secret"


def new_app(**settings: object) -> App:
    return App(1400000601, "audit", "Standard", [AppKey("k" * 64)], settings=dict(settings))


def test_secret_names() -> None:
    for name in (
        "token",
        "secret",
        "client_secret",
        "app_key",
        "private_key_pem",
        "key_pem",
        "key",
        "password",
        "apiKey",
        "AppSecret",
        "usersig",
        "X-Api-Key",
    ):
        assert admin_audit.is_secret_name(name), name
    for name in ("keys", "ext_keys", "url", "ip_whitelist", "admins", "name", "monkey"):
        assert not admin_audit.is_secret_name(name), name


def test_mask_keeps_at_most_four_characters_of_long_secrets() -> None:
    assert mask(LONG_TOKEN) == "tok-" + MASK
    assert mask("short-secret") == MASK  # under 16: nothing of it is kept
    assert mask("") == "" and mask(None) is None  # unset stays visibly unset
    assert mask({"nested": "value"}) == MASK
    assert mask("abcd" + MASK) == "abcd" + MASK  # a redacted view's value is kept as it is


def test_redact_at_any_depth() -> None:
    value = {
        "callback": {"url": "https://x.example/cb", "token": LONG_TOKEN},
        "rules": [{"name": "r", "secret": "s" * 40}],
        "keys": [{"key": "k" * 64, "valid_until": None}],
    }
    out = redact(value)
    text = orjson.dumps(out).decode()
    assert LONG_TOKEN not in text and "s" * 40 not in text and "k" * 64 not in text
    assert out == {
        "callback": {"url": "https://x.example/cb", "token": "tok-" + MASK},
        "rules": [{"name": "r", "secret": "ssss" + MASK}],
        "keys": [{"key": "kkkk" + MASK, "valid_until": None}],
    }


def test_app_changes_keep_only_what_changed() -> None:
    app = new_app(ip_whitelist=["10.0.0.0/8"], messaging_x=1)
    before = admin_audit.snapshot(app)
    app_settings.apply(app, rate_limits={"openim/sendmsg": {"limit": 5, "per_s": 1}})
    app.admins.append("ops")
    b, a = admin_audit.app_changes(before, app)
    assert b == {"admins": ["administrator"], "rate_limits": None}
    assert a == {
        "admins": ["administrator", "ops"],
        "rate_limits": {"openim/sendmsg": {"limit": 5, "per_s": 1}},
    }
    # Nothing changed: nothing to show.
    assert admin_audit.app_changes(app, admin_audit.snapshot(app)) == ({}, {})


def test_nested_changes_and_secrets() -> None:
    app = new_app()
    callback_config.update(app, True, url="http://127.0.0.1:9/cb", token=LONG_TOKEN)
    before = admin_audit.snapshot(app)
    callback_config.update(app, True, token="another-token-0123456789")
    b, a = admin_audit.app_changes(before, app)
    assert b == {"callback": {"token": LONG_TOKEN}}  # only the token changed
    assert redact(a) == {"callback": {"token": "anot" + MASK}}


def test_rule_secret_and_key_rotation_redacted() -> None:
    app = new_app()
    before = admin_audit.snapshot(app)
    rule = callback_rules.add_rule(
        app,
        callback_rules.PRE_SEND,
        {
            "name": "mod",
            "url": "http://127.0.0.1:9/mod",
            "chat_types": ["single"],
            "msg_types": ["txt"],
        },
        True,
    )
    new_key = apps.rotate_key(app, 60)
    b, a = admin_audit.app_changes(before, app)
    text = orjson.dumps([redact(b), redact(a)]).decode()
    assert rule.secret not in text and new_key not in text and "k" * 64 not in text
    assert sorted(a) == ["callback_rules", "keys"]


def test_push_credentials_shown_as_push_config_shows_them() -> None:
    app = new_app()
    before = admin_audit.snapshot(app)
    secret = "huawei-client-secret-0123456789"
    push_config.set_credentials(app, "huawei", {"app_id": "10086", "client_secret": secret}, False)
    push_config.set_template(app, "default", ["{$fromNickname}"], ["{$msg}"])
    b, a = admin_audit.app_changes(before, app)
    assert b == {"push": None}
    after_push = redact(a)
    assert isinstance(after_push, dict)
    assert after_push["push"]["credentials"] == {
        "huawei": push_config.credential_view(app, "huawei")
    }
    assert secret not in orjson.dumps(after_push).decode()

    # Removing them: before shows the view, after null.
    second = admin_audit.snapshot(app)
    push_config.delete_credentials(app, "huawei")
    b, a = admin_audit.app_changes(second, app)
    assert b == {"push": {"credentials": {"huawei": push_config.credential_view(second, "huawei")}}}
    assert a == {"push": {"credentials": {"huawei": None}}}


def test_search_query_defaults_and_bounds() -> None:
    q = search_query(NOW)
    assert (q.since_ms, q.until_ms, q.limit) == (NOW - 7 * DAY_MS, NOW, 50)
    q = search_query(NOW, since_ms=NOW - DAY_MS, until_ms=NOW - 1, action="rules", actor="ops")
    assert (q.since_ms, q.until_ms, q.action, q.actor) == (NOW - DAY_MS, NOW - 1, "rules", "ops")
    for bad, message in (
        ({"since_ms": NOW, "until_ms": NOW - 1}, "since is after until"),
        ({"since_ms": NOW - 94 * DAY_MS}, "at most 93 days"),
        ({"limit": 0}, "limit is 1 to 200"),
        ({"limit": 201}, "limit is 1 to 200"),
        ({"action": "Rules;drop"}, "dotted name"),
        ({"actor": ""}, "actor is 1 to 128"),
        ({"cursor": "zzz"}, "cursor"),
        ({"since_ms": -5}, "not negative"),
    ):
        with pytest.raises(ValueError, match=message):
            search_query(NOW, **bad)  # type: ignore[arg-type]


def test_matches() -> None:
    entry = AuditEntry(
        1, "1800000000000-00000000", NOW, "ops", "cli", "", "rules.pre_send.create", ""
    )
    base = AuditQuery(since_ms=NOW, until_ms=NOW)
    assert matches(entry, base)
    assert matches(entry, AuditQuery(NOW, NOW, sdkappid=1, actor="ops", action="rules.pre_send"))
    assert not matches(entry, AuditQuery(NOW, NOW, action="rules.pre"))
    assert not matches(entry, AuditQuery(NOW + 1, NOW + 2))
    assert not matches(entry, AuditQuery(NOW, NOW, before_id=entry.entry_id))
    assert not matches(entry, AuditQuery(NOW, NOW, sdkappid=2))


async def test_record_redacts_and_bounds() -> None:
    written: list[AuditEntry] = []

    class Store:
        async def record(self, entry: AuditEntry) -> None:
            written.append(entry)

        async def search(self, query: AuditQuery) -> list[AuditEntry]:
            return []

    actor = admin_audit.Actor("administrator", admin_audit.REST, "10.0.0.7")
    entry = await admin_audit.record(
        Store(),
        actor,
        7,
        "callback.update",
        before={"callback": {"token": LONG_TOKEN}},
        after={"big": "x" * (admin_audit.MAX_VALUE_BYTES + 1)},
    )
    assert written == [entry]
    assert (entry.actor, entry.source, entry.client_ip) == ("administrator", "rest", "10.0.0.7")
    assert entry.before == {"callback": {"token": "tok-" + MASK}}
    assert entry.after == {"omitted": f"{admin_audit.MAX_VALUE_BYTES + 11} bytes"}


def test_cli_times() -> None:
    assert _millis(None, "--since") is None
    assert _millis("1800000000000", "--since") == 1_800_000_000_000
    assert _millis("1970-01-02", "--until") == DAY_MS  # UTC unless it says
    assert _millis("1970-01-02T08:00:00+08:00", "--until") == DAY_MS
    with pytest.raises(BadParameter, match="--since is Unix milliseconds or an ISO 8601 time"):
        _millis("yesterday", "--since")
