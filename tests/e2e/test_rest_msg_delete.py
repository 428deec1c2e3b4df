"""delete_c2c_msg_ramble and clear_group_msg through the running stack: Tencent's example
requests, what the caller's roaming and clients' syncs show afterwards, what the other side and
the admin still see, and each error path."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group

pytestmark = pytest.mark.stack

OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


def _text(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


async def _send(app: AppUnderTest, sender: str, to: str, text: str, random: int) -> str:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": sender, "To_Account": to, "MsgRandom": random, "MsgBody": _text(text)},
    )
    assert reply["ErrorCode"] == 0, reply
    key: str = reply["MsgKey"]
    return key


async def test_one_sided_c2c_deletion(app: AppUnderTest) -> None:
    await app.import_accounts("user0", "user1")
    first = await _send(app, "user0", "user1", "one", 1)
    second = await _send(app, "user1", "user0", "two", 2)
    await _send(app, "user0", "user1", "three", 3)

    reply = await app.rest(
        "openim",
        "delete_c2c_msg_ramble",
        {"Operator_Account": "user0", "Peer_Account": "user1", "MsgKeyList": [first, second]},
    )
    assert reply == OK
    # The operator's roaming no longer has them; the peer's still does.
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("user0", "user1")] == [
        "three"
    ]
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("user1", "user0")] == [
        "three",
        "two",
        "one",
    ]
    # The operator's client pulls them as deleted, seqs kept; the peer's as they were.
    user0, user1 = await app.connect("user0"), await app.connect("user1")
    try:
        mine = await user0.sync(peer="user1")
        assert [(m.seq, m.deleted, m.text) for m in mine] == [
            (1, True, ""),
            (2, True, ""),
            (3, False, "three"),
        ]
        theirs = await user1.sync(peer="user0")
        assert [(m.deleted, m.text) for m in theirs] == [
            (False, "one"),
            (False, "two"),
            (False, "three"),
        ]
    finally:
        await user0.close()
        await user1.close()
    # Deleting again, or a key that names no message, changes nothing.
    again = await app.rest(
        "openim",
        "delete_c2c_msg_ramble",
        {"Operator_Account": "user0", "Peer_Account": "user1", "MsgKeyList": [first, "1_99_2"]},
    )
    assert again == OK
    assert len(await app.roam("user0", "user1")) == 1


async def test_c2c_deletion_requests_are_checked(app: AppUnderTest) -> None:
    good = {"Operator_Account": "user0", "Peer_Account": "user1", "MsgKeyList": ["1_1_1"]}
    cases: list[tuple[dict[str, Any], int]] = [
        ({**good, "Operator_Account": None}, ErrorCode.OPENIM_JSON_FIELDS),
        ({k: v for k, v in good.items() if k != "Peer_Account"}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**good, "MsgKeyList": []}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**good, "MsgKeyList": "1_1_1"}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**good, "MsgKeyList": [f"1_{i}_1" for i in range(1, 32)]}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**good, "MsgKeyList": ["not-a-key"]}, ErrorCode.OPENIM_BAD_MSG_KEY),
    ]
    for body, code in cases:
        reply = await app.rest("openim", "delete_c2c_msg_ramble", body)
        assert reply["ErrorCode"] == code, (body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def _send_group(app: AppUnderTest, group_id: str, text: str, random: int) -> int:
    reply = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "From_Account": "owner", "Random": random, "MsgBody": _text(text)},
    )
    assert reply["ErrorCode"] == 0, reply
    seq: int = reply["MsgSeq"]
    return seq


async def test_clear_group_history(app: AppUnderTest) -> None:
    await app.import_accounts("owner", "member")
    group_id = await make_group(app, "owner", ["member"])
    seqs = [await _send_group(app, group_id, t, r) for r, t in enumerate(("a", "b", "c"), 1)]

    assert (
        await app.rest(
            "group_open_http_svc", "clear_group_msg", {"GroupId": group_id, "MsgSeq": seqs[1]}
        )
        == OK
    )
    member = await app.connect("member")
    try:
        pulled = await member.sync(group=group_id)
        assert [(m.seq, m.deleted, m.text) for m in pulled] == [
            (seqs[0], True, ""),
            (seqs[1], True, ""),
            (seqs[2], False, "c"),
        ]
        # A lower MsgSeq does not bring cleared messages back; no MsgSeq clears everything.
        for body in ({"GroupId": group_id, "MsgSeq": 1}, {"GroupId": group_id}):
            assert await app.rest("group_open_http_svc", "clear_group_msg", body) == OK
        pulled = await member.sync(group=group_id)
        assert [m.deleted for m in pulled] == [True, True, True]
        # Messages after the clear are seen.
        later = await _send_group(app, group_id, "d", 4)
        pulled = await member.sync(group=group_id, after_seq=seqs[2])
        assert [(m.seq, m.deleted, m.text) for m in pulled] == [(later, False, "d")]
    finally:
        await member.close()
    # The admin still pulls the cleared history (Tencent: marked, not deleted).
    history = await app.rest(
        "group_open_http_svc",
        "group_msg_get_simple",
        {"GroupId": group_id, "ReqMsgNumber": 10},
    )
    items = history["RspMsgList"]
    assert [(m["IsPlaceMsg"], m["MsgBody"][0]["MsgContent"]["Text"]) for m in items] == [
        (0, "d"),
        (0, "c"),
        (0, "b"),
        (0, "a"),
    ]


async def test_clear_group_requests_are_checked(app: AppUnderTest) -> None:
    await app.import_accounts("owner")
    group_id = await make_group(app, "owner", [])
    # Tencent's basic example, on a group with no message yet.
    assert await app.rest("group_open_http_svc", "clear_group_msg", {"GroupId": group_id}) == OK
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": group_id, "MsgSeq": 0}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": group_id, "MsgSeq": "7"}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": "@TGS#15ERQPAER"}, ErrorCode.GROUP_NOT_FOUND),
    ]
    for body, code in cases:
        reply = await app.rest("group_open_http_svc", "clear_group_msg", body)
        assert reply["ErrorCode"] == code, (body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]
