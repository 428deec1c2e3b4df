"""Group records on the message path, the pure parts: which kinds take a seq (ingest), who gets
a system notification or a delete (fan-out), what the archive stores and rewrites, and how a
client sees it."""

from __future__ import annotations

from services.audit.archive import deleted_by_sender, group_activity, ttl_left
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    InboundMessage,
    Message,
    MsgElement,
)
from services.common.store.groups import Member
from services.gateway.msgbody import message_json
from services.router.fanout import NOT_PUSHED, group_recipients
from services.router.ingest import build_message, is_action

APP = 1400000301


def group_msg(
    seq: int, sender: str = "ann", time_ms: int = 1_700_000_000_000, **kw: object
) -> Message:
    return Message(
        sdkappid=APP,
        conversation="group:g1",
        chat_type=CHAT_TYPE_GROUP,
        group_id="g1",
        seq=seq,
        sender=sender,
        server_time_ms=time_ms,
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
        cloud_custom_data="cd",
        **kw,  # type: ignore[arg-type]
    )


def test_notifications_and_deletes_take_no_seq_and_keep_their_targets() -> None:
    notify = InboundMessage(kind=MESSAGE_KIND_SYSTEM_NOTIFICATION, to_members=["ann", "bob"])
    assert is_action(notify)
    assert is_action(InboundMessage(kind=MESSAGE_KIND_DELETE_BY_SENDER))
    assert is_action(InboundMessage(kind=MESSAGE_KIND_RECALL))
    assert not is_action(InboundMessage(kind=MESSAGE_KIND_MESSAGE))
    built = build_message(notify, 0, 1, 2)
    assert (built.kind, built.seq, list(built.to_members)) == (
        MESSAGE_KIND_SYSTEM_NOTIFICATION,
        0,
        ["ann", "bob"],
    )


def test_a_system_notification_reaches_the_listed_members_live_only() -> None:
    members = [Member("ann"), Member("bob", msg_flag="AcceptNotNotify"), Member("cat")]
    everyone = Message(kind=MESSAGE_KIND_SYSTEM_NOTIFICATION, sender="administrator")
    assert [r.user for r in group_recipients(everyone, members)] == ["ann", "bob", "cat"]
    listed = Message(
        kind=MESSAGE_KIND_SYSTEM_NOTIFICATION, sender="administrator", to_members=["cat", "zed"]
    )
    assert [r.user for r in group_recipients(listed, members)] == ["cat"]
    assert MESSAGE_KIND_SYSTEM_NOTIFICATION in NOT_PUSHED
    discarding = [Member("ann", msg_flag="Discard")]
    assert group_recipients(everyone, discarding) == []


def test_deletes_and_silent_imports_reach_no_device() -> None:
    members = [Member("ann"), Member("bob")]
    assert (
        group_recipients(Message(kind=MESSAGE_KIND_DELETE_BY_SENDER, sender="ann"), members) == []
    )
    assert group_recipients(group_msg(1, silent=True), members) == []
    assert [r.user for r in group_recipients(group_msg(1), members)] == ["ann", "bob"]


def test_group_activity_once_per_group() -> None:
    stored = [
        group_msg(3, time_ms=1_700_000_005_900),
        group_msg(4, time_ms=1_700_000_001_000),
        Message(
            sdkappid=APP, chat_type=CHAT_TYPE_GROUP, group_id="g2", seq=8, server_time_ms=5_000
        ),
        Message(sdkappid=APP, chat_type=CHAT_TYPE_C2C, conversation="c2c:a:b", seq=9),
    ]
    # Time in seconds, never moved back by an older (imported) message; next seq after the
    # highest; C2C messages are not groups.
    assert group_activity(stored) == {(APP, "g1"): (1_700_000_005, 5), (APP, "g2"): (5, 9)}


def test_delete_by_sender_flags_and_empties_that_sender_s_messages() -> None:
    window = [group_msg(1), group_msg(2, sender="bob"), group_msg(3), group_msg(4, deleted=True)]
    gone = deleted_by_sender(window, "ann")
    assert [m.seq for m in gone] == [1, 3]
    assert all(m.deleted and not m.elements and not m.cloud_custom_data for m in gone)
    # The originals are untouched, and a second pass finds nothing more to do.
    assert window[0].elements and not window[0].deleted
    assert deleted_by_sender(gone, "ann") == []


def test_ttl_left_never_extends_retention() -> None:
    assert ttl_left(7 * 86400, 1_000_000_000, 1_000_000 + 86400) == 6 * 86400
    assert ttl_left(86400, 0, 10 * 86400) == 1


def test_clients_see_system_notifications_and_deletions() -> None:
    notify = Message(
        kind=MESSAGE_KIND_SYSTEM_NOTIFICATION,
        group_id="g1",
        conversation="group:g1",
        elements=[MsgElement(msg_type="TIMCustomElem", content_json=b'{"Data":"hello"}')],
    )
    frame = message_json(notify)
    assert (frame["kind"], frame["seq"], frame["group"]) == ("system", 0, "g1")
    assert frame["elements"] == [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "hello"}}]
    deleted = message_json(deleted_by_sender([group_msg(5)], "ann")[0])
    assert (deleted["kind"], deleted["deleted"], deleted["elements"]) == ("message", True, [])
