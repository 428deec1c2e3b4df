"""The `report` WebSocket op: a user reports a message (Easemob 消息举报).

Frame: {"op": "report", "peer": U | "group": G, "seq": N, "reason": text, "type": category}.
The reporter must be in the conversation (a C2C party, or a member of the group), and the
message must exist. The report keeps a copy of the message as it is now, so an operator can
judge it after a recall or once it expires; the operator lists and resolves reports through
the admin API (admin/reports.py).

A user reports a message once: reporting it again answers with the first report's id. And a
user makes at most REPORT_RATE reports, so that reports cannot flood the operators' queue.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from services.common import conversation, keys
from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.msgbody import msg_body_json
from services.common.redis_state import text
from services.common.store.ports import Stores
from services.common.store.reports import Report, new_report_id
from services.gateway.archive import Archive
from services.gateway.bounds import MSG_SEQ
from services.gateway.frames import field as frame_field
from services.gateway.frames import integer as frame_integer
from services.gateway.ratelimit import RateLimiter
from services.gateway.sessions import Connection

MAX_REASON_LENGTH = 512
MAX_CATEGORY_LENGTH = 64
DEFAULT_CATEGORY = "other"
REPORT_RATE = Rate(limit=10, per_s=60)
# How long a report's (reporter, message) claim is kept: longer than any report waits.
CLAIM_TTL_S = 90 * 86400


def claim_key(sdkappid: int, reporter: str, conv: str, seq: int) -> str:
    return keys.redis_key("report", sdkappid, conv, seq, reporter)


def parse_report(frame: dict[str, Any], user: str) -> tuple[str, str | None, int, str, str]:
    """(conversation, group or None, seq, category, reason) of a report frame."""
    peer = frame_field(frame, "peer", str, required=False)
    group = frame_field(frame, "group", str, required=False)
    if (peer is None) == (group is None) or not (peer or group):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "name exactly one of 'peer' or 'group'")
    seq = frame_integer(frame, "seq", MSG_SEQ)
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
    def __init__(
        self, stores: Stores, archive: Archive, limiter: RateLimiter, redis: aioredis.Redis
    ) -> None:
        self._stores = stores
        self._archive = archive
        self._limiter = limiter
        self._redis = redis

    async def report(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        conv, group_id, seq, category, reason = parse_report(frame, conn.user)
        if not await self._limiter.take(conn.sdkappid, keys.join("report", conn.user), REPORT_RATE):
            raise TidingsError(
                ErrorCode.SENDER_THROTTLED,
                f"reporting too fast: {REPORT_RATE.limit} reports per {REPORT_RATE.per_s} s",
            )
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
        key = claim_key(conn.sdkappid, conn.user, conv, seq)
        first = await self._redis.set(key, report.report_id, nx=True, ex=CLAIM_TTL_S, get=True)
        if first is not None:
            return {"op": "report", "code": 0, "report_id": text(first), "duplicate": True}
        try:
            await self._stores.reports.add(report)
        except Exception:
            await self._redis.delete(key)
            raise
        return {"op": "report", "code": 0, "report_id": report.report_id, "duplicate": False}
