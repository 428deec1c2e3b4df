"""Tencent's per-message controls of the REST sends (services/gateway/rest_v4/send_controls.py):
ForbidCallbackControl keeps the app server's own send from being called back about, and
SendMsgControl NoUnread keeps it out of the recipient's unread count."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.callback_app_server import AppServer
from tests.conftest import AppUnderTest
from tests.e2e.test_callbacks import (
    C2C_AFTER,
    C2C_BEFORE,
    GROUP_AFTER,
    GROUP_BEFORE,
    TOKEN,
    arrived,
    configure,
    server,
    text,
)
from tests.e2e.test_group_membership_live import next_message
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack
__all__ = ["server"]

FORBID_BOTH = ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"]


def c2c(words: str, random: int, **more: Any) -> dict[str, Any]:
    return {
        "From_Account": "fa",
        "To_Account": "fb",
        "MsgRandom": random,
        "MsgBody": text(words),
        **more,
    }


async def test_forbidden_callbacks_are_not_made_for_that_message_only(
    app: AppUnderTest, server: AppServer
) -> None:
    await app.import_accounts("fa", "fb")
    group_id = await make_group(app, "fa", ["fb"])
    commands = [C2C_BEFORE, C2C_AFTER, GROUP_BEFORE, GROUP_AFTER]
    await configure(app, server.url, token=TOKEN, commands=commands)
    quiet = await app.rest("openim", "sendmsg", c2c("quiet", 1, ForbidCallbackControl=FORBID_BOTH))
    assert quiet["ErrorCode"] == 0, quiet
    group_quiet = {
        "GroupId": group_id,
        "From_Account": "fa",
        "Random": 2,
        "MsgBody": text("quiet"),
        "ForbidCallbackControl": FORBID_BOTH,
    }
    posted = await app.rest("group_open_http_svc", "send_group_msg", group_quiet)
    assert posted["ErrorCode"] == 0, posted
    loud = await app.rest("openim", "sendmsg", c2c("loud", 3))
    group_loud = {**group_quiet, "Random": 4, "ForbidCallbackControl": []}
    assert (await app.rest("group_open_http_svc", "send_group_msg", group_loud))["ErrorCode"] == 0
    # The after-callbacks of a conversation come in seq order: once the loud one's has, the
    # quiet one's would have come before it.
    (after,) = await arrived(server, C2C_AFTER, app.sdkappid)
    assert after.body["MsgSeq"] == loud["MsgSeq"]
    (group_after,) = await arrived(server, GROUP_AFTER, app.sdkappid)
    assert group_after.body["Random"] == 4
    assert [h.body["MsgRandom"] for h in server.of(C2C_BEFORE, app.sdkappid)] == [3]
    assert [h.body["Random"] for h in server.of(GROUP_BEFORE, app.sdkappid)] == [4]


async def test_no_unread_is_not_counted_and_bad_controls_are_refused(app: AppUnderTest) -> None:
    await app.import_accounts("fa", "fb")
    fb = await app.connect("fb")
    try:
        for i, control in enumerate((["NoUnread"], ["NoUnread", "SomethingNew"], [])):
            reply = await app.rest("openim", "sendmsg", c2c(f"m{i}", i, SendMsgControl=control))
            assert reply["ErrorCode"] == 0, reply
        assert [(await next_message(fb)).text for _ in range(3)] == ["m0", "m1", "m2"]
        (conv,) = await fb.conversations()
        assert conv["unread"] == 1, conv
    finally:
        await fb.close()
    for bad in ("NoUnread", [1], ["x"] * 9):
        refused = await app.rest("openim", "sendmsg", c2c("bad", 9, SendMsgControl=bad))
        assert refused["ErrorCode"] == ErrorCode.OPENIM_JSON_FIELDS, refused
