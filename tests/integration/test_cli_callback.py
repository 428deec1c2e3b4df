"""`tidings callback set / show` on a fresh data dir."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli_app_settings import tidings


def test_cli_callback_set_and_show(tmp_path: Path) -> None:
    app_id = str(json.loads(tidings(tmp_path, "app", "create", "--name", "cb"))["sdkappid"])
    assert json.loads(tidings(tmp_path, "callback", "show", "--app", app_id)) is None
    err = tidings(tmp_path, "callback", "set", "--app", app_id, "--token", "t", ok=False)
    assert "url is required" in err

    set_ = json.loads(
        tidings(
            tmp_path,
            "callback",
            "set",
            "--app",
            app_id,
            "--url",
            "https://im.example.com/cb",
            "--token",
            "t0k",
            "--enable",
            "C2C.CallbackBeforeSendMsg,Group.CallbackAfterSendMsg",
            "--timeout",
            "1.5",
            "--fail",
            "closed",
            "--c2c-msg-fail",
            "open",
        )
    )
    assert set_ == {
        "url": "https://im.example.com/cb",
        "token": "t0k",
        "commands": ["C2C.CallbackBeforeSendMsg", "Group.CallbackAfterSendMsg"],
        "timeout_s": 1.5,
        "fail_policy": "closed",
        "c2c_msg_fail_policy": "open",
        "group_msg_fail_policy": None,
    }
    # Options left out keep their value.
    changed = json.loads(tidings(tmp_path, "callback", "set", "--app", app_id, "--enable", "all"))
    assert changed == {**set_, "commands": "all"}
    assert json.loads(tidings(tmp_path, "callback", "show", "--app", app_id)) == changed

    err = tidings(
        tmp_path, "callback", "set", "--app", app_id, "--url", "http://10.1.2.3/cb", ok=False
    )
    assert "TIDINGS_CALLBACK_ALLOW_PRIVATE" in err
    err = tidings(tmp_path, "callback", "set", "--app", app_id, "--enable", "C2C.Nope", ok=False)
    assert "unknown CallbackCommand C2C.Nope" in err
    assert json.loads(tidings(tmp_path, "callback", "show", "--app", app_id)) == changed
    err = tidings(tmp_path, "callback", "show", "--app", "1999999999", ok=False)
    assert "no app 1999999999" in err
