"""The `report` WebSocket op: a user reports a message (Easemob 消息举报).

Frame: {"op": "report", "peer": U | "group": G, "seq": N, "reason": text, "type": category}.
The reporter must be in the conversation (a C2C party, or a member of the group), and the
message must exist. The report keeps a copy of the message as it is now, so an operator can
judge it after a recall or once it expires; the operator lists and resolves reports through
the admin API (admin/reports.py).
"""

from __future__ import annotations

import time
from typing import Any

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.msgbody import msg_body_json
from services.common.store.ports import Stores
from services.common.store.reports import Report, new_report_id
from services.gateway.archive import Archive
from services.gateway.frames import field as frame_field
from services.gateway.sessions import Connection

MAX_REASON_LENGTH = 512
MAX_CATEGORY_LENGTH = 64
DEFAULT_CATEGORY = "other"


def parse_report(frame: dict[str, Any], user: str) -> tuple[str, str | None, int, str, str]:
    """(conversation, group or None, seq, category, reason) of a report frame."""
    peer = frame_field(frame, "peer", str, required=False)
    group = frame_field(frame, "group", str, required=False)
    if (peer is None) == (group is None) or not (peer or group):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "name exactly one of 'peer' or 'group'")
    seq = frame_field(frame, "seq", int)
    if seq < 1:
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "'seq' must be a message's seq (1 or more)")
    reason = frame_field(frame, "reason", str).strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise TidingsError(
            ErrorCode.WS_BAD_FRAME, f"'reason' must be 1 to {MAX_REASON_LENGTH} characters"
        )
    category = (frame_field(frame, "type", str, required=False) or DEFAULT_CATEGORY).strip()
    if not category or len(category) > MAX_CATEGORY_LENGTH:
        raise TidingsError(
            ErrorCode.WS_BAD_FRAME, f"'type' must be 1 to {MAX_CATEGORY_LENGTH} characters"
        )
    if group is not None:
        return conversation.group(group), group, seq, category, reason
    return conversation.c2c(user, peer), None, seq, category, reason


class Reports:
    def __init__(self, stores: Stores, archive: Archive) -> None:
        self._stores = stores
        self._archive = archive

    async def report(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        conv, group_id, seq, category, reason = parse_report(frame, conn.user)
        if group_id is not None and not (
            await self._stores.groups.get_members(conn.sdkappid, group_id, [conn.user])
        ):
            raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
        got = await self._archive.get(conn.sdkappid, conv, [seq])
        target = got[0] if got else None
        if target is None or target.deleted:
            raise TidingsError(
                ErrorCode.GROUP_MSG_NOT_FOUND if group_id else ErrorCode.MSG_NOT_FOUND,
                "the message does not exist",
            )
        now_ms = int(time.time() * 1000)
        report = Report(
            sdkappid=conn.sdkappid,
            report_id=new_report_id(now_ms),
            reporter=conn.user,
            conversation=conv,
            seq=seq,
            sender=target.sender,
            created_ms=now_ms,
            group_id=group_id or "",
            category=category,
            reason=reason,
            msg_body=msg_body_json(target.elements),
            cloud_custom_data=target.cloud_custom_data,
            msg_time_ms=target.server_time_ms,
        )
        await self._stores.reports.add(report)
        return {"op": "report", "code": 0, "report_id": report.report_id}
