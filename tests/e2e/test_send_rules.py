"""The rules a client's send passes: the per-sender throttle, the friend check and the
blocklist (Tencent's defaults and switches)."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, new_app
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack


async def client(app: AppUnderTest, user: str) -> Client:
    c = Client(app.stack.ws_url, app.sdkappid, user, app.sig(user))
    await c.connect()
    return c


async def test_sender_throttle_default_two_per_second(stack) -> None:  # type: ignore[no-untyped-def]
    # The default rate: the test fixture's high limit is taken out again.
    app = await new_app(stack, send_rate=None)
    await app.import_accounts("fast", "slow")
    c = await client(app, "fast")
    try:
        results = await asyncio.gather(
            *(c.send(to="slow", text=f"t{i}") for i in range(6)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, TidingsClientError)]
        assert len(refused) >= 3
        assert {r.code for r in refused} == {ErrorCode.SENDER_THROTTLED}
        await asyncio.sleep(1.1)
        assert (await c.send(to="slow", text="after a pause")).seq >= 1
    finally:
        await c.close()


async def test_friend_check_when_switched_on(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, c2c_friend_check=True)
    await app.import_accounts("fa", "fb")
    fa = await client(app, "fa")
    try:
        with pytest.raises(TidingsClientError) as err:
            await fa.send(to="fb", text="hi stranger")
        assert err.value.code == ErrorCode.MSG_NOT_FRIENDS
        added = await app.rest(
            "sns",
            "friend_import",
            {
                "From_Account": "fa",
                "AddFriendItem": [{"To_Account": "fb", "AddSource": "AddSource_Type_X"}],
            },
        )
        assert added["ErrorCode"] == 0, added
        assert (await fa.send(to="fb", text="hi friend")).seq == 1
    finally:
        await fa.close()


async def test_blocked_sender_is_told_sent_but_nothing_arrives(app: AppUnderTest) -> None:
    await app.import_accounts("troll", "victim")
    blocked = await app.rest(
        "sns", "black_list_add", {"From_Account": "victim", "To_Account": ["troll"]}
    )
    assert blocked["ErrorCode"] == 0, blocked
    troll, victim = await client(app, "troll"), await client(app, "victim")
    try:
        ack = await troll.send(to="victim", text="you there?")
        assert ack.seq == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(victim.messages().__anext__(), 1.5)
    finally:
        await troll.close()
        await victim.close()

    async def unread_zero() -> bool:
        r = await app.rest("openim", "get_c2c_unread_msg_num", {"To_Account": "victim"})
        return bool(r["AllC2CUnreadMsgNum"] == 0)

    assert await unread_zero()


async def test_blocklist_error_when_switched_on(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, blocklist_send_error=True)
    await app.import_accounts("bx", "by")
    await app.rest("sns", "black_list_add", {"From_Account": "by", "To_Account": ["bx"]})
    bx = await client(app, "bx")
    try:
        with pytest.raises(TidingsClientError) as err:
            await bx.send(to="by", text="hello?")
        assert err.value.code == ErrorCode.MSG_BLOCKED_BY_PEER
    finally:
        await bx.close()
