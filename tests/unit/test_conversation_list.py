"""The conversation list as of the last ack: the store's rows brought up to date from Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common import conversation, conversation_list
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.conversations import C2C, ConversationState

APP = 1400000001


@dataclass
class FakeConversations:
    rows: list[ConversationState]

    async def list_for_user(self, sdkappid: int, user: str) -> list[ConversationState]:
        return self.rows


@dataclass
class FakeStores:
    conversations: FakeConversations


@dataclass
class FakeTails:
    recent: list[tuple[str, int]]
    heads_: dict[str, Message]

    async def recent_conversations(self, sdkappid: int, user: str) -> list[tuple[str, int]]:
        return self.recent

    async def heads(self, sdkappid: int, conversations: Any) -> dict[str, Message]:
        return {c: m for c, m in self.heads_.items() if c in conversations}


async def test_a_read_mark_written_before_audits_row_is_kept() -> None:
    """The user read a conversation that audit has not written yet: the mark's row has no kind
    yet. The list shows the conversation with that mark, not with a mark of 0."""
    conv = conversation.c2c("ann", "bob")
    early = ConversationState("bob", conv, 0, "", 0, 0, read_seq=3)
    tails = FakeTails(
        [(conv, 1000)], {conv: Message(conversation=conv, seq=3, server_time_ms=1000)}
    )
    (state,) = await conversation_list.c2c_states(
        FakeStores(FakeConversations([early])),  # type: ignore[arg-type]
        tails,  # type: ignore[arg-type]
        APP,
        "bob",
    )
    assert (state.kind, state.peer, state.last_seq, state.read_seq) == (C2C, "ann", 3, 3)


async def test_a_newer_tail_head_moves_a_stored_conversation() -> None:
    conv = conversation.c2c("ann", "bob")
    stored = ConversationState("bob", conv, C2C, "ann", 5, 500, read_seq=2)
    tails = FakeTails([], {conv: Message(conversation=conv, seq=7, server_time_ms=700)})
    (state,) = await conversation_list.c2c_states(
        FakeStores(FakeConversations([stored])),  # type: ignore[arg-type]
        tails,  # type: ignore[arg-type]
        APP,
        "bob",
    )
    assert (state.last_seq, state.last_time_ms, state.read_seq) == (7, 700, 2)
