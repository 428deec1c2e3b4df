"""Issue 13's acceptance for the troubleshooting event log, end to end: what really happened on
the stack (a send refused for a sensitive word, a kick by a newer login, a callback to an app
server that is down) is found through the admin API, by user and by error code."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common import trace
from services.common.errors import ErrorCode
from services.embedded.launchers import free_port
from services.embedded.stack import Stack
from tests.conftest import admin_api, eventually, new_app
from tests.e2e.test_callbacks import C2C_BEFORE
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack


async def search(stack: Stack, sdkappid: int, **query: object) -> list[dict[str, Any]]:
    since = int(time.time() * 1000) - 10 * 60 * 1000
    r = await admin_api(stack, "GET", f"/apps/{sdkappid}/events", params={"since": since, **query})
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


async def found(stack: Stack, sdkappid: int, **query: object) -> list[dict[str, Any]]:
    """The events the search finds, once the audit service has them (it consumes im.trace)."""

    async def any_found() -> list[dict[str, Any]]:
        return await search(stack, sdkappid, **query)

    result: list[dict[str, Any]] = await eventually(any_found, timeout=30)
    return result


async def test_a_refused_send_a_kick_and_a_failed_callback_are_found(stack: Stack) -> None:
    app = await new_app(stack, login={"mode": 1})
    await app.import_accounts("amy", "ben", "cal")
    reply = await app.rest("openim_dirty_words", "add", {"DirtyWordsList": ["nastyword"]})
    assert reply["ErrorCode"] == 0, reply

    # A send refused for a sensitive word.
    amy = await app.connect("amy")
    try:
        with pytest.raises(TidingsClientError) as dirty:
            await amy.send(to="ben", text="a nastyword", client_msg_id="found-dirty")
        assert dirty.value.code == ErrorCode.DIRTY_WORDS
    finally:
        await amy.close()

    # A kick: ben logs in on a second device under login mode 1.
    first = await app.connect("ben", platform="Android")
    second = await app.connect("ben", platform="Web")
    try:

        async def kicked() -> bool:
            return first.kicked is not None

        await eventually(kicked, timeout=10)
    finally:
        await first.close()
        await second.close()

    # A callback to an app server that is down.
    closed = f"http://127.0.0.1:{free_port()}/im"
    r = await admin_api(
        stack,
        "PUT",
        f"/apps/{app.sdkappid}/callback",
        json={"url": closed, "commands": [C2C_BEFORE], "timeout_s": 2},
    )
    assert r.status_code == 200, r.text
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "cal",
            "To_Account": "amy",
            "MsgRandom": 5,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello?"}}],
        },
    )
    assert sent["ErrorCode"] == 0, sent

    by_code = await found(stack, app.sdkappid, code=int(ErrorCode.DIRTY_WORDS))
    assert [(e["event"], e["user"], e["peer"], e["request_id"]) for e in by_code] == [
        (trace.C2C_SEND, "amy", "ben", "found-dirty")
    ]
    amys = await found(stack, app.sdkappid, user="amy", event=trace.C2C_SEND)
    assert [e["code"] for e in amys] == [int(ErrorCode.DIRTY_WORDS)]

    kicks = await found(stack, app.sdkappid, user="ben", event=trace.KICK)
    assert [(e["code"], e["platform"]) for e in kicks] == [(ErrorCode.KICKED_OFFLINE, "Android")]
    by_kick_code = await found(stack, app.sdkappid, code=int(ErrorCode.KICKED_OFFLINE))
    assert [e["user"] for e in by_kick_code] == ["ben"]

    failed = await found(stack, app.sdkappid, code=trace.CALLBACK_UNREACHABLE)
    assert [(e["event"], e["user"], e["detail"]) for e in failed] == [
        (trace.CALLBACK, "cal", C2C_BEFORE)
    ]
    cals = await found(stack, app.sdkappid, user="cal", event=trace.CALLBACK)
    assert [e["code"] for e in cals] == [trace.CALLBACK_UNREACHABLE]
