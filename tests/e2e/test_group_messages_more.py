"""More group message commands through the stack: import_group_msg, send_group_system_notification,
delete_group_msg_by_sender, set_unread_msg_num, and the group activity (LastMsgTime, NextMsgSeq)
the archive keeps."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group, text
from tidings_client import Client

pytestmark = pytest.mark.stack

SVC = "group_open_http_svc"


async def group_info(app: AppUnderTest, group_id: str) -> dict[str, Any]:
    reply = await app.rest(SVC, "get_group_info", {"GroupIdList": [group_id]})
    assert reply["ErrorCode"] == 0, reply
    info: dict[str, Any] = reply["GroupInfo"][0]
    return info


async def history(app: AppUnderTest, group_id: str, count: int = 20) -> list[dict[str, Any]]:
    reply = await app.rest(
        SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": count}
    )
    assert reply["ErrorCode"] == 0, reply
    items: list[dict[str, Any]] = reply["RspMsgList"]
    return items


async def activity(app: AppUnderTest, group_id: str, next_seq: int) -> dict[str, Any] | None:
    """The group's info if it counts messages up to next_seq - 1 (as of the last ack)."""
    info = await group_info(app, group_id)
    return info if info["NextMsgSeq"] == next_seq else None


async def nothing_arrives(client: Client, seconds: float = 1.0) -> bool:
    try:
        await asyncio.wait_for(anext(client.messages()), seconds)
    except TimeoutError:
        return True
    return False


async def test_import_group_msg_stores_silently_with_its_own_time(app: AppUnderTest) -> None:
    await app.import_accounts("ia", "ib")
    now = int(time.time())
    created = now - 3600
    imported = await app.rest(
        SVC,
        "import_group",
        {"Owner_Account": "ia", "Type": "Public", "Name": "old", "CreateTime": created},
    )
    assert imported["ErrorCode"] == 0, imported
    group_id = imported["GroupId"]
    # Silence: a group tip would be the group's newest message, now, and an import may not go
    # back before it.
    added = await app.rest(
        SVC,
        "add_group_member",
        {"GroupId": group_id, "Silence": 1, "MemberList": [{"Member_Account": "ib"}]},
    )
    assert added["ErrorCode"] == 0, added
    watcher = Client(app.stack.ws_url, app.sdkappid, "ib", app.sig("ib"))
    await watcher.connect()
    try:
        t1, t2, t3 = created + 60, created + 120, created + 120
        msg_list = [
            {"From_Account": "ia", "SendTime": t1, "Random": 1, "MsgBody": text("first")},
            {"From_Account": "ib", "SendTime": created - 1, "MsgBody": text("too old")},
            {"From_Account": "ib", "SendTime": t2, "Random": 2, "MsgBody": text("second")},
            {"From_Account": "ia", "SendTime": now + 3600, "MsgBody": text("from the future")},
            {"From_Account": "ia", "SendTime": t3, "MsgBody": text("x" * 13000)},
            {"From_Account": "ia", "SendTime": t3, "Random": 3, "MsgBody": text("third")},
        ]
        reply = await app.rest(
            SVC,
            "import_group_msg",
            {"GroupId": group_id, "RecentContactFlag": 1, "MsgList": msg_list},
        )
        assert reply["ErrorCode"] == 0, reply
        assert reply["ImportMsgResult"] == [
            {"MsgSeq": 1, "MsgTime": t1, "Result": 0},
            {"MsgSeq": 0, "MsgTime": created - 1, "Result": ErrorCode.GROUP_INVALID_PARAM},
            {"MsgSeq": 2, "MsgTime": t2, "Result": 0},
            {"MsgSeq": 0, "MsgTime": now + 3600, "Result": ErrorCode.GROUP_INVALID_PARAM},
            {"MsgSeq": 0, "MsgTime": t3, "Result": ErrorCode.BODY_TOO_LARGE},
            {"MsgSeq": 3, "MsgTime": t3, "Result": 0},
        ]
        # Stored with their own time, and delivered to no one.
        info = await activity(app, group_id, 4)
        assert info is not None and info["LastMsgTime"] == t3
        got = await history(app, group_id)
        assert [(m["MsgSeq"], m["From_Account"], m["MsgTimeStamp"]) for m in got] == [
            (3, "ia", t3),
            (2, "ib", t2),
            (1, "ia", t1),
        ]
        assert got[0]["MsgBody"] == text("third") and got[2]["MsgRandom"] == 1
        assert await nothing_arrives(watcher)

        # Importing the same list again stores nothing twice: what is older than the group's
        # latest message is refused, and the messages of its latest second get their first
        # seqs back.
        again = await app.rest(SVC, "import_group_msg", {"GroupId": group_id, "MsgList": msg_list})
        assert [(r["MsgSeq"], r["Result"]) for r in again["ImportMsgResult"]] == [
            (0, ErrorCode.GROUP_INVALID_PARAM),
            (0, ErrorCode.GROUP_INVALID_PARAM),
            (2, 0),
            (0, ErrorCode.GROUP_INVALID_PARAM),
            (0, ErrorCode.BODY_TOO_LARGE),
            (3, 0),
        ]
        assert len(await history(app, group_id)) == 3
    finally:
        await watcher.close()

    one = [{"From_Account": "ia", "SendTime": now, "MsgBody": text("x")}]
    room = await make_group(app, "ia", [], kind="AVChatRoom")
    refusals = [
        ({"GroupId": room, "MsgList": one}, ErrorCode.GROUP_NO_PERMISSION),
        ({"GroupId": "@TGS#2NOSUCH", "MsgList": one}, ErrorCode.GROUP_NOT_FOUND),
        ({"GroupId": group_id, "MsgList": one * 8}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": group_id, "MsgList": []}, ErrorCode.GROUP_INVALID_PARAM),
        (
            {"GroupId": group_id, "MsgList": [{**one[0], "From_Account": "nobody"}]},
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
        ),
    ]
    for body, code in refusals:
        refused = await app.rest(SVC, "import_group_msg", body)
        assert refused["ErrorCode"] == code, (body, refused)


async def test_system_notification_reaches_listed_members_live_only(app: AppUnderTest) -> None:
    await app.import_accounts("sa", "sb", "sc")
    group_id = await make_group(app, "sa", ["sb", "sc"])
    clients = {u: Client(app.stack.ws_url, app.sdkappid, u, app.sig(u)) for u in ("sb", "sc")}
    await asyncio.gather(*(c.connect() for c in clients.values()))
    try:
        only_sb = await app.rest(
            SVC,
            "send_group_system_notification",
            {"GroupId": group_id, "ToMembers_Account": ["sb"], "Content": "for sb"},
        )
        assert only_sb == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
        everyone = await app.rest(
            SVC, "send_group_system_notification", {"GroupId": group_id, "Content": "for all"}
        )
        assert everyone["ErrorCode"] == 0, everyone

        async def notes(c: Client, n: int) -> list[str]:
            got: list[str] = []
            async for change in c.changes():
                assert (change.kind, change.group, change.seq) == ("system", group_id, 0)
                assert change.sender == "administrator"
                got.append(change.elements[0]["MsgContent"]["Data"])
                if len(got) == n:
                    break
            return got

        assert await asyncio.wait_for(notes(clients["sb"], 2), 20) == ["for sb", "for all"]
        # sc was not listed the first time: its first notification is the second one.
        assert await asyncio.wait_for(notes(clients["sc"], 1), 20) == ["for all"]
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))
    # Nothing was stored, and no seq was taken.
    assert await history(app, group_id) == []
    assert (await group_info(app, group_id))["NextMsgSeq"] == 1

    room = await make_group(app, "sa", [], kind="AVChatRoom")
    refusals = [
        (
            {"GroupId": room, "ToMembers_Account": ["sb"], "Content": "x"},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        ({"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM),
        (
            {"GroupId": group_id, "Content": "x", "ToMembers_Account": "sb"},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            {
                "GroupId": group_id,
                "Content": "x",
                "ToMembers_Account": [f"u{n}" for n in range(51)],
            },
            ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
        ),
        ({"GroupId": group_id, "Content": "x" * 13000}, ErrorCode.BODY_TOO_LARGE),
        ({"GroupId": "@TGS#2NOSUCH", "Content": "x"}, ErrorCode.GROUP_NOT_FOUND),
    ]
    for body, code in refusals:
        refused = await app.rest(SVC, "send_group_system_notification", body)
        assert refused["ErrorCode"] == code, (body, refused)
    to_all = await app.rest(
        SVC, "send_group_system_notification", {"GroupId": room, "Content": "x"}
    )
    assert to_all["ErrorCode"] == 0, to_all


async def test_delete_group_msg_by_sender_empties_their_history(app: AppUnderTest) -> None:
    await app.import_accounts("da", "db")
    group_id = await make_group(app, "da", ["db"])
    for n, sender in enumerate(["da", "db", "da"]):
        sent = await app.rest(
            SVC,
            "send_group_msg",
            {"GroupId": group_id, "From_Account": sender, "Random": n, "MsgBody": text(f"m{n}")},
        )
        assert sent["ErrorCode"] == 0, sent
    assert await activity(app, group_id, 4)

    reply = await app.rest(
        SVC, "delete_group_msg_by_sender", {"GroupId": group_id, "Sender_Account": "da"}
    )
    assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}

    async def deleted() -> list[dict[str, Any]] | None:
        got = await history(app, group_id)
        return got if [m["IsPlaceMsg"] for m in got] == [1, 0, 1] else None

    got = await deleted()
    assert got is not None and got[1]["From_Account"] == "db" and got[1]["MsgBody"] == text("m1")
    # A member's sync still has the seqs, but not their content.
    member = Client(app.stack.ws_url, app.sdkappid, "db", app.sig("db"))
    await member.connect()
    try:
        synced = await member.request({"op": "sync", "group": group_id})
    finally:
        await member.close()
    assert [(m["seq"], m["deleted"], m["elements"]) for m in synced["messages"]] == [
        (1, True, []),
        (2, False, text("m1")),
        (3, True, []),
    ]
    recall = await app.rest(
        SVC, "group_msg_recall", {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": 1}]}
    )
    assert recall["RecallRetList"] == [{"MsgSeq": 1, "RetCode": ErrorCode.GROUP_MSG_NOT_FOUND}]
    # The seqs go on after the deleted ones.
    later = await app.rest(
        SVC,
        "send_group_msg",
        {"GroupId": group_id, "From_Account": "da", "Random": 9, "MsgBody": text("back")},
    )
    assert later["MsgSeq"] == 4

    room = await make_group(app, "da", [], kind="AVChatRoom")
    nothing = await app.rest(
        SVC, "delete_group_msg_by_sender", {"GroupId": room, "Sender_Account": "da"}
    )
    assert nothing["ErrorCode"] == 0, nothing
    missing = await app.rest(SVC, "delete_group_msg_by_sender", {"GroupId": group_id})
    assert missing["ErrorCode"] == ErrorCode.GROUP_INVALID_PARAM
    unknown = await app.rest(
        SVC, "delete_group_msg_by_sender", {"GroupId": "@TGS#2NOSUCH", "Sender_Account": "da"}
    )
    assert unknown["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND


async def test_set_unread_msg_num_and_the_active_group_list(app: AppUnderTest) -> None:
    await app.import_accounts("ua", "ub", "uc")
    group_id = await make_group(app, "ua", ["ub"], kind="Work")

    async def joined(with_no_active: int) -> list[dict[str, Any]]:
        reply = await app.rest(
            SVC,
            "get_joined_group_list",
            {
                "Member_Account": "ub",
                "WithNoActiveGroups": with_no_active,
                "ResponseFilter": {"SelfInfoFilter": ["Role", "UnreadMsgNum"]},
            },
        )
        assert reply["ErrorCode"] == 0, reply
        entries: list[dict[str, Any]] = reply["GroupIdList"]
        return entries

    # A Work group nobody has written in is not active: listed only on request.
    assert await joined(0) == []
    assert [e["GroupId"] for e in await joined(1)] == [group_id]
    for n in range(3):
        sent = await app.rest(
            SVC, "send_group_msg", {"GroupId": group_id, "Random": n, "MsgBody": text(f"m{n}")}
        )
        assert sent["ErrorCode"] == 0, sent
    info = await activity(app, group_id, 4)
    assert info is not None and abs(info["LastMsgTime"] - time.time()) < 60

    listed = await joined(0)
    assert listed == [{"GroupId": group_id, "SelfInfo": {"Role": "Member", "UnreadMsgNum": 0}}]

    async def unread(count: int) -> int:
        reply = await app.rest(
            SVC,
            "set_unread_msg_num",
            {"GroupId": group_id, "Member_Account": "ub", "UnreadMsgNum": count},
        )
        assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
        entry = (await joined(0))[0]
        value: int = entry["SelfInfo"]["UnreadMsgNum"]
        return value

    assert await unread(2) == 2
    # More than the group has messages: lowered to the message count (Tencent).
    assert await unread(100) == 3

    meeting = await make_group(app, "ua", ["ub"], kind="Meeting")
    accepted = await app.rest(
        SVC, "set_unread_msg_num", {"GroupId": meeting, "Member_Account": "ub", "UnreadMsgNum": 5}
    )
    assert accepted["ErrorCode"] == 0, accepted
    refusals = [
        (
            {"GroupId": group_id, "Member_Account": "uc", "UnreadMsgNum": 1},
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
        ),
        ({"GroupId": group_id, "Member_Account": "ub"}, ErrorCode.GROUP_INVALID_PARAM),
        (
            {"GroupId": group_id, "Member_Account": "ub", "UnreadMsgNum": -1},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            {"GroupId": "@TGS#1NOSUCH", "Member_Account": "ub", "UnreadMsgNum": 1},
            ErrorCode.GROUP_NOT_FOUND,
        ),
    ]
    for body, code in refusals:
        refused = await app.rest(SVC, "set_unread_msg_num", body)
        assert refused["ErrorCode"] == code, (body, refused)


RSP_FIELDS = [
    "From_Account",
    "IsPlaceMsg",
    "MsgBody",
    "MsgPriority",
    "MsgRandom",
    "MsgSeq",
    "MsgTimeStamp",
]


def rsp_item(
    sender: str, place: int, body: list[dict[str, Any]], random: int, seq: int, time_s: int
) -> dict[str, Any]:
    """An RspMsgList item as Tencent's example reply shows it."""
    return dict(zip(RSP_FIELDS, [sender, place, body, 1, random, seq, time_s], strict=True))


async def test_group_msg_get_simple_golden(app: AppUnderTest) -> None:
    await app.import_accounts("gsa", "gsb")
    group_id = await make_group(app, "gsa", ["gsb"])
    sent: list[dict[str, Any]] = []
    for n, sender in enumerate(["gsa", "gsb", "gsa"]):
        reply = await app.rest(
            SVC,
            "send_group_msg",
            {
                "GroupId": group_id,
                "From_Account": sender,
                "Random": 51083293 + n,
                "MsgBody": text(f"m{n}"),
            },
        )
        assert reply["ErrorCode"] == 0, reply
        sent.append(reply)
    assert [s["MsgSeq"] for s in sent] == [1, 2, 3]
    items = [
        rsp_item(sender, 0, text(f"m{n}"), 51083293 + n, n + 1, sent[n]["MsgTime"])
        for n, sender in enumerate(["gsa", "gsb", "gsa"])
    ]

    # Tencent's basic request: the latest ReqMsgNumber messages, newest first.
    latest = await app.rest(SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 2})
    assert latest == {
        "ActionStatus": "OK",
        "ErrorInfo": "",
        "ErrorCode": 0,
        "GroupId": group_id,
        "IsFinished": 1,
        "RspMsgList": [items[2], items[1]],
    }
    # Tencent's pull by seq: ReqMsgSeq and below.
    by_seq = await app.rest(
        SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgSeq": 2, "ReqMsgNumber": 2}
    )
    assert (by_seq["IsFinished"], by_seq["RspMsgList"]) == (1, [items[1], items[0]])
    # The whole range came back: it ends at seq 1, and starts at the latest seq at most.
    beyond = await app.rest(
        SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgSeq": 99, "ReqMsgNumber": 20}
    )
    assert (beyond["IsFinished"], beyond["RspMsgList"]) == (1, items[::-1])

    # A recalled message: a placeholder with every field, or with WithRecalledMsg its body, 2.
    recall = await app.rest(
        SVC, "group_msg_recall", {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": 2}]}
    )
    assert recall["RecallRetList"] == [{"MsgSeq": 2, "RetCode": 0}]
    hidden = await app.rest(
        SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgSeq": 2, "ReqMsgNumber": 1}
    )
    assert hidden["RspMsgList"] == [rsp_item("gsb", 1, [], 51083294, 2, sent[1]["MsgTime"])]
    shown = await app.rest(
        SVC,
        "group_msg_get_simple",
        {"GroupId": group_id, "ReqMsgSeq": 2, "ReqMsgNumber": 1, "WithRecalledMsg": 1},
    )
    assert shown["RspMsgList"] == [rsp_item("gsb", 2, text("m1"), 51083294, 2, sent[1]["MsgTime"])]
    # A deleted one: a placeholder with every field too.
    deleted = await app.rest(
        SVC, "delete_group_msg_by_sender", {"GroupId": group_id, "Sender_Account": "gsa"}
    )
    assert deleted["ErrorCode"] == 0, deleted

    async def first_deleted() -> list[dict[str, Any]] | None:
        got = await history(app, group_id)
        return got if got[-1]["IsPlaceMsg"] == 1 else None

    got = await first_deleted()
    assert got is not None and got[-1] == rsp_item("gsa", 1, [], 51083293, 1, sent[0]["MsgTime"])
    assert all(list(item) == RSP_FIELDS for item in got)

    # More than a reply holds (20): the range was cut, IsFinished 0.
    more = await asyncio.gather(
        *(
            app.rest(
                SVC,
                "send_group_msg",
                {"GroupId": group_id, "Random": 100 + n, "MsgBody": text(f"n{n}")},
            )
            for n in range(18)
        )
    )
    assert sorted(r["MsgSeq"] for r in more) == list(range(4, 22))
    cut = await app.rest(SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 21})
    assert (cut["IsFinished"], [m["MsgSeq"] for m in cut["RspMsgList"]]) == (
        0,
        list(range(21, 1, -1)),
    )
    whole = await app.rest(
        SVC, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgSeq": 20, "ReqMsgNumber": 20}
    )
    assert (whole["IsFinished"], len(whole["RspMsgList"])) == (1, 20)

    refusals: list[tuple[dict[str, Any], int]] = [
        # No group has Community topics yet.
        (
            {"GroupId": group_id, "ReqMsgNumber": 2, "TopicId": f"{group_id}@TOPIC#_t"},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            {"GroupId": group_id, "ReqMsgNumber": 2, "WithRecalledMsg": 2},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        ({"GroupId": group_id, "ReqMsgNumber": 0}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": "@TGS#2NOSUCH", "ReqMsgNumber": 2}, ErrorCode.GROUP_NOT_FOUND),
        (
            {"GroupId": await make_group(app, "gsa", [], kind="AVChatRoom"), "ReqMsgNumber": 2},
            ErrorCode.GROUP_NO_PERMISSION,
        ),
    ]
    for body, code in refusals:
        refused = await app.rest(SVC, "group_msg_get_simple", body)
        assert (refused["ActionStatus"], refused["ErrorCode"]) == ("FAIL", code), (body, refused)
