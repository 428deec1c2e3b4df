"""Per-user conversation state: the conversation list (recent contacts), read positions,
and deletions. Written by audit from im.messages (last message) and by the gateway (reads,
deletes, pins); the two writers touch different fields, so neither clobbers the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

C2C = 1
GROUP = 2


@dataclass(frozen=True, slots=True)
class LastMessage:
    """One user's view of a conversation's newest message (what audit writes)."""

    user: str
    conversation: str
    # 1 = C2C (peer is a user id), 2 = group (peer is the group id); Tencent's Type values.
    kind: int
    peer: str
    last_seq: int
    last_time_ms: int


@dataclass(frozen=True, slots=True)
class ConversationState:
    user: str
    conversation: str
    kind: int
    peer: str
    last_seq: int
    last_time_ms: int
    # Highest seq the user has read.
    read_seq: int = 0
    # The conversation is hidden from the list while last_seq <= hidden_seq (deleted by the user;
    # a newer message brings it back).
    hidden_seq: int = 0
    # Pinned ("TopFlag"): the time it was pinned, 0 if not pinned.
    pinned_at_ms: int = 0

    @property
    def visible(self) -> bool:
        return self.last_seq > self.hidden_seq


class ConversationStore(Protocol):
    async def record_last(self, sdkappid: int, entries: Sequence[LastMessage]) -> None:
        """Upsert each user's last message; never moves last_seq backwards (replays are safe)."""

    async def get(
        self, sdkappid: int, user: str, conversations: Sequence[str]
    ) -> dict[str, ConversationState]: ...

    async def list_for_user(self, sdkappid: int, user: str) -> list[ConversationState]:
        """Every conversation of the user (visible or not), newest last message first."""

    async def set_read(self, sdkappid: int, user: str, conversation: str, read_seq: int) -> None:
        """Raise read_seq to read_seq (never lowers it). Creates the row if absent."""

    async def hide(self, sdkappid: int, user: str, conversation: str, up_to_seq: int) -> None:
        """Hide the conversation until a message newer than up_to_seq arrives."""

    async def set_pinned(
        self, sdkappid: int, user: str, conversation: str, pinned_at_ms: int
    ) -> None: ...
