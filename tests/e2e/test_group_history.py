"""History visibility for new group members (SPEC §4): Work and Public members sync only what
was sent after they joined; Meeting (and Community) members see the group's earlier history."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(("kind", "sees_before"), [("Work", False), ("Meeting", True)])
async def test_new_members_see_history_per_group_type(
    app: AppUnderTest, kind: str, sees_before: bool
) -> None:
    await app.import_accounts("ho", "hn")
    group_id = await make_group(app, "ho", [], kind=kind)
    owner = await app.connect("ho")
    try:
        before = [await owner.send(group=group_id, text=f"before {i}") for i in range(2)]
        # Join times are in seconds: the join lands in a later second than those messages.
        await asyncio.sleep(1.2)
        added = await app.rest(
            "group_open_http_svc",
            "add_group_member",
            {"GroupId": group_id, "MemberList": [{"Member_Account": "hn"}]},
        )
        assert added["ErrorCode"] == 0, added
        after = await owner.send(group=group_id, text="after")
    finally:
        await owner.close()

    newcomer = await app.connect("hn")
    try:
        # The seq before "after" is the group tip of hn's join, which hn reads either way.
        joined = after.seq - 1
        want = [a.seq for a in before] if sees_before else []
        got = await newcomer.sync(group=group_id)
        assert [m.seq for m in got] == [*want, joined, after.seq]
        assert got[-2].group_tip is not None
    finally:
        await newcomer.close()
