"""Membership changes reach fan-out before they are answered (group membership versions,
docs/ARCHITECTURE.md "Fan-out"): the very next group message after a join's reply reaches the
new member live, and none reaches a member removed (or one who set MsgFlag Discard), with no
wait in between. Fan-out holds each group's member list before every change here, so a list
read before the change would be wrong.

"Gets nothing" is checked without waiting: once a remaining member has the group message,
fan-out is done with it, and a C2C probe sent after that reaches the removed member after the
group message would have; so the removed member's next message must be the probe. The app
admin's changes are silent (Silence: no group tips), so each member's next message is the test's
own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_avchatroom import live_group
from tests.e2e.test_group_messages import make_group
from tidings_client import Client, Message

pytestmark = pytest.mark.stack

# Only a delivery that never comes waits this long (a test that fails).
WAIT_S = 15.0


async def next_message(c: Client) -> Message:
    return await asyncio.wait_for(c.messages().__anext__(), WAIT_S)


async def admin(app: AppUnderTest, command: str, body: dict[str, Any]) -> None:
    reply = await app.rest("group_open_http_svc", command, body)
    assert reply["ErrorCode"] == 0, reply


async def test_rest_membership_changes_apply_to_the_very_next_message(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("own", "ann", "bob")
    group_id = await make_group(app, "own", ["ann"], kind="Public")
    own, ann, bob = [await app.connect(u) for u in ("own", "ann", "bob")]
    try:
        # Fan-out reads and holds the list [own, ann].
        await own.send(group=group_id, text="before")
        assert (await next_message(ann)).text == "before"

        # The app admin adds bob; the next message, sent as soon as that is answered, reaches
        # bob live (he is offline for nothing else: there is no sync without a delivery).
        await admin(
            app,
            "add_group_member",
            {"GroupId": group_id, "Silence": 1, "MemberList": [{"Member_Account": "bob"}]},
        )
        await own.send(group=group_id, text="bob added")
        assert (await next_message(bob)).text == "bob added"
        assert (await next_message(ann)).text == "bob added"

        # ann asks (through the app) to discard the group's messages: the next one skips her.
        await admin(
            app,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "ann", "MsgFlag": "Discard"},
        )
        await own.send(group=group_id, text="ann discards")
        assert (await next_message(bob)).text == "ann discards"
        await own.send(to="ann", text="probe 1")
        assert (await next_message(ann)).text == "probe 1"

        # ann accepts again, then is removed: the message after the removal skips her.
        await admin(
            app,
            "modify_group_member_info",
            {"GroupId": group_id, "Member_Account": "ann", "MsgFlag": "AcceptAndNotify"},
        )
        await own.send(group=group_id, text="ann accepts")
        # Delivered again; the gap before it is filled from history (Discard skips delivery,
        # not history).
        got = [(await next_message(ann)).text for _ in range(2)]
        assert got == ["ann discards", "ann accepts"]
        assert (await next_message(bob)).text == "ann accepts"
        await admin(
            app,
            "delete_group_member",
            {"GroupId": group_id, "Silence": 1, "MemberToDel_Account": ["ann"]},
        )
        await own.send(group=group_id, text="ann removed")
        assert (await next_message(bob)).text == "ann removed"
        await own.send(to="ann", text="probe 2")
        assert (await next_message(ann)).text == "probe 2"
    finally:
        for c in (own, ann, bob):
            await c.close()


async def test_a_client_s_join_and_quit_apply_to_the_very_next_message(stack: Stack) -> None:
    # Five live messages a second, so the test sends without waiting for the rate.
    app = await new_app(stack, avchatroom_msg_rate=5)
    await app.import_accounts("host", "fan1", "fan2")
    group_id = await live_group(app, "host")
    host, fan1, fan2 = [await app.connect(u) for u in ("host", "fan1", "fan2")]
    try:
        await host.join_group(group_id)
        await fan1.join_group(group_id)
        # Fan-out reads and holds the list [host, fan1].
        await host.send(group=group_id, text="warm")
        assert (await next_message(fan1)).text == "warm"

        assert await fan2.join_group(group_id) is True
        await host.send(group=group_id, text="right after the join")
        # Online only: had fan-out missed fan2, nothing would ever bring it.
        first = await next_message(fan2)
        assert (first.text, first.online_only) == ("right after the join", True)
        assert (await next_message(fan1)).text == "right after the join"

        await fan1.quit_group(group_id)
        await host.send(group=group_id, text="right after the quit")
        assert (await next_message(fan2)).text == "right after the quit"
        await host.send(to="fan1", text="probe")
        assert (await next_message(fan1)).text == "probe"
    finally:
        for c in (host, fan1, fan2):
            await c.close()
