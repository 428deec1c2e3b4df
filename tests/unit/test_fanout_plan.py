"""Fan-out and delivery, the pure parts (no Redis, no broker, no sockets): who goes to which
gateway node, who is offline and pushable, the one request per node carrying each message once,
and on the gateway, which connections get which messages and which frames are encoded once."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

import orjson
import pytest
from picows import WSMsgType

from services.common import presence
from services.common.pb.tidings.v1 import gateway_pb2
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_GROUP_TIPS,
    MESSAGE_KIND_RECALL,
    SOURCE_REST,
    Message,
    MsgElement,
    PushJob,
)
from services.common.store.groups import GroupStore, Member
from services.gateway import frames_proto
from services.gateway.grpc_service import route, share
from services.gateway.sessions import JSON, PROTO, Connection, Encoding, LocalSessions, Prepared
from services.router.fanout import (
    MemberCache,
    Outgoing,
    c2c_recipients,
    group_recipients,
    plan,
    push_job,
    pushable,
    stranded,
    wanted,
)
from tests.ws_fakes import connected

APP = 1400000501
N1, N2 = "10.0.0.1:7001", "10.0.0.2:7001"


def group_msg(seq: int, sender: str = "ann", origin: str = "conn-ann", **kw: Any) -> Message:
    return Message(
        sdkappid=APP,
        conversation="group:g1",
        chat_type=CHAT_TYPE_GROUP,
        group_id="g1",
        seq=seq,
        sender=sender,
        origin_conn_id=origin,
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
        **kw,
    )


MEMBERS = [
    Member("ann"),  # the sender: online on node 1
    Member("bob"),  # node 1
    Member("cat"),  # node 2
    Member("dan"),  # both nodes (two devices)
    Member("eve"),  # offline: pushed
    Member("fay", msg_flag="AcceptNotNotify"),  # offline, asked not to be notified
    Member("gus", msg_flag="Discard"),  # gets nothing
]
ONLINE = {APP: {"ann": [N1], "bob": [N1], "cat": [N2], "dan": [N1, N2]}}


def outgoing(m: Message, members: list[Member] = MEMBERS) -> Outgoing:
    recipients = group_recipients(m, members, mark_sender=False)
    return Outgoing(m.SerializeToString(), m, recipients, (APP, m.group_id, ()))


def test_a_group_message_goes_once_to_each_node_with_its_users_there() -> None:
    m = group_msg(1)
    item = outgoing(m)
    planned = plan([item], ONLINE)
    assert set(planned.requests) == {N1, N2}
    (on1,) = planned.requests[N1].messages
    (on2,) = planned.requests[N2].messages
    # The bytes as read from im.messages, not encoded again.
    assert on1.message == item.raw and on2.message == item.raw
    assert (on1.sdkappid, list(on1.users)) == (APP, ["ann", "bob", "dan"])
    assert list(on2.users) == ["cat", "dan"]
    # The sender's other devices get it; its sending connection is skipped.
    assert list(on1.skip_conn_ids) == ["conn-ann"] == list(on2.skip_conn_ids)
    # Offline: eve is pushed; fay asked not to be; gus discards the group.
    assert [(o.message.seq, user) for o, user in planned.offline] == [(1, "eve")]


def test_a_batch_of_one_group_shares_the_work_and_keeps_the_order() -> None:
    first, second = group_msg(1), group_msg(2, sender="eve", origin="")
    shared = group_recipients(first, MEMBERS, mark_sender=False)
    key = (APP, "g1", ())
    batch = [
        Outgoing(first.SerializeToString(), first, shared, key),
        Outgoing(second.SerializeToString(), second, shared, key),
    ]
    assert wanted(batch) == {APP: ["ann", "bob", "cat", "dan", "eve", "fay"]}
    planned = plan(batch, ONLINE)
    on1 = planned.requests[N1].messages
    assert [Message.FromString(d.message).seq for d in on1] == [1, 2]
    assert list(on1[0].users) == list(on1[1].users) == ["ann", "bob", "dan"]
    # A message without an origin connection (REST) skips nothing.
    assert list(on1[1].skip_conn_ids) == []
    # The sender is never pushed its own message, whoever sent first in the batch.
    assert [(o.message.seq, user) for o, user in planned.offline] == [(1, "eve")]


def test_a_group_tip_reaches_the_members_and_those_who_just_left_and_is_never_pushed() -> None:
    tip = group_msg(3, sender="admin", kind=MESSAGE_KIND_GROUP_TIPS, to_members=["zed", "bob"])
    recipients = group_recipients(tip, MEMBERS)
    # Every member but the one who discards the group's messages, then zed, who left; bob is
    # named, but a member anyway, and told once.
    assert [r.user for r in recipients] == ["ann", "bob", "cat", "dan", "eve", "fay", "zed"]
    assert not any(pushable(tip, r) for r in recipients)


def test_nobody_online_means_no_request_and_pushes_for_the_pushable() -> None:
    m = group_msg(1)
    planned = plan([outgoing(m)], {})
    assert planned.requests == {}
    assert [user for _, user in planned.offline] == ["bob", "cat", "dan", "eve"]
    online_only = group_msg(2, online_only=True)
    assert plan([outgoing(online_only)], {}).offline == []


def test_c2c_peer_and_the_sender_s_other_devices() -> None:
    m = Message(
        sdkappid=APP,
        conversation="c2c:ann:bob",
        chat_type=CHAT_TYPE_C2C,
        sender="ann",
        to_user="bob",
        origin_conn_id="conn-ann",
        seq=3,
    )
    item = Outgoing(m.SerializeToString(), m, c2c_recipients(m))
    planned = plan([item], {APP: {"ann": [N1, N2]}})
    assert [list(d.users) for d in planned.requests[N1].messages] == [["ann"]]
    assert [list(d.users) for d in planned.requests[N2].messages] == [["ann"]]
    assert [user for _, user in planned.offline] == ["bob"]
    # A recall is never pushed; a REST send reaches the sender's devices only when asked.
    recall = Message(kind=MESSAGE_KIND_RECALL, sender="ann", to_user="bob", sdkappid=APP)
    assert plan([Outgoing(b"", recall, c2c_recipients(recall))], {}).offline == []
    rest = Message(source=SOURCE_REST, sender="ann", to_user="bob", sdkappid=APP)
    assert [r.user for r in c2c_recipients(rest)] == ["bob"]


def test_a_failed_node_s_only_users_are_pushed() -> None:
    m = group_msg(1)
    batch = [outgoing(m)]
    # Node 2 did not answer: cat was only there; dan is on node 1 too; ann is the sender.
    assert [user for _, user in stranded(batch, ONLINE, {N2})] == ["cat"]
    assert [user for _, user in stranded(batch, ONLINE, {N1})] == ["bob"]
    assert stranded(batch, ONLINE, set()) == []


def test_a_push_job_wraps_the_message_bytes_as_they_are() -> None:
    m = group_msg(7)
    raw = m.SerializeToString()
    job = PushJob.FromString(push_job(APP, "eve", raw))
    assert (job.schema_version, job.sdkappid, job.user) == (1, APP, "eve")
    assert job.message == m
    big = group_msg(8, cloud_custom_data="x" * 70_000)
    assert PushJob.FromString(push_job(APP, "u", big.SerializeToString())).message == big


def test_where_online_merges_nodes_and_leaves_out_the_offline() -> None:
    users = ["ann", "bob", "cat"]
    # Two boots of one address (a restart within the TTL) count once.
    nodes = [(N1, b"100"), (N2, b"110"), (N1, b"100")]
    assert presence.where_online(users, nodes) == {"ann": [N1, N2], "bob": [N2]}
    member = presence.node_member("10.0.0.1:7001", "b007")
    assert presence.node_addr(member) == "10.0.0.1:7001"
    key = presence.users_key(APP, member)
    # One hash tag per (app, node); the app's node list in its own slot.
    assert key.startswith(f"pres:{{{APP}:node:") and key.endswith("}")
    assert presence.nodes_key(APP) == f"pres:{{{APP}:nodes}}"


# --- the gateway -------------------------------------------------------------------------------


@dataclass(eq=False)
class FakeConn:
    conn_id: str
    encoding: Encoding = JSON


def table(conns: dict[str, list[FakeConn]]) -> Callable[[int, str], Collection[FakeConn]]:
    return lambda sdkappid, user: conns.get(user, []) if sdkappid == APP else []


def request(*deliveries: tuple[int, list[str], list[str]]) -> gateway_pb2.DeliverRequest:
    req = gateway_pb2.DeliverRequest()
    for seq, users, skip in deliveries:
        req.messages.add(
            message=group_msg(seq).SerializeToString(),
            sdkappid=APP,
            users=users,
            skip_conn_ids=skip,
        )
    return req


def test_the_gateway_routes_each_connection_its_messages_and_skips_the_echo() -> None:
    ann, ann_phone = FakeConn("conn-ann"), FakeConn("ann-phone")
    bob, cat = FakeConn("bob"), FakeConn("cat", PROTO)
    conns = {"ann": [ann, ann_phone], "bob": [bob], "cat": [cat]}
    req = request((1, ["ann", "bob", "cat", "zed"], ["conn-ann"]), (2, ["bob"], []))
    routed = route(req.messages, table(conns))
    assert routed.per_conn == {ann_phone: [0], bob: [0, 1], cat: [0]}
    # zed has no connection here; ann was reached on her phone.
    assert (routed.missed, routed.delivered[APP]) == (1, 4)


def test_frames_are_encoded_once_per_message_list_and_encoding() -> None:
    jsons = [FakeConn(f"j{i}") for i in range(3)]
    protos = [FakeConn(f"p{i}", PROTO) for i in range(2)]
    lone = FakeConn("lone")
    per_conn: dict[FakeConn, list[int]] = {c: [0, 1] for c in jsons + protos}
    per_conn[lone] = [1]
    payloads = [{"seq": 1}, {"seq": 2}]
    shared, alone = share(per_conn, payloads)
    assert len(shared) == 2
    by_kind = {s.frame.opcode: s for s in shared}
    text = by_kind[WSMsgType.TEXT]
    assert text.conns == jsons and text.count == 2
    assert text.frame.payload == orjson.dumps({"op": "msg", "msgs": payloads})
    binary = by_kind[WSMsgType.BINARY]
    assert binary.conns == protos
    assert frames_proto.decode_frame(binary.frame.payload, 1 << 20)["msgs"] == payloads
    # Alone with its messages: a frame of its own, encoded by the connection.
    assert alone == [(lone, [1])]


async def test_a_connection_writes_messages_and_shared_frames_in_order() -> None:
    conn, transport = connected()
    conn.log_in(APP, "bob", "Web")
    conn.deliver([{"seq": 1}, {"seq": 2}])
    conn.deliver_frame(Prepared(b'{"op":"msg","msgs":[{"seq":3},{"seq":4}]}', WSMsgType.TEXT))
    conn.deliver([{"seq": 5}])
    assert transport.payloads == [
        orjson.dumps({"op": "msg", "msgs": [{"seq": 1}, {"seq": 2}]}),
        b'{"op":"msg","msgs":[{"seq":3},{"seq":4}]}',
        orjson.dumps({"op": "msg", "msgs": [{"seq": 5}]}),
    ]


class Sink:
    def __init__(self) -> None:
        self.changed_users: list[tuple[int, str]] = []

    def changed(self, sdkappid: int, user: str) -> None:
        self.changed_users.append((sdkappid, user))

    async def written(self, sdkappid: int, user: str) -> None:
        return None


def session(sdkappid: int, user: str, platform: str) -> Connection:
    conn, _ = connected()
    conn.log_in(sdkappid, user, platform)
    return conn


def test_presence_is_told_only_when_a_user_s_first_or_last_connection_changes() -> None:
    local = LocalSessions()
    sink = Sink()
    local.watch(sink)
    phone, laptop = session(APP, "ann", "iOS"), session(APP, "ann", "Mac")
    other_app = session(APP + 1, "ann", "Web")
    local.add(phone)
    local.add(laptop)
    local.add(other_app)
    assert sink.changed_users == [(APP, "ann"), (APP + 1, "ann")]
    assert local.by_app() == {APP: ["ann"], APP + 1: ["ann"]}
    # One of two connections closes: still online here, nothing to write.
    local.remove(phone)
    assert local.has(APP, "ann") and len(sink.changed_users) == 2
    local.remove(laptop)
    assert not local.has(APP, "ann") and not local.has_app(APP) and local.has_app(APP + 1)
    assert sink.changed_users[-1] == (APP, "ann")
    assert list(local.connections(APP, "ann")) == []


class Groups:
    def __init__(self) -> None:
        self.reads = 0

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        self.reads += 1
        return MEMBERS


async def test_a_group_s_recipients_are_built_once_per_read_of_its_members() -> None:
    groups = Groups()
    cache = MemberCache(cast(GroupStore, groups))
    first = await cache.audience(APP, "g1", 1)
    again = await cache.audience(APP, "g1", 1)
    assert groups.reads == 1 and again.everyone is first.everyone
    assert first.everyone == group_recipients(group_msg(1), MEMBERS, mark_sender=False)
    assert [r.user for r in first.everyone] == ["ann", "bob", "cat", "dan", "eve", "fay"]


class ChangingGroups:
    def __init__(self) -> None:
        self.members_now = [Member("ann")]
        self.fail = False
        self.reads = 0

    async def members(self, sdkappid: int, group_id: str) -> list[Member]:
        self.reads += 1
        if self.fail:
            raise ConnectionError("store down")
        return list(self.members_now)


async def test_members_are_read_again_when_the_group_s_version_moves() -> None:
    groups = ChangingGroups()
    cache = MemberCache(cast(GroupStore, groups))
    assert [m.user_id for m in await cache.members(APP, "g1", 1)] == ["ann"]
    groups.members_now.append(Member("bob"))
    # Same version: no change was answered since the read, the list held serves.
    assert [m.user_id for m in await cache.members(APP, "g1", 1)] == ["ann"]
    assert groups.reads == 1
    # A join bumped the version before its reply: the next message sees the new member.
    assert [m.user_id for m in await cache.members(APP, "g1", 2)] == ["ann", "bob"]
    assert groups.reads == 2
    # A store that fails when the list must be read again is an outage (the batch is retried).
    groups.fail = True
    with pytest.raises(ConnectionError):
        await cache.members(APP, "g1", 3)
