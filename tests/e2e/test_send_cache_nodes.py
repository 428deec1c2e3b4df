"""Two gateway nodes: a change made through one reaches the other's send checks through
im.events. The REST call answers once its own gateway applied the change; the other applies it
when its feed reads the event. The test waits for that on a deterministic signal, the other
gateway's count of events applied for the app (tidings_stage_messages_total{stage="directory",
outcome="feed"} on its /metrics), then sends through it at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, http_client, new_app, start_stack
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

# Milliseconds from a REST reply to the other node having applied its event.
WINDOWS_MS: list[float] = []


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("two-gateways")), instances={"gateway": 2})
    yield s
    s.stop()
    if WINDOWS_MS:
        print(f"\nevent applied on the other gateway after the REST reply, ms: {WINDOWS_MS}")


async def applied(stack: Stack, sdkappid: int) -> int:
    """Events the second gateway's feed applied to its directory for this app."""
    port = stack.ports["gateway-1"].metrics
    async with http_client(timeout=10) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    wanted = {'stage="directory"', f'app="{sdkappid}"', 'outcome="feed"'}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name != "tidings_stage_messages_total":
            continue
        labels, _, value = rest.partition("} ")
        if set(labels.split(",")) == wanted:
            return int(float(value))
    return 0


async def change_then_wait(
    app: AppUnderTest, service: str, command: str, body: dict[str, Any]
) -> None:
    """Make a change through the first gateway; return once the second applied its event."""
    before = await applied(app.stack, app.sdkappid)
    reply = await app.rest(service, command, body)
    assert reply["ErrorCode"] == 0, reply
    answered = time.monotonic()

    async def seen() -> bool:
        return await applied(app.stack, app.sdkappid) > before

    await eventually(seen, timeout=10, interval=0.005)
    WINDOWS_MS.append(round((time.monotonic() - answered) * 1000, 1))


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
        await change_then_wait(app, "sns", "friend_import", friends)
        assert await code_of(xa, to="xb", text="2") == 0
        # Blocking ends the friendship both ways.
        await change_then_wait(
            app, "sns", "black_list_add", {"From_Account": "xb", "To_Account": ["xa"]}
        )
        assert await code_of(xa, to="xb", text="3") == ErrorCode.MSG_NOT_FRIENDS
        await change_then_wait(
            app, "sns", "black_list_delete", {"From_Account": "xb", "To_Account": ["xa"]}
        )
        await change_then_wait(app, "sns", "friend_import", friends)
        assert await code_of(xa, to="xb", text="4") == 0
        await change_then_wait(
            app, "sns", "friend_delete", {"From_Account": "xa", "To_Account": ["xb"]}
        )
        assert await code_of(xa, to="xb", text="5") == ErrorCode.MSG_NOT_FRIENDS
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
            app, "sns", "black_list_add", {"From_Account": "yb", "To_Account": ["ya"]}
        )
        assert await code_of(ya, to="yb", text="2") == ErrorCode.MSG_BLOCKED_BY_PEER
        await change_then_wait(
            app, "sns", "black_list_delete", {"From_Account": "yb", "To_Account": ["ya"]}
        )
        assert await code_of(ya, to="yb", text="3") == 0
        await change_then_wait(
            app,
            "openconfigsvr",
            "setnospeaking",
            {"Set_Account": "ya", "C2CmsgNospeakingTime": 600},
        )
        assert await code_of(ya, to="yb", text="4") == ErrorCode.MSG_SENDER_MUTED
        await change_then_wait(
            app, "im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": "yb"}]}
        )
        assert await code_of(ya, to="yb", text="5") == ErrorCode.MSG_ACCOUNT_INVALID

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
        )
        assert await code_of(ya, group=group_id, text="7") == ErrorCode.GROUP_SENDER_MUTED
        await change_then_wait(
            app,
            "group_open_http_svc",
            "delete_group_member",
            {"GroupId": group_id, "MemberToDel_Account": ["ya"]},
        )
        assert await code_of(ya, group=group_id, text="8") == ErrorCode.GROUP_NO_PERMISSION
        await change_then_wait(app, "group_open_http_svc", "destroy_group", {"GroupId": group_id})
        assert await code_of(ya, group=group_id, text="9") == ErrorCode.GROUP_NOT_FOUND
    finally:
        await ya.close()
