"""Message reports against the running stack: users report C2C and group messages through the
SDK; the operator lists them (by status, a page at a time) and resolves them through the admin
API, recalling one message on the way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from services.gateway.reports import REPORT_RATE
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_callbacks import admin
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack


async def reports(app: AppUnderTest, **params: Any) -> dict[str, Any]:
    r = await admin(app.stack, "GET", f"/apps/{app.sdkappid}/reports", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def resolve(app: AppUnderTest, report_id: str, **body: Any) -> dict[str, Any]:
    r = await admin(
        app.stack, "POST", f"/apps/{app.sdkappid}/reports/{report_id}/resolve", json=body
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_report_list_and_resolve(app: AppUnderTest) -> None:
    users = ["alice", "bob", "carol", "dave"]
    await app.import_accounts(*users)
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "alice",
            "Type": "Work",
            "Name": "g",
            "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "carol"}],
        },
    )
    assert created["ErrorCode"] == 0, created
    group_id = created["GroupId"]
    clients = {u: Client(app.stack.ws_url, app.sdkappid, u, app.sig(u)) for u in users}
    for c in clients.values():
        await c.connect()
    alice, bob, carol, dave = (clients[u] for u in users)
    try:
        await bob.send(to="alice", text="cheap pills here", cloud_custom_data='{"ad": 1}')
        spam = await asyncio.wait_for(anext(alice.messages()), 30)
        first_id = await alice.report(spam, "spam link", report_type="ads")
        # Reporting the same message again is the same report.
        assert await alice.report(spam, "still spam") == first_id

        await bob.send(group=group_id, text="rude words")
        rude = await asyncio.wait_for(anext(carol.messages()), 30)
        second_id = await carol.report(rude, "insults")

        # Only the conversation's own people may report, and only messages that exist.
        with pytest.raises(TidingsClientError) as outsider:
            await dave.report(rude, "not my group")
        assert outsider.value.code == ErrorCode.GROUP_NO_PERMISSION
        with pytest.raises(TidingsClientError) as missing:
            await alice.request({"op": "report", "peer": "bob", "seq": 999, "reason": "x"})
        assert missing.value.code == ErrorCode.MSG_NOT_FOUND
        with pytest.raises(TidingsClientError) as bad:
            await alice.request({"op": "report", "peer": "bob", "seq": spam.seq, "reason": " "})
        assert bad.value.code == ErrorCode.WS_BAD_FRAME

        listed = await reports(app)
        assert [r["report_id"] for r in listed["reports"]] == [second_id, first_id]
        first = listed["reports"][1]
        assert {
            k: first[k]
            for k in ("reporter", "sender", "seq", "category", "reason", "status", "group_id")
        } == {
            "reporter": "alice",
            "sender": "bob",
            "seq": spam.seq,
            "category": "ads",
            "reason": "spam link",
            "status": "pending",
            "group_id": "",
        }
        assert first["msg_body"] == [
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "cheap pills here"}}
        ]
        assert first["cloud_custom_data"] == '{"ad": 1}'
        assert listed["reports"][0]["group_id"] == group_id
        assert listed["reports"][0]["category"] == "other"

        page1 = await reports(app, limit=1)
        assert [r["report_id"] for r in page1["reports"]] == [second_id]
        page2 = await reports(app, limit=1, before=page1["next_before"])
        assert [r["report_id"] for r in page2["reports"]] == [first_id]

        upheld = await resolve(app, first_id, status="upheld", note="ads", recall=True)
        assert (upheld["status"], upheld["note"], upheld["recalled"]) == ("upheld", "ads", True)
        assert upheld["resolved_ms"] > 0

        async def recalled() -> bool:
            (msg,) = await alice.sync(peer="bob", after_seq=spam.seq - 1, limit=1)
            return msg.recalled

        assert await recalled()
        await resolve(app, second_id, status="dismissed")
        assert (await reports(app, status="pending"))["reports"] == []
        assert [r["report_id"] for r in (await reports(app, status="dismissed"))["reports"]] == [
            second_id
        ]

        r = await admin(app.stack, "GET", f"/apps/{app.sdkappid}/reports/nope")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        r = await admin(
            app.stack,
            "POST",
            f"/apps/{app.sdkappid}/reports/{first_id}/resolve",
            json={"status": "pending"},
        )
        assert r.status_code == 422, r.text
    finally:
        for c in clients.values():
            await c.close()


async def test_reports_are_rate_limited(stack: Stack) -> None:
    app = await new_app(stack, send_rate={"limit": 100, "per_s": 1})
    await app.import_accounts("ra", "rb")
    ra, rb = await app.connect("ra"), await app.connect("rb")
    try:
        acks = [await ra.send(to="rb", text=f"m{i}") for i in range(REPORT_RATE.limit + 1)]
        for ack in acks[:-1]:
            await rb.request({"op": "report", "peer": "ra", "seq": ack.seq, "reason": "spam"})
        with pytest.raises(TidingsClientError) as err:
            await rb.request({"op": "report", "peer": "ra", "seq": acks[-1].seq, "reason": "x"})
        assert err.value.code == ErrorCode.SENDER_THROTTLED
    finally:
        await ra.close()
        await rb.close()
