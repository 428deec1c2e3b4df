"""`tidings push credentials|templates` on a fresh data dir (no stack: the CLI writes the
store): credentials set from a key file and shown redacted, refused with a clear message,
removed; templates set with repeated pieces, listed and removed."""

from __future__ import annotations

import json
from pathlib import Path

from services.common import push_config
from services.common.store.sqlite import SqliteStores
from tests.integration.test_cli_app_settings import tidings
from tests.unit.test_push_config import fake_credentials, leaked, service_account


def new_app(data_dir: Path) -> str:
    created = json.loads(tidings(data_dir, "app", "create", "--name", "push"))
    return str(created["sdkappid"])


async def test_cli_push_credentials(tmp_path: Path) -> None:
    app_id = new_app(tmp_path)
    account = service_account()
    key_file = tmp_path / "firebase-adminsdk.json"
    key_file.write_text(json.dumps(account, indent=2))
    fcm = json.loads(
        tidings(
            tmp_path, "push", "credentials", "set", "--app", app_id, "fcm", "--file", str(key_file)
        )
    )
    assert (fcm["project_id"], fcm["sandbox"]) == ("chat-example-4f2a1", False)

    apns = next(f for f in fake_credentials() if "team_id" in f.fields)
    apns_file = tmp_path / "apns.json"
    apns_file.write_text(json.dumps(apns.fields))
    shown_apns = tidings(
        tmp_path,
        "push",
        "credentials",
        "set",
        "--app",
        app_id,
        "apns",
        "--file",
        str(apns_file),
        "--sandbox",
    )
    assert json.loads(shown_apns)["sandbox"] is True

    shown = tidings(tmp_path, "push", "credentials", "show", "--app", app_id)
    assert sorted(json.loads(shown)) == ["apns", "fcm"]
    for text in (shown, shown_apns, json.dumps(fcm)):
        assert leaked(text, account["private_key"]) == []
        assert leaked(text, apns.fields["private_key_pem"]) == []

    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps({**account, "token_uri": "http://example.com/token"}))
    refused = tidings(
        tmp_path,
        "push",
        "credentials",
        "set",
        "--app",
        app_id,
        "fcm",
        "--file",
        str(bad_file),
        ok=False,
    )
    assert "token_uri must be an https:// URL" in refused
    missing = tidings(
        tmp_path,
        "push",
        "credentials",
        "set",
        "--app",
        app_id,
        "fcm",
        "--file",
        str(tmp_path / "nothere.json"),
        ok=False,
    )
    assert "cannot read" in missing

    tidings(tmp_path, "push", "credentials", "remove", "--app", app_id, "fcm")
    assert sorted(
        json.loads(tidings(tmp_path, "push", "credentials", "show", "--app", app_id))
    ) == ["apns"]
    refused = tidings(tmp_path, "push", "credentials", "remove", "--app", app_id, "fcm", ok=False)
    assert "the app has no fcm credentials" in refused

    # What the CLI wrote is what the services read.
    stores = SqliteStores(tmp_path / "tidings.sqlite3")
    try:
        app = await stores.apps.get_app(int(app_id))
    finally:
        await stores.close()
    assert app is not None
    [(vendor, credentials)] = push_config.credentials_of(app).items()
    assert vendor == "apns"
    assert credentials == push_config.parse_credentials("apns", apns.fields, True)


def test_cli_push_templates(tmp_path: Path) -> None:
    app_id = new_app(tmp_path)
    set_args = ["push", "templates", "set", "--app", app_id, "default"]
    pieces = ["--title", "{$fromNickname}", "--title", " wrote", "--content", "{$msg}"]
    assert json.loads(tidings(tmp_path, *set_args, *pieces)) == {
        "name": "default",
        "title": ["{$fromNickname}", " wrote"],
        "content": ["{$msg}"],
    }
    tidings(
        tmp_path,
        "push",
        "templates",
        "set",
        "--app",
        app_id,
        "order7",
        "--title",
        "Order {0}",
        "--content",
        "{0}",
    )
    listed = json.loads(tidings(tmp_path, "push", "templates", "list", "--app", app_id))
    assert [t["name"] for t in listed["templates"]] == ["default", "order7"]

    refused = tidings(
        tmp_path,
        "push",
        "templates",
        "set",
        "--app",
        app_id,
        "bad-name",
        "--title",
        "t",
        "--content",
        "c",
        ok=False,
    )
    assert "1 to 64 letters" in refused

    tidings(tmp_path, "push", "templates", "remove", "--app", app_id, "order7")
    listed = json.loads(tidings(tmp_path, "push", "templates", "list", "--app", app_id))
    assert [t["name"] for t in listed["templates"]] == ["default"]
