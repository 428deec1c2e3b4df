"""Group @ messages: a client's mentions and REST GroupAtInfo travel with the message to every
member, live and in sync, and each member sees whether it was mentioned."""

from __future__ import annotations

import pytest

from tests.conftest import AppUnderTest
from tests.e2e.test_group_membership_live import next_message
from tests.e2e.test_group_messages import make_group, text
from tidings_client import Client

pytestmark = pytest.mark.stack


async def test_mentions_reach_every_member_live_and_in_history(app: AppUnderTest) -> None:
    await app.import_accounts("mo", "ma", "mb")
    group_id = await make_group(app, "mo", ["ma", "mb"])
    mo, ma, mb = [await app.connect(u) for u in ("mo", "ma", "mb")]
    try:
        await mo.send(group=group_id, text="@ma look", at_users=["ma"])
        live_a, live_b = await next_message(ma), await next_message(mb)
        assert (live_a.at_users, live_a.at_all) == (["ma"], False)
        assert live_a.mentions("ma") and not live_b.mentions("mb")
        posted = await app.rest(
            "group_open_http_svc",
            "send_group_msg",
            {
                "GroupId": group_id,
                "From_Account": "mo",
                "Random": 7,
                "MsgBody": text("@all and @mb"),
                "GroupAtInfo": [
                    {"GroupAtAllFlag": 1},
                    {"GroupAtAllFlag": 0, "GroupAt_Account": "mb"},
                ],
            },
        )
        assert posted["ErrorCode"] == 0, posted
        everyone = await next_message(mb)
        assert (everyone.at_users, everyone.at_all) == (["mb"], True)
        assert everyone.mentions("mb") and everyone.mentions("ma")
        assert (await next_message(ma)).mentions("ma")
        history = await mb.sync(group=group_id)
        assert [(m.at_users, m.at_all) for m in history] == [(["ma"], False), (["mb"], True)]
        first, second = (m.seq for m in history)

        # The conversation list names the unread messages that mention each member (Tencent's
        # groupAtInfoList: 1 the member, 2 everyone, 3 both), until they are read.
        async def marks(client: Client) -> list[dict[str, int]]:
            (conv,) = [c for c in await client.conversations() if c.get("group") == group_id]
            return list(conv["at"])

        assert await marks(ma) == [{"seq": first, "type": 1}, {"seq": second, "type": 2}]
        assert await marks(mb) == [{"seq": second, "type": 3}]
        assert await marks(mo) == []
        await ma.mark_read(history[0].conversation, second)
        assert await marks(ma) == []
    finally:
        for c in (mo, ma, mb):
            await c.close()
