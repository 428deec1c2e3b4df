"""`tidings up` (what `make run` runs), as a user drives it: demo-app.json, a REST call with its
admin UserSig, Ctrl-C, and a second start that finds the same app, users and history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.embedded.launchers import free_port

pytestmark = pytest.mark.stack


def start_up(data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TIDINGS_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "up",
            "--http-port",
            str(free_port()),
            "--ws-port",
            str(free_port()),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_demo(data_dir: Path, since: float, proc: subprocess.Popen[bytes]) -> dict:  # type: ignore[type-arg]
    path = data_dir / "demo-app.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        if path.exists() and path.stat().st_mtime >= since:
            return json.loads(path.read_text())  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("demo-app.json not written within 60 s")


def rest(demo: dict, command: str, body: dict) -> dict:  # type: ignore[type-arg]
    params = {
        "sdkappid": demo["sdkappid"],
        "identifier": demo["admin_identifier"],
        "usersig": demo["admin_usersig"],
        "random": 7,
        "contenttype": "json",
    }
    r = httpx.post(f"{demo['rest_url']}/v4/{command}", params=params, json=body, timeout=30)
    return r.json()  # type: ignore[no-any-return]


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0


def test_up_writes_demo_app_serves_rest_and_keeps_data(tmp_path: Path) -> None:
    started = time.time()
    proc = start_up(tmp_path)
    try:
        demo = wait_for_demo(tmp_path, started - 1, proc)
        took = time.time() - started
        assert set(demo) >= {
            "sdkappid",
            "key",
            "admin_identifier",
            "admin_usersig",
            "ws_url",
            "rest_url",
            "admin_url",
            "console_url",
            "metrics",
        }
        assert set(demo["metrics"]) == {"gateway", "router", "callback", "push", "audit"}
        for url in demo["metrics"].values():
            assert "tidings_" in httpx.get(url, timeout=10).text
        assert demo["sdkappid"] >= 1400000000
        assert len(demo["key"]) == 64
        for user in ("ada", "bob"):
            assert (
                rest(demo, "im_open_login_svc/account_import", {"UserID": user})["ErrorCode"] == 0
            )
        sent = rest(
            demo,
            "openim/sendmsg",
            {
                "From_Account": "ada",
                "To_Account": "bob",
                "MsgRandom": 99,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "persist me"}}],
            },
        )
        assert sent["ErrorCode"] == 0, sent
    finally:
        stop(proc)
    print(f"demo-app.json written {took:.1f}s after start")

    proc = start_up(tmp_path)
    try:
        again = wait_for_demo(tmp_path, time.time() - 1, proc)
        assert again["sdkappid"] == demo["sdkappid"]
        assert again["key"] == demo["key"]
        deadline = time.monotonic() + 20
        while True:
            roam = rest(
                again,
                "openim/admin_getroammsg",
                {
                    "Operator_Account": "ada",
                    "Peer_Account": "bob",
                    "MaxCnt": 10,
                    "MinTime": 0,
                    "MaxTime": int(time.time()) + 1,
                },
            )
            if roam.get("MsgCnt") == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert roam["MsgList"][0]["MsgKey"] == sent["MsgKey"]
        # The counter continued: the next message in the conversation gets seq 2.
        nxt = rest(
            again,
            "openim/sendmsg",
            {
                "From_Account": "bob",
                "To_Account": "ada",
                "MsgRandom": 100,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "and me"}}],
            },
        )
        assert nxt["MsgSeq"] == 2
    finally:
        stop(proc)
