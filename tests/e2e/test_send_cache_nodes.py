"""Two gateway nodes: a change made through one reaches the other's send checks through
im.events. The REST call answers once its own gateway applied the change; the other applies it
when its feed reads the event. The test waits for that on a deterministic signal, the other
gateway's count of events applied for the app (tidings_stage_messages_total{stage="directory",
outcome="feed"} on its /metrics), then sends through it at once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app, start_stack
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

# Milliseconds from a REST reply to its effect showing on the other node.
WINDOWS_MS: list[float] = []


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("two-gateways")), instances={"gateway": 2})
    yield s
    s.stop()
    if WINDOWS_MS:
        print(f"\nthe effect shown by the other gateway after the REST reply, ms: {WINDOWS_MS}")


async def change_then_wait(
    app: AppUnderTest,
    service: str,
    command: str,
    body: dict[str, Any],
    effect: Callable[[], Awaitable[bool]],
) -> None:
    """Make a change through the first gateway; return once its effect shows on the second
    (whose directory hears of it through im.events), and record how long that took."""
    reply = await app.rest(service, command, body)
    assert reply["ErrorCode"] == 0, reply
    answered = time.monotonic()
    await eventually(effect, timeout=10, interval=0.005)
    WINDOWS_MS.append(round((time.monotonic() - answered) * 1000, 1))


def answers(client: Client, code: int, **send: Any) -> Callable[[], Awaitable[bool]]:
    """Whether a send now gets `code` (0: accepted)."""

    async def check() -> bool:
        return await code_of(client, **send) == code

    return check


async def code_of(client: Client, **send: Any) -> int:
    try:
        await client.send(**send)
    except TidingsClientError as err:
        return int(err.code)
    return 0


async def test_relationship_changes_reach_the_other_gateway(two_gateways: Stack) -> None:
    app = await new_app(two_gateways, c2c_friend_check=True)
    await app.import_accounts("xa", "xb")
    xa = Client(two_gateways.ws_urls[1], app.sdkappid, "xa", app.sig("xa"))
    await xa.connect()
    friends = {
        "From_Account": "xa",
        "AddFriendItem": [{"To_Account": "xb", "AddSource": "AddSource_Type_X"}],
    }
    try:
        # Cached on the second gateway: strangers.
        assert await code_of(xa, to="xb", text="1") == ErrorCode.MSG_NOT_FRIENDS
        await change_then_wait(
            app,
            "sns",
            "friend_import",
            friends,
            answers(xa, 0, to="xb", text="2"),
        )
        # Blocking ends the friendship both ways.
        await change_then_wait(
            app,
            "sns",
            "black_list_add",
            {"From_Account": "xb", "To_Account": ["xa"]},
            answers(xa, ErrorCode.MSG_NOT_FRIENDS, to="xb", text="3"),
        )
        # Seen once the friend import below is: only then can a send pass again.
        unblocked = await app.rest(
            "sns", "black_list_delete", {"From_Account": "xb", "To_Account": ["xa"]}
        )
        assert unblocked["ErrorCode"] == 0, unblocked
        await change_then_wait(
            app,
            "sns",
            "friend_import",
            friends,
            answers(xa, 0, to="xb", text="4"),
        )
        await change_then_wait(
            app,
            "sns",
            "friend_delete",
            {"From_Account": "xa", "To_Account": ["xb"]},
            answers(xa, ErrorCode.MSG_NOT_FRIENDS, to="xb", text="5"),
        )
    finally:
        await xa.close()


async def test_blocklist_and_mutes_reach_the_other_gateway(two_gateways: Stack) -> None:
    app = await new_app(two_gateways, blocklist_send_error=True)
    await app.import_accounts("ya", "yb", "yo")
    ya = Client(two_gateways.ws_urls[1], app.sdkappid, "ya", app.sig("ya"))
    await ya.connect()
    try:
        assert await code_of(ya, to="yb", text="1") == 0
        await change_then_wait(
            app,
            "sns",
            "black_list_add",
            {"From_Account": "yb", "To_Account": ["ya"]},
            answers(ya, ErrorCode.MSG_BLOCKED_BY_PEER, to="yb", text="2"),
        )
        await change_then_wait(
            app,
            "sns",
            "black_list_delete",
            {"From_Account": "yb", "To_Account": ["ya"]},
            answers(ya, 0, to="yb", text="3"),
        )
        await change_then_wait(
            app,
            "openconfigsvr",
            "setnospeaking",
            {"Set_Account": "ya", "C2CmsgNospeakingTime": 600},
            answers(ya, ErrorCode.MSG_SENDER_MUTED, to="yb", text="4"),
        )
        await change_then_wait(
            app,
            "im_open_login_svc",
            "account_delete",
            {"DeleteItem": [{"UserID": "yb"}]},
            answers(ya, ErrorCode.MSG_ACCOUNT_INVALID, to="yb", text="5"),
        )

        created = await app.rest(
            "group_open_http_svc",
            "create_group",
            {
                "Owner_Account": "yo",
                "Type": "Public",
                "Name": "n",
                "MemberList": [{"Member_Account": "ya"}],
            },
        )
        group_id = created["GroupId"]
        assert await code_of(ya, group=group_id, text="6") == 0
        await change_then_wait(
            app,
            "group_open_http_svc",
            "forbid_send_msg",
            {"GroupId": group_id, "Members_Account": ["ya"], "MuteTime": 600},
            answers(ya, ErrorCode.GROUP_SENDER_MUTED, group=group_id, text="7"),
        )
        await change_then_wait(
            app,
            "group_open_http_svc",
            "delete_group_member",
            {"GroupId": group_id, "MemberToDel_Account": ["ya"]},
            answers(ya, ErrorCode.GROUP_NO_PERMISSION, group=group_id, text="8"),
        )
        await change_then_wait(
            app,
            "group_open_http_svc",
            "destroy_group",
            {"GroupId": group_id},
            answers(ya, ErrorCode.GROUP_NOT_FOUND, group=group_id, text="9"),
        )
    finally:
        await ya.close()
