"""Message reports (Easemob 消息举报): a user reports a message, an operator resolves it.

A report keeps a copy of the message as it was reported (sender, body, CloudCustomData), so
it can still be judged after the message is recalled or has expired. Report ids sort by the
time the report was made, so newest first is descending id order and a page ends at an id.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import orjson

PENDING = "pending"
# The operator found the message breaks the rules, or found it does not.
UPHELD = "upheld"
DISMISSED = "dismissed"
STATUSES: tuple[str, ...] = (PENDING, UPHELD, DISMISSED)
RESOLUTIONS: tuple[str, ...] = (UPHELD, DISMISSED)


def new_report_id(created_ms: int) -> str:
    return f"{created_ms:013d}-{secrets.token_hex(4)}"


@dataclass(slots=True)
class Report:
    sdkappid: int
    report_id: str
    reporter: str
    conversation: str
    seq: int
    sender: str
    created_ms: int
    group_id: str = ""
    # Easemob's reportType (a category the client picks) and reportReason (free text).
    category: str = ""
    reason: str = ""
    # The message as reported: Tencent MsgBody JSON and its CloudCustomData.
    msg_body: list[dict[str, Any]] = field(default_factory=list)
    cloud_custom_data: str = ""
    msg_time_ms: int = 0
    status: str = PENDING
    note: str = ""
    resolved_ms: int = 0
    # Whether resolving it recalled the message.
    recalled: bool = False

    def to_doc(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_doc(cls, doc: str | bytes) -> Report:
        return cls(**orjson.loads(doc))


def page(reports: Sequence[Report], status: str | None, before_id: str, limit: int) -> list[Report]:
    """Newest first, optionally of one status, ids below `before_id` ("" for the first page)."""
    ordered = sorted(reports, key=lambda r: r.report_id, reverse=True)
    return [
        r
        for r in ordered
        if (not before_id or r.report_id < before_id) and (status is None or r.status == status)
    ][:limit]


class ReportStore(Protocol):
    async def add(self, report: Report) -> None: ...

    async def get(self, sdkappid: int, report_id: str) -> Report | None: ...

    async def list(
        self, sdkappid: int, status: str | None, before_id: str, limit: int
    ) -> list[Report]:
        """The app's reports, newest first, optionally of one status, with ids below
        before_id ("" for the first page), at most limit."""

    async def save(self, report: Report) -> None:
        """Replace a report (its resolution)."""
