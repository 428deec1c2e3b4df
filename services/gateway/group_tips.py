"""Group tips: the members of a group are told, in the group's conversation, that members joined
or left, that the group's profile changed, or that a member's role or mute changed (Tencent's
group tips, V2TIMGroupTipsElem; 群 tips 消息会存消息列表).

A tip is made from the event of the change (services/common/events.py), after the change is
stored, so every way of making the change (a client's join over WebSocket, REST v4, the admin
API) tells the members the same way. It is a message of kind MESSAGE_KIND_GROUP_TIPS with one
TIMGroupTipElem element: it takes the group's next seq and is stored, so a member who was
offline reads it in history, but it is not moderated, called back, counted unread or pushed.
An AVChatRoom's tips are live only, as its messages are.

Which tips an app sends is Tencent's 群系统通知配置, per group type (messaging_settings:
group_tips_member_change, group_tips_group_info, group_tips_member_info); REST's Silence turns
off a member change's tip. What is pure here (`tips_of`, `wanted`) is tested without I/O.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from services.common import conversation, events
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.messaging_settings import value
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_GROUP_TIPS,
    Event,
    InboundMessage,
    MsgElement,
)
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.store.groups import AVCHATROOM
from services.gateway import group_rules as rules

if TYPE_CHECKING:
    from services.common.app_cache import AppCache
    from services.gateway.publisher import Publisher

log = get_logger(__name__)

TIP_ELEM = "TIMGroupTipElem"
# Tencent's V2TIMGroupTipsType.
JOIN, INVITE, QUIT, KICKED, SET_ADMIN, CANCEL_ADMIN, GROUP_INFO_CHANGE, MEMBER_INFO_CHANGE = range(
    1, 9
)
# Tencent's V2TIMGroupChangeInfo types of the profile fields an event names.
GROUP_INFO_TYPES = {"Name": 1, "Introduction": 2, "Notification": 3, "FaceUrl": 4}
OWNER_INFO_TYPE = 5
# Tencent's V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL; the Value is "On" or "Off", as REST's
# ShutUpAllMember.
SHUT_UP_ALL_INFO_TYPE = 8
LEFT = frozenset({QUIT, KICKED})
# The setting that turns each kind of tip on per group type.
MEMBER_CHANGE = "group_tips_member_change"
GROUP_INFO = "group_tips_group_info"
MEMBER_INFO = "group_tips_member_info"


# The events that can make a tip: any other is passed over before its payload is read (every
# login and logout is an event too).
TIP_KINDS = frozenset(
    {
        events.GROUP_MEMBERS_JOINED,
        events.GROUP_MEMBERS_EXITED,
        events.GROUP_INFO_CHANGED,
        events.GROUP_MODIFIED,
        events.GROUP_MEMBER_ROLE_CHANGED,
        events.GROUP_MEMBERS_MUTED,
    }
)


@dataclass(frozen=True, slots=True)
class Tip:
    setting: str
    content: dict[str, Any]


def _accounts(listed: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(m["Member_Account"]) for m in listed]


def _tip(setting: str, op_type: int, payload: Mapping[str, Any], **more: Any) -> Tip:
    content = {
        "OpType": op_type,
        "GroupId": payload["GroupId"],
        "Operator_Account": payload.get("Operator_Account", ""),
    }
    return Tip(setting, content | more)


def tips_of(kind: str, payload: Mapping[str, Any]) -> list[Tip]:
    """The tips an event makes, before the app's settings are asked (none for other events)."""
    if kind == events.GROUP_MEMBERS_JOINED:
        op = JOIN if payload.get("JoinType") == events.JOIN_APPLY else INVITE
        users = _accounts(payload["NewMemberList"])
        return [_tip(MEMBER_CHANGE, op, payload, MemberList_Account=users)]
    if kind == events.GROUP_MEMBERS_EXITED:
        op = QUIT if payload.get("ExitType") == events.EXIT_QUIT else KICKED
        users = _accounts(payload["ExitMemberList"])
        return [_tip(MEMBER_CHANGE, op, payload, MemberList_Account=users)]
    if kind == events.GROUP_INFO_CHANGED:
        changes = [
            {"Type": info_type, "Value": payload[name]}
            for name, info_type in GROUP_INFO_TYPES.items()
            if name in payload
        ]
        return [_tip(GROUP_INFO, GROUP_INFO_CHANGE, payload, GroupInfo=changes)] if changes else []
    if kind == events.GROUP_MODIFIED and "ShutUpAllMember" in payload:
        changes = [{"Type": SHUT_UP_ALL_INFO_TYPE, "Value": payload["ShutUpAllMember"]}]
        return [_tip(GROUP_INFO, GROUP_INFO_CHANGE, payload, GroupInfo=changes)]
    if kind == events.GROUP_MEMBER_ROLE_CHANGED:
        listed = payload["MemberList"]
        owners = [str(m["Member_Account"]) for m in listed if m["Role"] == rules.OWNER]
        if owners:
            # A transfer (the previous owner's move to Member is part of it): Tencent tells it
            # as a profile change of the group's owner.
            changes = [{"Type": OWNER_INFO_TYPE, "Value": owners[0]}]
            return [_tip(GROUP_INFO, GROUP_INFO_CHANGE, payload, GroupInfo=changes)]
        tips = []
        for op, role in ((SET_ADMIN, rules.ADMIN), (CANCEL_ADMIN, rules.MEMBER)):
            users = [str(m["Member_Account"]) for m in listed if m["Role"] == role]
            if users:
                tips.append(_tip(MEMBER_INFO, op, payload, MemberList_Account=users))
        return tips
    if kind == events.GROUP_MEMBERS_MUTED:
        mute = int(payload["MuteTime"])
        changes = [
            {"Member_Account": u, "ShutUpTime": mute} for u in _accounts(payload["MemberList"])
        ]
        return [_tip(MEMBER_INFO, MEMBER_INFO_CHANGE, payload, MemberInfo=changes)]
    return []


def wanted(tip: Tip, group_type: str, settings: Mapping[str, Any]) -> bool:
    """Does the app tell this group type's members of this kind of change?"""
    return group_type in value(settings, tip.setting)


def tip_message(event: Event, tip: Tip, group_type: str) -> InboundMessage:
    """The tip as the gateway publishes it. Its client message id is the event's and the tip's
    type, so a tip published again is the same message to the router's dedupe."""
    group_id = str(tip.content["GroupId"])
    return InboundMessage(
        schema_version=1,
        kind=MESSAGE_KIND_GROUP_TIPS,
        sdkappid=event.sdkappid,
        conversation=conversation.group(group_id),
        chat_type=CHAT_TYPE_GROUP,
        sender=str(tip.content["Operator_Account"]),
        group_id=group_id,
        client_msg_id=f"tip-{event.event_id}-{tip.content['OpType']}",
        msg_random=random.getrandbits(32),
        received_at_ms=int(time.time() * 1000),
        client_ip=event.client_ip,
        platform=event.platform,
        online_only=group_type == AVCHATROOM,
        # Those who left are told too (services/router/fanout.py).
        to_members=tip.content["MemberList_Account"] if tip.content["OpType"] in LEFT else [],
        elements=[MsgElement(msg_type=TIP_ELEM, content_json=orjson.dumps(tip.content))],
    )


class GroupTips:
    """Publishes the tips of this gateway's events, after each event (EventEmitter). A tip that
    cannot be published is logged and counted: the change it tells of stands, as an event that
    cannot be produced does."""

    def __init__(self, publisher: Publisher, apps: AppCache) -> None:
        self._publisher = publisher
        self._apps = apps

    async def tell(self, event: Event) -> None:
        if event.kind not in TIP_KINDS:
            return
        payload = events.payload_of(event)
        tips = tips_of(event.kind, payload)
        if not tips:
            return
        try:
            app = await self._apps.get(event.sdkappid)
        except Exception as exc:  # noqa: BLE001 - the change stands; see the class doc
            self._lost(event, len(tips), f"app settings unread: {exc}")
            return
        group_type = str(payload.get("Type", ""))
        for tip in tips:
            if app is None or not wanted(tip, group_type, app.settings):
                continue
            try:
                outcome = await self._publisher.publish(tip_message(event, tip, group_type))
            except Exception as exc:  # noqa: BLE001 - the change stands; see the class doc
                outcome = Outcome(error_code=int(ErrorCode.GROUP_INTERNAL), error_info=str(exc))
            if outcome.error_code:
                self._lost(event, 1, outcome.error_info)

    @staticmethod
    def _lost(event: Event, count: int, why: str) -> None:
        STAGE_MESSAGES.labels("tip", str(event.sdkappid), "lost").inc(count)
        log.error("group tip not sent", app=event.sdkappid, kind=event.kind, error=why)
