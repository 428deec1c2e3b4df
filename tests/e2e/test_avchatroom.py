"""AVChatRoom through the running stack with SDK clients: members join and quit through the
SDK, messages reach online members only (nothing archived, so nothing to sync), a member who
joins gets messages from then on, and each group's message rate is bounded (1/s by default,
the app's setting up to 5/s) with Tencent's 10023. Other group types take client joins as
their ApplyJoinOption says."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app
from tests.e2e.test_group_messages import make_group
from tidings_client import Ack, Client, Message, TidingsClientError

pytestmark = pytest.mark.stack

WAIT_S = 30.0


async def next_message(c: Client) -> Message:
    return await asyncio.wait_for(c.messages().__anext__(), WAIT_S)


async def live_group(app: AppUnderTest, owner: str) -> str:
    reply = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": owner, "Type": "AVChatRoom", "Name": "live"},
    )
    assert reply["ErrorCode"] == 0, reply
    group_id: str = reply["GroupId"]
    return group_id


async def send_after_rate_window(c: Client, group_id: str, text: str) -> Ack:
    # One message a second per group by default: wait out the previous one's token.
    await asyncio.sleep(1.1)
    return await c.send(group=group_id, text=text)


async def archive_passed(app: AppUnderTest, group_id: str, seq: int) -> None:
    """Wait until the archive is done with the group's messages up to `seq`. It writes a group's
    activity (NextMsgSeq) for online-only messages too, in the transaction that stores what it
    keeps of them (Cassandra: after those writes): once NextMsgSeq is past `seq`, anything of
    them it stored would show in history."""

    async def passed() -> bool:
        info = await app.rest("group_open_http_svc", "get_group_info", {"GroupIdList": [group_id]})
        return bool(info["GroupInfo"][0]["NextMsgSeq"] > seq)

    assert await eventually(passed)


async def test_live_messages_reach_online_members_only_from_their_join(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("host", "fan1", "fan2")
    group_id = await live_group(app, "host")
    host, fan1, fan2 = [await app.connect(u) for u in ("host", "fan1", "fan2")]
    try:
        await host.join_group(group_id)
        assert await fan1.join_group(group_id) is True
        assert await fan1.join_group(group_id) is False

        await host.send(group=group_id, text="before fan2")
        first = await next_message(fan1)
        assert (first.text, first.online_only) == ("before fan2", True)

        # A second message inside the same second is over the group's rate.
        with pytest.raises(TidingsClientError) as err:
            await host.send(group=group_id, text="too fast")
        assert err.value.code == ErrorCode.GROUP_RATE_LIMITED

        await fan2.join_group(group_id)
        ack = await send_after_rate_window(host, group_id, "after fan2")
        assert (await next_message(fan1)).text == "after fan2"
        # fan2 joined after the first message: it gets the second one first, and only it.
        seen = await next_message(fan2)
        assert seen.text == "after fan2"

        # Nothing was archived: there is no history to sync.
        await archive_passed(app, group_id, ack.seq)
        assert await fan1.sync(group=group_id) == []

        await fan1.quit_group(group_id)
        await send_after_rate_window(host, group_id, "after fan1 left")
        assert (await next_message(fan2)).text == "after fan1 left"
        # Fan-out is done with that message; had it gone to fan1, it would come before this.
        await host.send(to="fan1", text="probe")
        assert (await next_message(fan1)).text == "probe"
        # Live groups have no history, so no conversation either.
        assert all(c.get("group") != group_id for c in await fan2.conversations())
    finally:
        for c in (host, fan1, fan2):
            await c.close()


async def test_app_rate_setting_bounds_each_group(stack: Stack) -> None:
    app = await new_app(stack, avchatroom_msg_rate=3)
    await app.import_accounts("h")
    group_id = await live_group(app, "h")
    host = await app.connect("h")
    try:
        await host.join_group(group_id)
        results = await asyncio.gather(
            *(host.send(group=group_id, text=f"burst {i}") for i in range(10)),
            return_exceptions=True,
        )
        sent = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, TidingsClientError)]
        assert len(sent) + len(refused) == 10
        # A burst takes the bucket's 3 tokens, and what refills while it is in flight.
        assert 3 <= len(sent) < 10
        assert {r.code for r in refused} == {ErrorCode.GROUP_RATE_LIMITED}
    finally:
        await host.close()


async def test_client_joins_follow_each_group_types_apply_join_option(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("own", "j")
    work = await make_group(app, "own", [], kind="Work")
    public = await make_group(app, "own", [], kind="Public")
    meeting = await make_group(app, "own", [], kind="Meeting")
    j = await app.connect("j")
    try:
        for invitation_or_approval in (work, public):
            with pytest.raises(TidingsClientError) as err:
                await j.join_group(invitation_or_approval)
            assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
        assert await j.join_group(meeting) is True
        await j.quit_group(meeting)
        with pytest.raises(TidingsClientError) as err:
            await j.quit_group(meeting)
        assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
        with pytest.raises(TidingsClientError) as err:
            await j.join_group("@TGS#nonexistent")
        assert err.value.code == ErrorCode.GROUP_NOT_FOUND
    finally:
        await j.close()


async def test_app_server_messages_into_a_live_group_are_online_only(app: AppUnderTest) -> None:
    await app.import_accounts("rh", "rf")
    group_id = await live_group(app, "rh")
    fan = await app.connect("rf")
    try:
        await fan.join_group(group_id)
        for i in range(2):
            reply = await app.rest(
                "group_open_http_svc",
                "send_group_msg",
                {
                    "GroupId": group_id,
                    "Random": i,
                    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"rest {i}"}}],
                },
            )
            assert reply["ErrorCode"] == 0, reply
        got = [await next_message(fan) for _ in range(2)]
        assert [(m.text, m.online_only) for m in got] == [("rest 0", True), ("rest 1", True)]
        await archive_passed(app, group_id, reply["MsgSeq"])
        assert await fan.sync(group=group_id) == []
    finally:
        await fan.close()
