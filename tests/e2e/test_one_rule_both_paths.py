"""One rule table for join, leave, recall and send, run through both ways in: a client's op over
the WebSocket (an SDK client on the real socket) and the app server's REST v4 command. Both call
the same handler (services/gateway/handlers/), so each rule answers the same on both paths; the
few rows where Tencent gives the app server more rights than a client say so and why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, new_app
from tidings_client import Client, Message, TidingsClientError

pytestmark = pytest.mark.stack

GROUPS = "group_open_http_svc"
JOINED, ALREADY = "joined", "already a member"
# add_group_member's Result per account.
RESULTS = {0: "not added", 1: JOINED, 2: ALREADY}
NO_GROUP = "@TGS#no_such_group"

Outcome = int | str


@dataclass
class World:
    app: AppUnderTest
    clients: dict[str, Client]
    full: str
    open: str
    recalled_group_seq: int
    recalled_c2c: Message


Path = Callable[[World], Awaitable[Outcome]]


def gid(w: World, group: str) -> str:
    """The world's group of that name ("full", "open"), or `group` as given."""
    return {"full": w.full, "open": w.open}.get(group, group)


@dataclass(frozen=True)
class Rule:
    name: str
    ws: Path
    rest: Path
    outcome: Outcome
    # Where Tencent lets an app server do what a client may not: its outcome, and why.
    rest_outcome: Outcome | None = None
    why: str = ""


async def by_client(call: Awaitable[Any]) -> Outcome:
    try:
        result = await call
    except TidingsClientError as err:
        return err.code
    if isinstance(result, bool):
        return JOINED if result else ALREADY
    return 0


async def by_rest(w: World, service: str, command: str, body: dict[str, Any]) -> Outcome:
    reply = await w.app.rest(service, command, body)
    code = int(reply["ErrorCode"])
    if code or command != "add_group_member":
        return code
    return RESULTS[reply["MemberList"][0]["Result"]]


def ws_join(user: str, group: str) -> Path:
    return lambda w: by_client(w.clients[user].join_group(gid(w, group)))


def rest_add(user: str, group: str) -> Path:
    def add(w: World) -> Awaitable[Outcome]:
        member_list = [{"Member_Account": user}]
        body = {"GroupId": gid(w, group), "MemberList": member_list}
        return by_rest(w, GROUPS, "add_group_member", body)

    return add


def ws_send(user: str, group: str | None = None, to: str | None = None) -> Path:
    return lambda w: by_client(
        w.clients[user].send(group=gid(w, group) if group else None, to=to, text="hi")
    )


def rest_group_send(user: str, group: str) -> Path:
    return lambda w: by_rest(
        w,
        GROUPS,
        "send_group_msg",
        {
            "GroupId": gid(w, group),
            "From_Account": user,
            "Random": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        },
    )


def group_message(w: World, seq: int) -> Message:
    return Message(f"group:{w.open}", seq, "member", "", w.open, 0, "", "")


async def rest_group_recall(w: World, seq: int) -> Outcome:
    reply = await w.app.rest(
        GROUPS, "group_msg_recall", {"GroupId": w.open, "MsgSeqList": [{"MsgSeq": seq}]}
    )
    return int(reply["ErrorCode"]) or int(reply["RecallRetList"][0]["RetCode"])


async def rest_c2c_recall(w: World) -> Outcome:
    m = w.recalled_c2c
    body = {"From_Account": m.sender, "To_Account": m.to, "MsgKey": m.msg_key}
    return await by_rest(w, "openim", "admin_msgwithdraw", body)


async def rest_c2c_send(w: World) -> Outcome:
    return await by_rest(w, "openim", "sendmsg", c2c_body("member", "stranger", 9))


def c2c_body(sender: str, to: str, random: int) -> dict[str, Any]:
    return {
        "From_Account": sender,
        "To_Account": to,
        "MsgRandom": random,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
    }


RULES = [
    Rule(
        "join a full group",
        ws_join("outsider", "full"),
        rest_add("outsider", "full"),
        ErrorCode.GROUP_FULL,
    ),
    Rule(
        "join past the joined-groups quota",
        ws_join("quota", "open"),
        rest_add("quota", "open"),
        ErrorCode.GROUP_JOINED_LIMIT,
    ),
    Rule("join a group one is in", ws_join("member", "open"), rest_add("member", "open"), ALREADY),
    Rule(
        "join a group that does not exist",
        ws_join("outsider", NO_GROUP),
        rest_add("outsider", NO_GROUP),
        ErrorCode.GROUP_NOT_FOUND,
    ),
    Rule(
        "the owner leaves",
        lambda w: by_client(w.clients["owner"].quit_group(w.open)),
        lambda w: by_rest(
            w, GROUPS, "delete_group_member", {"GroupId": w.open, "MemberToDel_Account": ["owner"]}
        ),
        ErrorCode.GROUP_OWNER_CANNOT_QUIT,
        ErrorCode.GROUP_INVALID_PARAM,
        "Tencent's 10009 is the owner's own quit; it documents no code for removing the owner",
    ),
    Rule(
        "recall a recalled group message",
        lambda w: by_client(w.clients["member"].recall(group_message(w, w.recalled_group_seq))),
        lambda w: rest_group_recall(w, w.recalled_group_seq),
        ErrorCode.GROUP_MSG_ALREADY_RECALLED,
    ),
    Rule(
        "recall a group message that does not exist",
        lambda w: by_client(w.clients["member"].recall(group_message(w, 9999))),
        lambda w: rest_group_recall(w, 9999),
        ErrorCode.GROUP_MSG_NOT_FOUND,
    ),
    Rule(
        "recall a recalled C2C message",
        lambda w: by_client(w.clients["member"].recall(w.recalled_c2c)),
        rest_c2c_recall,
        ErrorCode.MSG_ALREADY_RECALLED,
    ),
    Rule(
        "send to a group as a non-member",
        ws_send("outsider", group="open"),
        rest_group_send("outsider", "open"),
        ErrorCode.GROUP_NO_PERMISSION,
    ),
    Rule(
        "send to a group that does not exist",
        ws_send("member", group=NO_GROUP),
        rest_group_send("member", NO_GROUP),
        ErrorCode.GROUP_NOT_FOUND,
    ),
    Rule(
        "send to a group while muted",
        ws_send("muted", group="open"),
        rest_group_send("muted", "open"),
        ErrorCode.GROUP_SENDER_MUTED,
        0,
        "Tencent's send_group_msg lets the app server name any member as the sender",
    ),
    Rule(
        "send C2C to a stranger with the friend check on",
        ws_send("member", to="stranger"),
        rest_c2c_send,
        ErrorCode.MSG_NOT_FRIENDS,
        0,
        "Tencent's sendmsg checks neither friends nor blocklists",
    ),
]


async def make_world(stack: Any) -> World:
    # Developer: 50 joined groups a user, so the quota is cheap to reach.
    app = await new_app(stack, edition="Developer", c2c_friend_check=True)
    users = ["owner", "member", "outsider", "quota", "muted", "stranger", "q_owner"]
    await app.put_accounts(*users)

    async def create(owner: str, kind: str, members: list[str], **extra: Any) -> str:
        body = {"Owner_Account": owner, "Type": kind, "Name": "g", **extra}
        body["MemberList"] = [{"Member_Account": m} for m in members]
        reply = await app.rest(GROUPS, "create_group", body)
        assert reply["ErrorCode"] == 0, reply
        return str(reply["GroupId"])

    full = await create("owner", "Meeting", ["member"], MaxMemberCount=2)
    open_group = await create("owner", "Meeting", ["member", "muted"])
    for _ in range(50):
        await create("q_owner", "Work", ["quota"])
    muted = await app.rest(
        GROUPS,
        "forbid_send_msg",
        {"GroupId": open_group, "Members_Account": ["muted"], "MuteTime": 3600},
    )
    assert muted["ErrorCode"] == 0, muted
    clients = {u: await app.connect(u) for u in ("owner", "member", "outsider", "quota", "muted")}
    group_ack = await clients["member"].send(group=open_group, text="to recall")
    c2c = await app.rest("openim", "sendmsg", c2c_body("member", "owner", 1))
    assert c2c["ErrorCode"] == 0, c2c
    recalled_c2c = Message(
        f"c2c:{c2c['MsgKey']}", c2c["MsgSeq"], "member", "owner", "", 0, c2c["MsgKey"], ""
    )
    world = World(app, clients, full, open_group, group_ack.seq, recalled_c2c)
    assert await rest_group_recall(world, group_ack.seq) == 0
    assert await rest_c2c_recall(world) == 0
    return world


async def test_each_rule_answers_the_same_over_websocket_and_rest(stack: Any) -> None:
    w = await make_world(stack)
    try:
        differ = []
        for rule in RULES:
            ws, rest = await rule.ws(w), await rule.rest(w)
            expected_rest = rule.outcome if rule.rest_outcome is None else rule.rest_outcome
            if (ws, rest) != (rule.outcome, expected_rest):
                differ.append(f"{rule.name}: ws {ws}, rest {rest}")
        assert not differ, differ
    finally:
        for c in w.clients.values():
            await c.close()
