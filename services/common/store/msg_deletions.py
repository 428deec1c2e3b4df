"""What a user no longer sees of a conversation's history, though the messages stay stored.

Two marks, each the least that gives Tencent's behaviour:
- one-sided C2C deletion (openim/delete_c2c_msg_ramble): the seqs one party deleted from its
  own view of a C2C conversation; the other party still sees them;
- a cleared group history (group_open_http_svc/clear_group_msg): a seq at and below which no
  member's client pulls the group's messages any more, while the admin's
  group_msg_get_simple still returns them (Tencent: the messages are marked, not deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Protocol

from services.common.pb.tidings.v1.envelope_pb2 import Message


class MessageDeletionStore(Protocol):
    async def hide(self, sdkappid: int, user: str, conversation: str, seqs: Sequence[int]) -> None:
        """Take these messages out of the user's view of the conversation (idempotent)."""

    async def hidden(self, sdkappid: int, user: str, conversation: str) -> set[int]:
        """The seqs the user took out of its view of the conversation."""

    async def clear_group(self, sdkappid: int, group_id: str, up_to_seq: int) -> None:
        """Clear the group's history up to and including up_to_seq; a lower seq than the
        group's mark leaves the mark as it is."""

    async def group_cleared(self, sdkappid: int, group_id: str) -> int:
        """The seq up to which the group's history is cleared; 0 when it never was."""


def as_seen_by(m: Message, hidden: AbstractSet[int], cleared_up_to: int) -> Message:
    """The message as a client of the user pulls it: one the user deleted (its seq in
    `hidden`) or that a clear reached (seq at or below `cleared_up_to`) comes as a deleted
    placeholder, body gone and seq kept, as a delete_group_msg_by_sender leaves it, so a
    client's history keeps its seqs in order."""
    if m.seq not in hidden and m.seq > cleared_up_to:
        return m
    placeholder = Message()
    placeholder.CopyFrom(m)
    placeholder.deleted = True
    del placeholder.elements[:]
    placeholder.cloud_custom_data = ""
    return placeholder
