"""One admission for every way into a group (services/gateway/handlers/membership.py): the rules
that the WebSocket join and the REST commands used to apply differently now hold for both."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_group_messages import make_group
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack


async def test_a_client_join_past_the_joined_groups_quota_is_10037(stack) -> None:  # type: ignore[no-untyped-def]
    app = await new_app(stack, edition="Developer")  # 50 joined groups a user
    await app.import_accounts("owner", "host", "joiner")
    for _ in range(50):
        await make_group(app, "owner", ["joiner"], kind="Work")
    open_group = await make_group(app, "host", [], kind="Meeting")
    joiner = await app.connect("joiner")
    try:
        with pytest.raises(TidingsClientError) as err:
            await joiner.join_group(open_group)
        assert err.value.code == ErrorCode.GROUP_JOINED_LIMIT
    finally:
        await joiner.close()


async def test_a_member_added_over_rest_reads_from_the_join_on(app: AppUnderTest) -> None:
    await app.import_accounts("owner", "early", "late")
    group_id = await make_group(app, "owner", ["early"])
    owner = await app.connect("owner")
    try:
        for i in range(3):
            await owner.send(group=group_id, text=f"before {i}")
    finally:
        await owner.close()
    await make_member(app, group_id, "late")
    early, late = await app.connect("early"), await app.connect("late")
    try:
        assert unread_of(await early.conversations(), group_id) == 3
        assert unread_of(await late.conversations(), group_id) == 0
    finally:
        await early.close()
        await late.close()


async def make_member(app: AppUnderTest, group_id: str, user: str) -> None:
    added = await app.rest(
        "group_open_http_svc",
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": user}]},
    )
    assert added["MemberList"] == [{"Member_Account": user, "Result": 1}], added


def unread_of(conversations: list[dict[str, object]], group_id: str) -> object:
    (item,) = [c for c in conversations if c.get("group") == group_id]
    return item["unread"]
