"""`tidings app custom-fields list|add|set` on a fresh data dir: the admin API's rules."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli_app_settings import tidings


def test_cli_custom_fields(tmp_path: Path) -> None:
    app_id = str(json.loads(tidings(tmp_path, "app", "create", "--name", "cf"))["sdkappid"])
    cmd = ("app", "custom-fields")
    spec = json.dumps({"types": {"Public": {"read": "everyone"}}})
    added = tidings(
        tmp_path, *cmd, "add", "--app", app_id, "--kind", "group", "--name", "level", "--spec", spec
    )
    assert json.loads(added)["types"] == {"Public": {"read": "everyone", "write": "admin"}}
    again = tidings(
        tmp_path, *cmd, "add", "--app", app_id, "--kind", "group", "--name", "level", ok=False
    )
    assert "already exists" in again
    changed = tidings(
        tmp_path,
        *cmd,
        "set",
        "--app",
        app_id,
        "--kind",
        "group",
        "--name",
        "level",
        "--spec",
        json.dumps({"types": {"Work": {}}}),
    )
    assert set(json.loads(changed)["types"]) == {"Public", "Work"}
    listed = json.loads(tidings(tmp_path, *cmd, "list", "--app", app_id))
    assert [f["name"] for f in listed["group"]] == ["level"] and listed["profile"] == []
