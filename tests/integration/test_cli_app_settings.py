"""`tidings app create / settings / rotate-key` and `tidings usersig` on a fresh data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from services.common import usersig


def tidings(data_dir: Path, *args: str, ok: bool = True) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env={**os.environ, "TIDINGS_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc.stdout if ok else proc.stderr


def test_cli_app_lifecycle_and_settings(tmp_path: Path) -> None:
    created = json.loads(tidings(tmp_path, "app", "create", "--name", "cli", "--edition", "pro"))
    app_id = str(created["sdkappid"])
    assert json.loads(tidings(tmp_path, "app", "settings", "--app", app_id)) == {
        "rate_limits": {},
        "ip_whitelist": [],
        "admins": ["administrator"],
    }
    view = json.loads(
        tidings(
            tmp_path,
            "app",
            "settings",
            "--app",
            app_id,
            "--whitelist",
            "10.0.0.0/8, 2001:db8::/32",
            "--rate",
            "openim/sendmsg=500/1",
            "--rate",
            "openim/batchsendmsg=6000/60",
            "--admins",
            "ops",
        )
    )
    assert view["ip_whitelist"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert view["admins"] == ["administrator", "ops"]
    assert view["rate_limits"]["openim/batchsendmsg"] == {"limit": 6000, "per_s": 60}
    # --rate adds to the limits already set; --whitelist '' allows everyone again.
    view = json.loads(
        tidings(
            tmp_path,
            "app",
            "settings",
            "--app",
            app_id,
            "--rate",
            "sns/friend_add=5",
            "--whitelist",
            "",
        )
    )
    assert set(view["rate_limits"]) == {"openim/sendmsg", "openim/batchsendmsg", "sns/friend_add"}
    assert view["ip_whitelist"] == []
    err = tidings(tmp_path, "app", "settings", "--app", app_id, "--whitelist", "nope", ok=False)
    assert "not an IP address or CIDR" in err

    rotated = json.loads(tidings(tmp_path, "app", "rotate-key", "--app", app_id, "--grace", "60"))
    sig = tidings(tmp_path, "usersig", "--app", app_id, "--user", "u1").strip()
    assert usersig.verify(sig, int(app_id), "u1", [rotated["key"]]) is not None


def test_cli_app_messaging_settings(tmp_path: Path) -> None:
    app_id = str(json.loads(tidings(tmp_path, "app", "create", "--name", "m"))["sdkappid"])
    shown = json.loads(tidings(tmp_path, "app", "messaging", "--app", app_id))
    assert shown["login"]["mode"] == 4 and shown["recall_window_s"] == 120
    shown = json.loads(
        tidings(
            tmp_path,
            "app",
            "messaging",
            "--app",
            app_id,
            "--set",
            'login={"mode": 2}',
            "--set",
            "recall_window_s=600",
        )
    )
    assert shown["login"]["mode"] == 2 and shown["recall_window_s"] == 600
    refused = tidings(tmp_path, "app", "messaging", "--app", app_id, "--set", "x=1", ok=False)
    assert "unknown setting" in refused
    shown = json.loads(
        tidings(tmp_path, "app", "messaging", "--app", app_id, "--unset", "recall_window_s")
    )
    assert shown["recall_window_s"] == 120 and shown["login"]["mode"] == 2
