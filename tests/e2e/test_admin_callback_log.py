"""The callback delivery log and the DLQ listing of the admin API, against the running stack and
a real app server: a delivery shows in the log with its host, status and attempt; a callback
that fails every try shows in the DLQ listing, and once the app server is fixed, its replay by
id delivers it."""

from __future__ import annotations

from typing import Any

import pytest

from services.embedded.stack import Stack
from tests.callback_app_server import AppServer
from tests.conftest import admin_api as admin
from tests.conftest import eventually, new_app
from tests.e2e import test_callbacks
from tests.e2e.test_callbacks import C2C_AFTER, arrived, configure, send_c2c

pytestmark = pytest.mark.stack

# The callback tests' fixtures: a real app server, and a callback service with one retry.
server = test_callbacks.server
tiny_retry_budget = test_callbacks.tiny_retry_budget


async def test_delivery_log_dlq_listing_and_replay_by_id(
    stack: Stack, server: AppServer, tiny_retry_budget: Any
) -> None:
    app = await new_app(stack)
    await app.import_accounts("alice", "bob")
    await configure(app, server.url, commands=[C2C_AFTER])
    base = f"/apps/{app.sdkappid}/callbacks"

    sent = await send_c2c(app, "alice", "bob", "logged")
    delivered_id = f"{app.sdkappid}:c2c:alice:bob:{sent['MsgSeq']}:{C2C_AFTER}"
    await arrived(server, C2C_AFTER, app.sdkappid)

    async def logged(**params: Any) -> list[dict[str, Any]]:
        r = await admin(stack, "GET", f"{base}/deliveries", params=params)
        assert r.status_code == 200, r.text
        return r.json()["deliveries"]  # type: ignore[no-any-return]

    # The trace reaches the event log through the audit service: asynchronous by design.
    (ok,) = await eventually(lambda: logged(outcome="ok", command=C2C_AFTER), timeout=30)
    assert ok["event_id"] == delivered_id
    assert (ok["target_host"], ok["http_status"], ok["attempt"]) == (
        f"127.0.0.1:{server.port}",
        0,
        1,
    )

    server.behaviour = lambda _: (500, {})
    sent = await send_c2c(app, "alice", "bob", "to the dlq")
    dead_id = f"{app.sdkappid}:c2c:alice:bob:{sent['MsgSeq']}:{C2C_AFTER}"

    async def listed() -> dict[str, Any] | None:
        r = await admin(stack, "GET", f"{base}/dlq", params={"limit": 10})
        assert r.status_code == 200, r.text
        return next((x for x in r.json()["letters"] if x["event_id"] == dead_id), None)

    # The restarted callback service first rejoins its consumer groups (5-18 s each on Tansu).
    letter = await eventually(listed, timeout=90)
    assert (letter["command"], letter["attempts"]) == (C2C_AFTER, 1)
    assert letter["last_error"] == "the app server answered HTTP 500"
    assert letter["event_time"] > 0 and letter["failed_at"] >= letter["event_time"]

    async def tries() -> list[dict[str, Any]] | None:
        failed = [d for d in await logged(outcome="failed") if d["event_id"] == dead_id]
        return failed if len(failed) == 4 else None

    # Three inline tries, then the one retry-topic try (its trace may still be on its way).
    failed = await eventually(tries, timeout=30)
    assert sorted(d["attempt"] for d in failed) == [1, 2, 3, 4]
    assert {d["http_status"] for d in failed} == {500}

    r = await admin(stack, "POST", f"{base}/dlq/abc/replay")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    r = await admin(stack, "POST", f"{base}/dlq/0:999999999/replay")
    assert r.status_code == 404, r.text

    server.behaviour = lambda _: (200, {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})
    r = await admin(stack, "POST", f"{base}/dlq/{letter['id']}/replay")
    assert r.status_code == 200, r.text
    assert r.json()["event_id"] == dead_id
    hits = await arrived(server, C2C_AFTER, app.sdkappid, count=2)
    assert hits[-1].body["TidingsEventId"] == dead_id
    r = await admin(stack, "GET", f"/apps/{app.sdkappid}/audit-log")
    assert "callback.dlq.replay_one" in {e["action"] for e in r.json()["entries"]}
