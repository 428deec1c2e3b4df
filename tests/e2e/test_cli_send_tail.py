"""`tidings send` as a user and as the admin (C2C and group), read back through
admin_getroammsg and group_msg_get_simple; `tidings tail` printing a message sent after it
started (and neither an older one nor another conversation's); `tidings topics ensure` on a
broker of its own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from services.common.topics import ALL, WITH_DLQ
from services.embedded.launchers import free_port, start_broker
from tests.conftest import AppUnderTest
from tests.e2e.test_cli_import import tidings

CLI = [sys.executable, "-m", "services.cli.main"]


async def send(app: AppUnderTest, *args: str) -> dict[str, int | str]:
    done = await tidings(app.stack, "send", "--app", str(app.sdkappid), *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


async def test_send_as_a_user_and_as_admin(app: AppUnderTest) -> None:
    await app.put_accounts("alice", "bob")
    sent = await send(app, "--from", "alice", "--to", "bob", "--text", "hello from the cli")
    assert sorted(sent) == ["MsgKey", "MsgSeq", "MsgTime"]
    (got,) = await app.roam("alice", "bob")
    assert (got["From_Account"], got["MsgKey"], got["MsgSeq"]) == (
        "alice",
        sent["MsgKey"],
        sent["MsgSeq"],
    )
    assert got["MsgBody"] == [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello from the cli"}}
    ]

    admin = await send(app, "--as-admin", "--to", "bob", "--text", "notice")
    (from_admin,) = await app.roam("administrator", "bob")
    assert (from_admin["From_Account"], from_admin["MsgKey"]) == ("administrator", admin["MsgKey"])

    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Public",
            "Name": "g",
            "MemberList": [{"Member_Account": "bob"}],
        },
    )
    group_id = created["GroupId"]
    first = await send(app, "--from", "bob", "--group", group_id, "--text", "hi group")
    second = await send(app, "--as-admin", "--group", group_id, "--text", "admin here")
    assert "MsgKey" not in first and second["MsgSeq"] == int(first["MsgSeq"]) + 1
    history = await app.rest(
        "group_open_http_svc", "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 10}
    )
    by_seq = {
        m["MsgSeq"]: (m["From_Account"], m["MsgBody"][0]["MsgContent"]["Text"])
        for m in history["RspMsgList"]
    }
    assert by_seq[first["MsgSeq"]] == ("bob", "hi group")
    assert by_seq[second["MsgSeq"]] == ("administrator", "admin here")

    refused = await tidings(
        app.stack,
        "send",
        "--app",
        str(app.sdkappid),
        "--from",
        "nobody",
        "--to",
        "bob",
        "--text",
        "x",
    )
    assert refused.returncode == 1
    assert "ErrorCode 20003" in refused.stderr


async def read_line(stream: asyncio.StreamReader, timeout: float = 30) -> str:
    line = await asyncio.wait_for(stream.readline(), timeout)
    assert line, "the process closed its output"
    return line.decode()


async def test_tail_prints_a_message_sent_after_it_started(app: AppUnderTest) -> None:
    await app.put_accounts("ta", "tb", "tc")
    await send(app, "--from", "ta", "--to", "tb", "--text", "before the tail")
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "--app",
        str(app.sdkappid),
        "--conversation",
        "c2c:tb:ta",
        "--bootstrap",
        app.stack.kafka_bootstrap,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TIDINGS_DATA_DIR": str(app.stack.data_dir)},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert "watching im.messages" in await read_line(proc.stderr)
        await send(app, "--from", "ta", "--to", "tc", "--text", "another conversation")
        sent = await send(app, "--from", "ta", "--to", "tb", "--text", "live one")
        line = await read_line(proc.stdout)
        assert f"c2c:ta:tb  seq {sent['MsgSeq']}  ta -> tb  live one" in line
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert b"before the tail" not in rest and b"another conversation" not in rest
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_topics_ensure_creates_then_finds(tmp_path: Path) -> None:
    port = free_port()
    broker = await asyncio.to_thread(start_broker, port, tmp_path)
    try:
        args = [*CLI, "topics", "ensure", "--bootstrap", f"127.0.0.1:{port}"]
        env = {**os.environ, "TIDINGS_KAFKA_PARTITIONS": "2", "COLUMNS": "200"}
        count = len(ALL) + len(WITH_DLQ)
        for expected in (f"{count} created, 0 existed", f"0 created, {count} existed"):
            proc = await asyncio.create_subprocess_exec(
                *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err
            assert expected in out.decode()
            assert "im.messages.dlq" in out.decode()
    finally:
        await asyncio.to_thread(broker.stop)
