"""A group message's mentions, as a client's send and REST GroupAtInfo name them (pure)."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway.frames import parse_send
from services.gateway.mentions import MAX_AT_USERS, Mentions, parse_group_at_info

BAD = ErrorCode.GROUP_INVALID_PARAM


def test_group_at_info_names_members_and_everyone_each_once() -> None:
    raw = [
        {"GroupAtAllFlag": 0, "GroupAt_Account": "ann"},
        {"GroupAtAllFlag": 1},
        {"GroupAtAllFlag": 0, "GroupAt_Account": "bob"},
        {"GroupAtAllFlag": 0, "GroupAt_Account": "ann"},
    ]
    assert parse_group_at_info(raw, BAD) == Mentions(("ann", "bob"), everyone=True)
    assert parse_group_at_info(None, BAD) == Mentions()


@pytest.mark.parametrize(
    "raw",
    [
        {"GroupAtAllFlag": 1},
        [{"GroupAtAllFlag": 2}],
        [{"GroupAtAllFlag": True}],
        [{"GroupAtAllFlag": 0}],
        [{"GroupAtAllFlag": 0, "GroupAt_Account": "x" * 33}],
        [{"GroupAtAllFlag": 0, "GroupAt_Account": f"u{i}"} for i in range(MAX_AT_USERS + 1)],
        ["ann"],
    ],
)
def test_bad_group_at_info_is_refused(raw: object) -> None:
    with pytest.raises(TidingsError) as err:
        parse_group_at_info(raw, BAD)
    assert err.value.code == BAD


def send_frame(**more: object) -> dict[str, object]:
    return {"op": "send", "group": "g1", "text": "hi", "client_msg_id": "m1", **more}


def test_a_client_send_mentions_in_a_group_only() -> None:
    inbound = parse_send(send_frame(at_users=["ann", "bob"], at_all=True), 1, "me", "iOS", 1000)
    assert (list(inbound.at_users), inbound.at_all) == (["ann", "bob"], True)
    for bad in (
        send_frame(at_users="ann"),
        send_frame(at_users=[""]),
        {"op": "send", "to": "bob", "text": "hi", "at_all": True},
    ):
        with pytest.raises(TidingsError) as err:
            parse_send(bad, 1, "me", "iOS", 1000)
        assert err.value.code == ErrorCode.WS_BAD_FRAME
