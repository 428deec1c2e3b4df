"""Tencent's rules for the group message commands, as pure functions: import_group_msg's
message list and time order, send_group_system_notification's recipients, and which groups
keep unread counts.

Every refusal is a TidingsError with Tencent's group code (10xxx) and a clear ErrorInfo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import MsgElement
from services.gateway.bounds import UINT32, checked_int
from services.gateway.group_rules import AVCHATROOM, MEETING, check_account_count
from services.gateway.msgbody import content_crc, parse_msg_body

BAD = ErrorCode.GROUP_INVALID_PARAM

# import_group_msg takes at most 7 messages a request (Tencent).
MAX_IMPORT_MSGS = 7
# send_group_system_notification names at most 50 recipients (Tencent's current reference;
# an older one said 500).
MAX_NOTIFICATION_MEMBERS = 50


@dataclass(frozen=True, slots=True)
class ImportItem:
    sender: str
    send_time: int
    random: int
    elements: list[MsgElement]
    # Over the body limit: reported per message (Result 80002), not for the whole request.
    too_large: bool = False

    @property
    def client_msg_id(self) -> str:
        """The dedupe key (with the sender): the same message imported again within the dedupe
        window gets its first seq back instead of a second copy."""
        return f"gimport:{self.send_time}:{self.random}:{content_crc(self.elements)}"


def parse_import_list(raw: Any, max_body_bytes: int) -> list[ImportItem]:
    """MsgList: 1 to 7 {From_Account, SendTime, Random (optional), MsgBody}. A malformed item
    refuses the whole request (10004); a body over the limit only its own message."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, "MsgList must be a non-empty array of messages")
    if len(raw) > MAX_IMPORT_MSGS:
        raise TidingsError(BAD, f"MsgList holds {len(raw)} messages, at most {MAX_IMPORT_MSGS}")
    items: list[ImportItem] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise TidingsError(BAD, f"MsgList[{i}] must be an object")
        sender = entry.get("From_Account")
        if not isinstance(sender, str) or not sender:
            raise TidingsError(BAD, f"MsgList[{i}].From_Account must be a non-empty string")
        # Unix seconds and a random: Tencent's 32-bit unsigned integers.
        send_time = checked_int(entry.get("SendTime"), f"MsgList[{i}].SendTime", UINT32, BAD)
        random = checked_int(entry.get("Random", 0), f"MsgList[{i}].Random", UINT32, BAD)
        try:
            elements = parse_msg_body(
                entry.get("MsgBody"), max_body_bytes, ErrorCode.BODY_TOO_LARGE, BAD
            )
        except TidingsError as err:
            if err.code != ErrorCode.BODY_TOO_LARGE:
                raise TidingsError(BAD, f"MsgList[{i}]: {err.info}") from None
            items.append(ImportItem(sender, send_time, random, [], too_large=True))
            continue
        items.append(ImportItem(sender, send_time, random, elements))
    return items


def import_checks(
    items: Sequence[ImportItem], now_s: int, create_time: int, last_msg_time: int
) -> list[ErrorCode]:
    """Each message's Result before it is published: OK, 80002 for a body over the limit, or
    10004 for a SendTime out of order. Messages go in oldest first: a SendTime may not be in
    the future, nor before the group's creation, its latest message or the request's previous
    accepted message. An equal second is accepted: times are whole seconds, and a migration
    often has several messages in one second."""
    floor = max(create_time, last_msg_time)
    checks: list[ErrorCode] = []
    for item in items:
        if item.too_large:
            checks.append(ErrorCode.BODY_TOO_LARGE)
        elif floor <= item.send_time <= now_s:
            floor = item.send_time
            checks.append(ErrorCode.OK)
        else:
            checks.append(BAD)
    return checks


def notification_targets(raw: Any, group_type: str) -> list[str]:
    """ToMembers_Account: the members to notify; absent or empty means every member. An
    AVChatRoom only notifies everyone (Tencent)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(u, str) and u for u in raw):
        raise TidingsError(BAD, "ToMembers_Account must be an array of non-empty account strings")
    targets = list(dict.fromkeys(raw))
    if targets and group_type == AVCHATROOM:
        raise TidingsError(BAD, "an AVChatRoom system notification goes to every member")
    check_account_count(len(targets), MAX_NOTIFICATION_MEMBERS, "ToMembers_Account")
    return targets


def keeps_unread_counts(group_type: str) -> bool:
    """Meeting and AVChatRoom clients keep no unread counts: Tencent accepts set_unread_msg_num
    for them and changes nothing."""
    return group_type not in (MEETING, AVCHATROOM)
