"""`tidings rules add / show / replace / delete` on a fresh data dir."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli_app_settings import tidings


def test_cli_rules(tmp_path: Path) -> None:
    app_id = str(json.loads(tidings(tmp_path, "app", "create", "--name", "rules"))["sdkappid"])
    rule = {
        "name": "moderate",
        "url": "https://rules.example.com/pre",
        "chat_types": ["single", "group"],
        "msg_types": ["txt", "img"],
        "on_failure": "block",
    }
    added = json.loads(
        tidings(
            tmp_path,
            "rules",
            "add",
            "--app",
            app_id,
            "--kind",
            "pre-send",
            "--rule",
            json.dumps(rule),
        )
    )
    assert (added["name"], added["timeout_ms"], added["on_failure"]) == ("moderate", 200, "block")
    assert len(added["secret"]) == 32
    replaced = json.loads(
        tidings(
            tmp_path,
            "rules",
            "replace",
            "--app",
            app_id,
            "--kind",
            "pre-send",
            "--name",
            "moderate",
            "--rule",
            json.dumps({**rule, "timeout_ms": 500}),
        )
    )
    assert (replaced["timeout_ms"], replaced["secret"]) == (500, added["secret"])
    tidings(
        tmp_path, "rules", "delete", "--app", app_id, "--kind", "pre-send", "--name", "moderate"
    )
    assert json.loads(tidings(tmp_path, "rules", "show", "--app", app_id)) == {
        "pre_send": [],
        "post_send": [],
    }
