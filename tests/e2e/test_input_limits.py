"""Bounds on input and on what one client may cost: integers out of their range get the
caller's invalid-parameter code (never an internal error), a connection sending frames too
fast is cut off, and so is one that does not read what is delivered to it. Every other client
keeps being served throughout."""

from __future__ import annotations

import asyncio
import copy
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, eventually
from tidings_client import TidingsClientError

pytestmark = pytest.mark.stack

U64_MAX = 2**64 - 1
# What an out-of-range number used to answer: internal errors, and not one of them may come.
INTERNAL = {60008, 20005, 90994, 91000, 70500, 10002}
TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


async def login(app: AppUnderTest, user: str, **connect_args: Any) -> ClientConnection:
    ws = await connect(app.stack.ws_url, **connect_args)
    frame = {"op": "login", "id": 0, "sdkappid": app.sdkappid, "identifier": user}
    await ws.send(orjson.dumps({**frame, "usersig": app.sig(user)}).decode())
    assert (await recv(ws))["code"] == 0
    return ws


async def still_served(app: AppUnderTest, sender: str, to: str) -> None:
    """A fresh pair of SDK clients exchanges a message through the same gateway."""
    a, b = await app.connect(sender), await app.connect(to)
    try:
        ack = await a.send(to=to, text="still up")
        # A new client first gets what its user has not read yet; the new message comes last.
        inbox = aiter(b.messages())
        got = await asyncio.wait_for(anext(inbox), 10)
        while got.seq < ack.seq:
            got = await asyncio.wait_for(anext(inbox), 10)
        assert (got.seq, got.text) == (ack.seq, "still up")
    finally:
        await a.close()
        await b.close()


# ---- the probe's inputs ------------------------------------------------------------------


async def test_ws_numbers_out_of_range_are_bad_frames_and_the_connection_serves_on(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("gus", "hana")
    hana = await app.connect("hana")
    try:
        sent = await hana.send(to="gus", text="to report")
    finally:
        await hana.close()
    group = (
        await app.rest(
            "group_open_http_svc",
            "create_group",
            {"Owner_Account": "gus", "Type": "Public", "Name": "g"},
        )
    )["GroupId"]
    probes: list[dict[str, Any]] = [
        {"op": "sync", "peer": "hana", "after_seq": U64_MAX},
        {"op": "sync", "peer": "hana", "limit": U64_MAX},
        {"op": "sync", "group": group, "after_seq": -1},
        {"op": "send", "to": "hana", "text": "x", "random": U64_MAX},
        {"op": "send", "to": "hana", "text": "x", "random": -1},
        {"op": "send", "group": group, "text": "x", "random": 2**32},
        {"op": "recall", "peer": "hana", "seq": U64_MAX},
        {"op": "read", "peer": "hana", "seq": U64_MAX},
        {"op": "read", "group": group, "seq": -1},
        {"op": "read_members", "group": group, "seq": U64_MAX},
        {"op": "report", "peer": "hana", "seq": U64_MAX, "reason": "spam"},
        {"op": "conversations", "limit": U64_MAX},
    ]
    ws = await login(app, "gus")
    try:
        for i, probe in enumerate(probes, start=1):
            await ws.send(orjson.dumps({**probe, "id": i}).decode())
            reply = await recv(ws)
            assert (reply["op"], reply["id"], reply["code"]) == ("error", i, 4400), (probe, reply)
            named = next(k for k, v in probe.items() if isinstance(v, int))
            assert named in reply["message"] and "[" in reply["message"], reply
        # The same connection goes on: a ping, a real read mark and a real report.
        await ws.send(orjson.dumps({"op": "ping", "id": 100}).decode())
        assert (await recv(ws)) == {"op": "pong", "id": 100}
        await ws.send(orjson.dumps({"op": "read", "id": 101, "peer": "hana", "seq": sent.seq}))
        assert (await recv(ws))["code"] == 0
        report = {"op": "report", "id": 102, "peer": "hana", "seq": sent.seq, "reason": "spam"}
        await ws.send(orjson.dumps(report).decode())
        assert (await recv(ws))["code"] == 0
    finally:
        await ws.close()
    # A login's sdkappid out of range, on a connection of its own.
    async with connect(app.stack.ws_url) as ws:
        bad = {"op": "login", "id": 1, "sdkappid": U64_MAX, "identifier": "gus", "usersig": "x"}
        await ws.send(orjson.dumps(bad).decode())
        assert (await recv(ws))["code"] == ErrorCode.WS_BAD_FRAME
    await still_served(app, "hana", "gus")


async def test_ws_protobuf_numbers_past_64_bits_are_bad_frames_not_internal_errors(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("ida", "jo")
    client = await app.connect("ida", encoding="proto")
    try:
        # Struct numbers are doubles: 1e30 used to become an int too large for anything.
        for frame in (
            {"op": "send", "to": "jo", "text": "x", "random": 1e30},
            {"op": "read", "peer": "jo", "seq": 1e300},
        ):
            with pytest.raises(TidingsClientError) as err:
                await client.request(frame)
            assert err.value.code == ErrorCode.WS_BAD_FRAME, err.value
        # A MsgBody may hold such a number: it is a float, written back out as one.
        elements = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "d", "n": 1e300}}]
        ack = await client.send(to="jo", elements=elements)
        assert ack.seq == 1
    finally:
        await client.close()


async def test_rest_numbers_out_of_range_get_the_commands_invalid_parameter_code(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("kai", "lea")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": "kai", "To_Account": "lea", "MsgRandom": 1, "MsgBody": TEXT},
    )
    assert sent["ErrorCode"] == 0
    group = (
        await app.rest(
            "group_open_http_svc",
            "create_group",
            {"Owner_Account": "kai", "Type": "Public", "Name": "g"},
        )
    )["GroupId"]
    probes: list[tuple[str, str, dict[str, Any], int, str]] = [
        (
            "openim",
            "admin_getroammsg",
            {
                "Operator_Account": "kai",
                "Peer_Account": "lea",
                "MaxCnt": 10,
                "MinTime": 0,
                "MaxTime": U64_MAX,
            },
            ErrorCode.OPENIM_JSON_FIELDS,
            "MaxTime",
        ),
        (
            "openim",
            "admin_msgwithdraw",
            {"From_Account": "kai", "To_Account": "lea", "MsgKey": f"{2**70}_{2**70}_1"},
            ErrorCode.OPENIM_BAD_MSG_KEY,
            "MsgKey",
        ),
        (
            "openim",
            "admin_set_msg_read",
            {"Report_Account": "lea", "Peer_Account": "kai", "MsgReadTime": U64_MAX},
            ErrorCode.OPENIM_JSON_FIELDS,
            "MsgReadTime",
        ),
        (
            "group_open_http_svc",
            "group_msg_get_simple",
            {"GroupId": group, "ReqMsgNumber": 5, "ReqMsgSeq": U64_MAX},
            ErrorCode.GROUP_INVALID_PARAM,
            "ReqMsgSeq",
        ),
    ]
    for service, command, body, code, field in probes:
        reply = await app.rest(service, command, body)
        assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", code), (command, reply)
        assert field in reply["ErrorInfo"], reply
    # The message the bad MsgKey could not name is still there, and can be recalled.
    recalled = await app.rest(
        "openim",
        "admin_msgwithdraw",
        {"From_Account": "kai", "To_Account": "lea", "MsgKey": sent["MsgKey"]},
    )
    assert recalled["ErrorCode"] == 0, recalled


# ---- every integer field of every REST command ----------------------------------------------


@dataclass(frozen=True)
class Field:
    """One integer field: how to build a request carrying `value` in it, the code an
    out-of-range value gets, and the name the refusal mentions."""

    service: str
    command: str
    body: Callable[[Any], dict[str, Any]]
    code: int
    name: str
    # Batch commands (friend_update) answer per item: where to read the item's code and info.
    item: str | None = None


def at(base: dict[str, Any], *path: str | int) -> Callable[[Any], dict[str, Any]]:
    def body(value: Any) -> dict[str, Any]:
        out = copy.deepcopy(base)
        node: Any = out
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return out

    return body


def fields_of(
    service: str,
    command: str,
    base: dict[str, Any],
    code: int,
    *paths: tuple[str | int, ...],
    item: str | None = None,
) -> list[Field]:
    return [Field(service, command, at(base, *path), code, str(path[-1]), item) for path in paths]


def msg_key_fields(command: str, key: str) -> list[Field]:
    """The three numbers inside a MsgKey ("random_seq_time")."""
    random, seq, time_s = key.split("_")
    bodies = (
        lambda v: f"{v}_{seq}_{time_s}",
        lambda v: f"{random}_{v}_{time_s}",
        lambda v: f"{random}_{seq}_{v}",
    )
    return [
        Field(
            "openim",
            command,
            lambda v, make=make: {"From_Account": "ann", "To_Account": "bo", "MsgKey": make(v)},
            ErrorCode.OPENIM_BAD_MSG_KEY,
            "MsgKey",
        )
        for make in bodies
    ]


def rest_integer_fields(group: str, msg_key: str, now: int) -> list[Field]:
    bad_openim, bad_group, bad_sns = (
        ErrorCode.OPENIM_JSON_FIELDS,
        ErrorCode.GROUP_INVALID_PARAM,
        ErrorCode.SNS_INVALID_PARAM,
    )
    send = {"From_Account": "ann", "To_Account": "bo", "MsgRandom": 1, "MsgBody": TEXT}
    batch = {**send, "To_Account": ["bo"]}
    imported = {**send, "SyncFromOldSystem": 2, "MsgTimeStamp": now - 100}
    roam = {"Operator_Account": "ann", "Peer_Account": "bo", "MaxCnt": 5, "MinTime": 0}
    roam["MaxTime"] = now
    friend = {"To_Account": "bo", "AddSource": "AddSource_Type_Web", "AddTime": now}
    friend.update(RemarkTime=now, CustomItem=[{"Tag": "Tag_SNS_Custom_Level", "Value": 1}])
    custom_update = {"To_Account": "bo", "SnsItem": [{"Tag": "Tag_SNS_Custom_Level", "Value": 2}]}
    return [
        *fields_of("openim", "sendmsg", send, bad_openim, ("SyncOtherMachine",), ("MsgSeq",)),
        *fields_of("openim", "sendmsg", send, ErrorCode.OPENIM_NO_MSG_RANDOM, ("MsgRandom",)),
        *fields_of("openim", "batchsendmsg", batch, bad_openim, ("SyncOtherMachine",), ("MsgSeq",)),
        *fields_of("openim", "batchsendmsg", batch, ErrorCode.OPENIM_NO_MSG_RANDOM, ("MsgRandom",)),
        *fields_of(
            "openim",
            "importmsg",
            imported,
            bad_openim,
            ("SyncFromOldSystem",),
            ("MsgSeq",),
            ("MsgTimeStamp",),
        ),
        *fields_of("openim", "importmsg", imported, ErrorCode.OPENIM_NO_MSG_RANDOM, ("MsgRandom",)),
        *fields_of(
            "openim", "admin_getroammsg", roam, bad_openim, ("MaxCnt",), ("MinTime",), ("MaxTime",)
        ),
        *fields_of(
            "openim",
            "admin_getroammsg",
            roam,
            bad_openim,
            ("LastMsgKey",),
        ),
        *fields_of(
            "openim",
            "admin_set_msg_read",
            {"Report_Account": "bo", "Peer_Account": "ann"},
            bad_openim,
            ("MsgReadTime",),
        ),
        *msg_key_fields("admin_msgwithdraw", msg_key),
        *msg_key_fields("modify_c2c_msg", msg_key),
        *fields_of(
            "openim",
            "querystate",
            {"To_Account": ["ann"]},
            ErrorCode.ACCOUNT_INVALID_PARAM,
            ("IsNeedDetail",),
        ),
        *fields_of(
            "recentcontact",
            "get_list",
            {"From_Account": "ann"},
            bad_openim,
            ("StartIndex",),
            ("TopStartIndex",),
            ("AssistFlags",),
            ("TimeStamp",),
            ("TopTimeStamp",),
        ),
        *fields_of(
            "recentcontact",
            "delete",
            {"From_Account": "ann", "Type": 1, "To_Account": "bo"},
            bad_openim,
            ("Type",),
            ("ClearRamble",),
        ),
        *fields_of(
            "openconfigsvr",
            "setnospeaking",
            {"Set_Account": "muted"},
            ErrorCode.NOSPEAKING_JSON,
            ("C2CmsgNospeakingTime",),
            ("GroupmsgNospeakingTime",),
        ),
        Field(
            "profile",
            "portrait_set",
            lambda v: {
                "From_Account": "ann",
                "ProfileItem": [{"Tag": "Tag_Profile_IM_Level", "Value": v}],
            },
            ErrorCode.PROFILE_VALUE_ERROR,
            "Tag_Profile_IM_Level",
        ),
        *fields_of(
            "group_open_http_svc",
            "create_group",
            {"Owner_Account": "ann", "Type": "Public", "Name": "n"},
            bad_group,
            ("MaxMemberCount",),
            ("SupportTopic",),
        ),
        *fields_of(
            "group_open_http_svc",
            "import_group",
            {"Owner_Account": "ann", "Type": "Public", "Name": "n"},
            bad_group,
            ("CreateTime",),
            ("MaxMemberCount",),
        ),
        *fields_of(
            "group_open_http_svc",
            "get_appid_group_list",
            {},
            bad_group,
            ("Limit",),
            ("Next",),
        ),
        *fields_of(
            "group_open_http_svc",
            "modify_group_base_info",
            {"GroupId": group},
            bad_group,
            ("MaxMemberNum",),
        ),
        *fields_of(
            "group_open_http_svc",
            "add_group_member",
            {"GroupId": group, "MemberList": [{"Member_Account": "cy"}]},
            bad_group,
            ("Silence",),
        ),
        *fields_of(
            "group_open_http_svc",
            "import_group_member",
            {"GroupId": group, "MemberList": [{"Member_Account": "cy"}]},
            bad_group,
            ("MemberList", 0, "JoinTime"),
            ("MemberList", 0, "UnreadMsgNum"),
        ),
        *fields_of(
            "group_open_http_svc",
            "delete_group_member",
            {"GroupId": group, "MemberToDel_Account": ["nobody"]},
            bad_group,
            ("Silence",),
        ),
        *fields_of(
            "group_open_http_svc",
            "modify_group_member_info",
            {"GroupId": group, "Member_Account": "bo"},
            bad_group,
            ("ShutUpTime",),
        ),
        *fields_of(
            "group_open_http_svc",
            "get_group_member_info",
            {"GroupId": group},
            bad_group,
            ("Limit",),
            ("Offset",),
        ),
        *fields_of(
            "group_open_http_svc",
            "get_joined_group_list",
            {"Member_Account": "ann"},
            bad_group,
            ("Limit",),
            ("Offset",),
            ("WithHugeGroups",),
            ("WithNoActiveGroups",),
        ),
        *fields_of(
            "group_open_http_svc",
            "forbid_send_msg",
            {"GroupId": group, "Members_Account": ["bo"]},
            bad_group,
            ("ShutUpTime",),
        ),
        *fields_of(
            "group_open_http_svc",
            "send_group_msg",
            {"GroupId": group, "From_Account": "ann", "Random": 1, "MsgBody": TEXT},
            bad_group,
            ("Random",),
        ),
        *fields_of(
            "group_open_http_svc",
            "import_group_msg",
            {
                "GroupId": group,
                "MsgList": [{"From_Account": "ann", "SendTime": now, "Random": 1, "MsgBody": TEXT}],
            },
            bad_group,
            ("RecentContactFlag",),
            ("MsgList", 0, "SendTime"),
            ("MsgList", 0, "Random"),
        ),
        *fields_of(
            "group_open_http_svc",
            "group_msg_get_simple",
            {"GroupId": group, "ReqMsgNumber": 5},
            bad_group,
            ("ReqMsgNumber",),
            ("ReqMsgSeq",),
        ),
        *fields_of(
            "group_open_http_svc",
            "group_msg_recall",
            {"GroupId": group, "MsgSeqList": [{"MsgSeq": 1}]},
            bad_group,
            ("MsgSeqList", 0, "MsgSeq"),
        ),
        *fields_of(
            "group_open_http_svc",
            "set_unread_msg_num",
            {"GroupId": group, "Member_Account": "bo"},
            bad_group,
            ("UnreadMsgNum",),
        ),
        *fields_of(
            "sns",
            "friend_add",
            {
                "From_Account": "ann",
                "AddFriendItem": [{"To_Account": "cy", "AddSource": "AddSource_Type_Web"}],
            },
            bad_sns,
            ("ForceAddFlags",),
        ),
        *fields_of(
            "sns",
            "friend_import",
            {"From_Account": "ann", "AddFriendItem": [friend]},
            bad_sns,
            ("AddFriendItem", 0, "AddTime"),
            ("AddFriendItem", 0, "RemarkTime"),
            ("AddFriendItem", 0, "CustomItem", 0, "Value"),
        ),
        *fields_of(
            "sns",
            "friend_update",
            {"From_Account": "ann", "UpdateItem": [custom_update]},
            bad_sns,
            ("UpdateItem", 0, "SnsItem", 0, "Value"),
            item="ResultItem",
        ),
        *fields_of(
            "sns",
            "friend_get",
            {"From_Account": "ann", "StartIndex": 0},
            bad_sns,
            ("StartIndex",),
            ("StandardSequence",),
            ("CustomSequence",),
        ),
        *fields_of(
            "sns",
            "black_list_get",
            {"From_Account": "ann", "StartIndex": 0, "MaxLimited": 10},
            bad_sns,
            ("StartIndex",),
            ("MaxLimited",),
            ("LastSequence",),
        ),
        *fields_of(
            "all_member_push",
            "im_push",
            {"From_Account": "ann", "MsgRandom": 1, "MsgBody": TEXT},
            ErrorCode.OPENIM_NO_MSG_RANDOM,
            ("MsgRandom",),
        ),
        *fields_of(
            "all_member_push",
            "im_push",
            {"From_Account": "ann", "MsgRandom": 1, "MsgBody": TEXT},
            ErrorCode.PUSH_LIFETIME_INVALID,
            ("MsgLifeTime",),
        ),
        Field(
            "all_member_push",
            "im_set_attr_name",
            lambda v: {"AttrNames": {str(v): "sex"}},
            ErrorCode.PUSH_ATTR_INVALID,
            "attribute number",
        ),
    ]


def outcome(reply: dict[str, Any], item: str | None) -> tuple[int, str]:
    if item is None:
        return reply["ErrorCode"], reply["ErrorInfo"]
    first = reply[item][0]
    return first["ResultCode"], first["ResultInfo"]


async def test_every_integer_field_of_every_rest_command_is_range_checked(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("ann", "bo", "cy", "muted")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": "ann", "To_Account": "bo", "MsgRandom": 1, "MsgBody": TEXT},
    )
    imported = await app.rest(
        "sns",
        "friend_import",
        {
            "From_Account": "ann",
            "AddFriendItem": [{"To_Account": "bo", "AddSource": "AddSource_Type_Web"}],
        },
    )
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "ann",
            "Type": "Public",
            "Name": "sweep",
            "MemberList": [{"Member_Account": "bo"}],
        },
    )
    assert sent["ErrorCode"] == imported["ErrorCode"] == created["ErrorCode"] == 0
    table = rest_integer_fields(created["GroupId"], sent["MsgKey"], int(time.time()))
    failures: list[str] = []
    for f in table:
        for value in (U64_MAX, -1, 2**31):
            reply = await app.rest(f.service, f.command, f.body(value))
            case = f"{f.command} {f.name}={value}: {reply}"
            if not isinstance(reply.get("ErrorCode"), int) or reply["ErrorCode"] in INTERNAL:
                failures.append(case)
                continue
            if value == 2**31:
                # In some ranges and not in others: any answer but an internal error.
                continue
            code, info = outcome(reply, f.item)
            if code != f.code or f.name not in info:
                failures.append(case)
    assert not failures, "\n".join(failures)
    # The gateway served all of it and serves on.
    await still_served(app, "ann", "bo")


# ---- one client's cost: frames in, deliveries out ------------------------------------------


async def test_a_connection_over_the_frame_rate_is_cut_off_and_others_are_served(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("mo", "ned")
    ws = await login(app, "mo")
    # The probe's flood: the same bad read, as fast as the socket takes it.
    flood = orjson.dumps({"op": "read", "peer": "ned", "seq": U64_MAX}).decode()
    started = time.monotonic()
    try:
        for _ in range(5000):
            await ws.send(flood)
    except ConnectionClosed:
        pass
    codes, close_code = await codes_until_closed(ws)
    elapsed = time.monotonic() - started
    assert codes[-1] == ErrorCode.WS_FRAME_RATE
    # The default burst (1,000) and then 200 a second: the flood gets no further.
    assert set(codes[:-1]) == {ErrorCode.WS_BAD_FRAME}
    assert 1000 <= len(codes) - 1 <= 1000 + 200 * elapsed + 1, (len(codes), elapsed)
    assert close_code == 1008
    await still_served(app, "ned", "mo")


async def codes_until_closed(ws: ClientConnection) -> tuple[list[int], int | None]:
    """The codes of every frame left to read, and the close code the server sent."""
    codes: list[int] = []
    try:
        while True:
            codes.append((await recv(ws))["code"])
    except ConnectionClosed as closed:
        return codes, closed.rcvd.code if closed.rcvd else None


def small_receive_buffer(url: str) -> socket.socket:
    """A connected socket that takes little before TCP pushes back on the sender."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return sock


async def online(app: AppUnderTest, user: str) -> bool:
    reply = await app.rest("openim", "querystate", {"To_Account": [user]})
    return bool(reply["QueryResult"][0]["Status"] == "Online")


async def cut_off(app: AppUnderTest, user: str) -> bool:
    """Whether the user's session ends within a few seconds."""

    async def offline() -> bool:
        return not await online(app, user)

    try:
        return bool(await eventually(offline, timeout=5, interval=0.2))
    except AssertionError:  # conftest's eventually may raise when time runs out
        return False


async def test_a_client_that_does_not_read_is_cut_off_and_others_are_served(
    app: AppUnderTest,
) -> None:
    senders = [f"s{i}" for i in range(6)]
    await app.import_accounts("stalled", "ok1", "ok2", *senders)
    # Logged in, then never reads again; nor does its library (one frame queued at most).
    ws = await login(
        app,
        "stalled",
        sock=small_receive_buffer(app.stack.ws_url),
        max_queue=1,
        max_size=None,
    )
    clients = [await app.connect(s) for s in senders]
    text = "x" * 10_000
    sent = 0
    try:
        # ~10 KB messages, 1,000 per round, until the gateway cuts the client off: with the
        # 1 MiB outbox that is once the kernel's socket buffers are full too (a few MB). The
        # old limit, 10,000 messages, would have held 100 MB for it.
        for _ in range(6):
            results = await asyncio.gather(
                *(
                    c.send(to="stalled", text=text, client_msg_id=f"{i}-{sent}-{n}")
                    for n in range(1000 // len(clients))
                    for i, c in enumerate(clients)
                ),
                return_exceptions=True,
            )
            assert not [r for r in results if isinstance(r, BaseException)]
            sent += len(results)
            if await cut_off(app, "stalled"):
                break
        assert not await online(app, "stalled"), f"still online after {sent} messages"
        assert sent <= 3000, sent
    finally:
        for c in clients:
            await c.close()
        await ws.close()
    await still_served(app, "ok1", "ok2")
