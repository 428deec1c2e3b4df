"""After-callbacks of im.events (group, relationship, profile, state and read facts): which
command each one is, and its body, field by field as in Tencent's callback reference. The
builders are pure; the callback service's consumer of im.events (services/callback/consumer.py)
hands what they build to the same delivery path as the after-send callbacks (inline tries,
im.callbacks.retry, the DLQ), with TidingsEventId app:event id:command.

Gateways put the facts on im.events with Tencent's field names already (services/common/
events.py), so a builder picks the fields its command documents, checks the required ones are
there, and adds CallbackCommand and EventTime. Kinds that are not callback facts (all_member_push
jobs) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.callback.after import EVENT_ID_FIELD
from services.common import events
from services.common.callback_records import Delivery
from services.common.pb.tidings.v1.envelope_pb2 import Event


@dataclass(frozen=True, slots=True)
class Shape:
    """A command's body: the fields it always has, and those it has only when they changed."""

    command: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


# Event kind -> the after-callback it causes.
SHAPES: dict[str, Shape] = {
    events.GROUP_CREATED: Shape(
        "Group.CallbackAfterCreateGroup",
        (
            "GroupId",
            "Type",
            "Operator_Account",
            "Owner_Account",
            "Name",
            "MemberList",
            "UserDefinedDataList",
        ),
    ),
    # Community groups have no MemberList here (Tencent).
    events.GROUP_DESTROYED: Shape(
        "Group.CallbackAfterGroupDestroyed",
        ("GroupId", "Type", "Owner_Account", "Name"),
        ("MemberList",),
    ),
    events.GROUP_INFO_CHANGED: Shape(
        "Group.CallbackAfterGroupInfoChanged",
        ("GroupId", "Type", "Operator_Account"),
        ("Name", "Introduction", "Notification", "FaceUrl"),
    ),
    events.GROUP_MEMBERS_JOINED: Shape(
        "Group.CallbackAfterNewMemberJoin",
        ("GroupId", "Type", "JoinType", "Operator_Account", "NewMemberList"),
    ),
    events.GROUP_MEMBERS_EXITED: Shape(
        "Group.CallbackAfterMemberExit",
        ("GroupId", "Type", "ExitType", "Operator_Account", "ExitMemberList"),
    ),
    events.GROUP_FULL: Shape("Group.CallbackAfterGroupFull", ("GroupId",)),
    events.FRIENDS_ADDED: Shape(
        "Sns.CallbackFriendAdd", ("PairList", "ClientCmd", "Admin_Account", "ForceFlag")
    ),
    events.FRIENDS_DELETED: Shape("Sns.CallbackFriendDelete", ("PairList",)),
    events.BLOCKLIST_ADDED: Shape("Sns.CallbackBlackListAdd", ("PairList",)),
    events.BLOCKLIST_DELETED: Shape("Sns.CallbackBlackListDelete", ("PairList",)),
    events.PROFILE_SET: Shape(
        "Profile.CallbackPortraitSet", ("Operator_Account", "From_Account", "ProfileItem")
    ),
    events.STATE_CHANGED: Shape("State.StateChange", ("Info",), ("KickedDevice",)),
    events.C2C_READ: Shape(
        "C2C.CallbackAfterMsgReport",
        ("Report_Account", "Peer_Account", "LastReadTime", "UnreadMsgNum"),
    ),
}


# The after-callbacks of im.events records.
EVENT_COMMANDS = frozenset(shape.command for shape in SHAPES.values())


def event_command(event: Event) -> str | None:
    shape = SHAPES.get(event.kind)
    return shape.command if shape else None


def event_delivery_id(event: Event, command: str) -> str:
    return f"{event.sdkappid}:{event.event_id}:{command}"


def event_body(event: Event) -> dict[str, Any]:
    """The body of the after-callback of `event` (whose kind is in SHAPES)."""
    shape = SHAPES[event.kind]
    payload = events.payload_of(event)
    missing = [f for f in shape.required if f not in payload]
    if missing:
        raise ValueError(f"{event.kind} event {event.event_id} lacks {', '.join(missing)}")
    return {
        "CallbackCommand": shape.command,
        **{f: payload[f] for f in shape.required},
        **{f: payload[f] for f in shape.optional if f in payload},
        "EventTime": event.time_ms,
        EVENT_ID_FIELD: event_delivery_id(event, shape.command),
    }


def event_delivery(event: Event) -> Delivery:
    """The after-callback of `event` for an app that enabled its command. Raises ValueError
    when the event lacks a field its command requires: no try could ever deliver it."""
    command = SHAPES[event.kind].command
    return Delivery(
        sdkappid=event.sdkappid,
        event_id=event_delivery_id(event, command),
        command=command,
        body=event_body(event),
        client_ip=event.client_ip,
        platform=event.platform,
    )
