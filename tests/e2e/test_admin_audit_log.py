"""Acceptance: an admin change appears in the audit log with the actor, the IP, and the before
and after values, whether made through the admin API, the CLI or a REST admin command; and
secrets never appear in the log."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, admin_api

pytestmark = pytest.mark.stack

CALLBACK_TOKEN = "cb-token-9f8e7d6c5b4a3210"
RULE_SECRET = "rule-secret-0a1b2c3d4e5f6789"
HUAWEI_SECRET = "huawei-secret-00112233445566778899"
CLI_RULE_SECRET = "cli-rule-secret-ffeeddccbbaa9988"


async def audit_log(stack: Stack, sdkappid: int, **params: Any) -> list[dict[str, Any]]:
    r = await admin_api(stack, "GET", f"/apps/{sdkappid}/audit-log", params=params)
    assert r.status_code == 200, r.text
    return r.json()["entries"]  # type: ignore[no-any-return]


def one(entries: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action]
    assert len(found) == 1, (action, entries)
    return found[0]


async def tidings(stack: Stack, *args: str) -> str:
    """The CLI against the stack's data dir, as an operator on the host runs it."""
    env = {
        **os.environ,
        "TIDINGS_DATA_DIR": str(stack.data_dir),
        "TIDINGS_REDIS_URL": stack.redis_url,
        "TIDINGS_CALLBACK_ALLOW_PRIVATE": "true",
    }
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def test_admin_api_changes_are_logged_with_actor_ip_before_and_after(
    app: AppUnderTest,
) -> None:
    stack, sdkappid = app.stack, app.sdkappid
    started_ms = int(time.time() * 1000)
    r = await admin_api(
        stack, "PATCH", f"/apps/{sdkappid}/settings", json={"admins": ["administrator", "ops1"]}
    )
    assert r.status_code == 200, r.text
    r = await admin_api(
        stack,
        "PUT",
        f"/apps/{sdkappid}/callback",
        json={"url": "http://127.0.0.1:9/cb", "token": CALLBACK_TOKEN, "commands": "all"},
    )
    assert r.status_code == 200, r.text
    r = await admin_api(
        stack,
        "PUT",
        f"/apps/{sdkappid}/push/credentials/huawei",
        json={"credentials": {"app_id": "10086", "client_secret": HUAWEI_SECRET}},
    )
    assert r.status_code == 200, r.text
    r = await admin_api(
        stack,
        "POST",
        f"/apps/{sdkappid}/rules/pre-send",
        json={
            "name": "moderate",
            "url": "http://127.0.0.1:9/mod",
            "chat_types": ["single"],
            "msg_types": ["txt"],
            "secret": RULE_SECRET,
        },
    )
    assert r.status_code == 201, r.text
    r = await admin_api(stack, "POST", f"/apps/{sdkappid}/rotate-key", json={"grace_s": 60})
    assert r.status_code == 200, r.text
    new_key = r.json()["key"]
    # Refused: nothing changed, nothing logged.
    r = await admin_api(
        stack, "PATCH", f"/apps/{sdkappid}/settings", json={"ip_whitelist": ["not-an-ip"]}
    )
    assert r.status_code == 422

    entries = await audit_log(stack, sdkappid)
    assert [e["action"] for e in entries] == [
        "app.key.rotate",
        "rules.pre_send.create",
        "push.credentials.set",
        "callback.update",
        "app.settings.update",
    ]
    for e in entries:
        assert (e["actor"], e["source"], e["client_ip"]) == ("operator", "admin_api", "127.0.0.1")
        assert e["sdkappid"] == sdkappid and e["time_ms"] >= started_ms

    settings = one(entries, "app.settings.update")
    assert settings["before"] == {"admins": ["administrator"]}
    assert settings["after"] == {"admins": ["administrator", "ops1"]}

    callback = one(entries, "callback.update")
    assert callback["before"] == {"callback": None}
    after = callback["after"]["callback"]
    assert (after["url"], after["commands"]) == ("http://127.0.0.1:9/cb", "all")
    assert after["token"] == CALLBACK_TOKEN[:4] + "…"

    push = one(entries, "push.credentials.set")
    assert push["resource"] == "huawei"
    assert push["after"]["push"]["credentials"]["huawei"]["app_id"] == "10086"

    rule = one(entries, "rules.pre_send.create")
    assert rule["resource"] == "moderate"
    assert rule["after"]["callback_rules"]["pre_send"][0]["url"] == "http://127.0.0.1:9/mod"

    rotated = one(entries, "app.key.rotate")
    assert len(rotated["after"]["keys"]) == len(rotated["before"]["keys"]) + 1

    # Secrets never appear, in any form the API answers.
    text = json.dumps(entries)
    for secret in (CALLBACK_TOKEN, RULE_SECRET, HUAWEI_SECRET, new_key, app.key):
        assert secret[4:] not in text, secret

    # Searchable by action (or a prefix of one), actor and time; across apps too.
    assert [e["action"] for e in await audit_log(stack, sdkappid, action="rules")] == [
        "rules.pre_send.create"
    ]
    assert await audit_log(stack, sdkappid, actor="someone-else") == []
    assert await audit_log(stack, sdkappid, until=started_ms - 1) == []
    assert len(await audit_log(stack, sdkappid, since=started_ms)) == len(entries)
    r = await admin_api(
        stack, "GET", "/audit-log", params={"app": sdkappid, "action": "callback.update"}
    )
    assert r.status_code == 200 and [e["entry_id"] for e in r.json()["entries"]] == [
        callback["entry_id"]
    ]
    # A page at a time.
    r = await admin_api(stack, "GET", f"/apps/{sdkappid}/audit-log", params={"limit": 3})
    page = r.json()
    assert len(page["entries"]) == 3 and page["next_cursor"]
    r = await admin_api(
        stack,
        "GET",
        f"/apps/{sdkappid}/audit-log",
        params={"limit": 3, "cursor": page["next_cursor"]},
    )
    rest = r.json()
    assert [e["entry_id"] for e in page["entries"] + rest["entries"]] == [
        e["entry_id"] for e in entries
    ]
    assert rest["next_cursor"] == ""


async def test_bad_searches_are_refused(app: AppUnderTest) -> None:
    now = int(time.time() * 1000)
    for params, message in (
        ({"since": now, "until": now - 1}, "since is after until"),
        ({"since": now - 94 * 86_400_000, "until": now}, "at most 93 days"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"action": "DROP TABLE"}, "action"),
        ({"limit": 1000}, "limit"),
    ):
        r = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/audit-log", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "invalid_argument"
        assert message in r.json()["error"]["message"], r.text


async def test_cli_changes_are_logged_with_the_os_user(app: AppUnderTest) -> None:
    stack, sdkappid = app.stack, app.sdkappid
    await tidings(
        stack, "app", "settings", "--app", str(sdkappid), "--rate", "openim/sendmsg=500/1"
    )
    rule = {"name": "archive", "url": "http://127.0.0.1:9/post", "secret": CLI_RULE_SECRET}
    await tidings(
        stack,
        "rules",
        "add",
        "--app",
        str(sdkappid),
        "--kind",
        "post-send",
        "--rule",
        json.dumps(rule),
    )
    # Reading changes nothing and logs nothing.
    await tidings(stack, "rules", "show", "--app", str(sdkappid))

    entries = await audit_log(stack, sdkappid)
    assert [e["action"] for e in entries] == ["rules.post_send.create", "app.settings.update"]
    for e in entries:
        assert (e["actor"], e["source"], e["client_ip"]) == (getpass.getuser(), "cli", "")
    settings = one(entries, "app.settings.update")
    assert settings["before"] == {"rate_limits": None}
    assert settings["after"] == {"rate_limits": {"openim/sendmsg": {"limit": 500, "per_s": 1}}}
    created = one(entries, "rules.post_send.create")
    assert created["resource"] == "archive"
    assert created["after"]["callback_rules"]["post_send"][0]["secret"] == "cli-…"
    assert CLI_RULE_SECRET[4:] not in json.dumps(entries)

    # The CLI searches the same log.
    lines = await tidings(stack, "audit-log", "--app", str(sdkappid), "--action", "rules")
    printed = [json.loads(line) for line in lines.splitlines()]
    assert [(e["action"], e["actor"]) for e in printed] == [
        ("rules.post_send.create", getpass.getuser())
    ]


async def test_rest_admin_commands_are_logged_with_the_admin(app: AppUnderTest) -> None:
    reply = await app.rest("openim_dirty_words", "add", {"DirtyWordsList": ["spam1", "spam2"]})
    assert reply["ErrorCode"] == 0, reply
    reply = await app.rest("openim_dirty_words", "delete", {"DirtyWordsList": ["spam2"]})
    assert reply["ErrorCode"] == 0, reply
    reply = await app.rest("all_member_push", "im_set_attr_name", {"AttrNames": {"0": "city"}})
    assert reply["ErrorCode"] == 0, reply
    # Reads are not changes.
    reply = await app.rest("openim_dirty_words", "get", {})
    assert reply["ErrorCode"] == 0, reply
    # A refused command changes nothing.
    reply = await app.rest("openim_dirty_words", "add", {"DirtyWordsList": []})
    assert reply["ErrorCode"] != 0

    entries = await audit_log(app.stack, app.sdkappid)
    assert [(e["action"], e["before"], e["after"]) for e in entries] == [
        ("push.attr_names.set", {}, {"0": "city"}),
        ("words.delete", {"words": ["spam2"]}, None),
        ("words.add", None, {"words": ["spam1", "spam2"]}),
    ]
    for e in entries:
        assert (e["actor"], e["source"], e["client_ip"]) == ("administrator", "rest", "127.0.0.1")
    assert [e["action"] for e in await audit_log(app.stack, app.sdkappid, action="words")] == [
        "words.delete",
        "words.add",
    ]
