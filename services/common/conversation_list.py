"""A user's conversations, as of the last ack.

The conversation store is written by audit, a moment after a message is acked; the recent
index and tails in Redis (services/common/recent.py) are written by ingest before the ack. A
list reads the store and brings each conversation up to date from Redis: a C2C conversation
audit has not written yet appears, and a newer last message moves a conversation up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from services.common import conversation
from services.common.recent import TailReader
from services.common.store.conversations import C2C, GROUP, ConversationState
from services.common.store.groups import AVCHATROOM, Group
from services.common.store.ports import Stores


def brought_up_to_date(
    states: Sequence[ConversationState], heads: dict[str, tuple[int, int]]
) -> list[ConversationState]:
    """Each state with the newer of its own last message and the tail's head (seq, time)."""
    out: list[ConversationState] = []
    for s in states:
        head = heads.get(s.conversation)
        if head is not None and head[0] > s.last_seq:
            s = replace(s, last_seq=head[0], last_time_ms=head[1])
        out.append(s)
    return out


async def c2c_states(
    stores: Stores, tails: TailReader, sdkappid: int, user: str
) -> list[ConversationState]:
    """The user's C2C conversations, including those audit has not written yet."""
    rows = {s.conversation: s for s in await stores.conversations.list_for_user(sdkappid, user)}
    c2c = {conv: s for conv, s in rows.items() if s.kind == C2C}
    for conv, _ in await tails.recent_conversations(sdkappid, user):
        if conv in c2c:
            continue
        peer = conversation.peer_of(conv, user)
        # A read mark, a deletion or a pin may be written before audit's first row for the
        # conversation: that row has no kind yet, and its marks must not be lost.
        early = rows.get(conv)
        c2c[conv] = (
            replace(early, kind=C2C, peer=peer)
            if early is not None
            else ConversationState(user, conv, C2C, peer, 0, 0)
        )
    return await refreshed(tails, sdkappid, list(c2c.values()))


async def group_states(stores: Stores, sdkappid: int, user: str) -> list[ConversationState]:
    """The user's group conversations: one per joined group (AVChatRoom has no history, so no
    conversation), at the group's newest archived seq, with the user's read mark and deletion
    from the conversation store. Audit keeps no per-member rows for groups, so a 6,000-member
    group's message costs one group write, not 6,000."""
    joined = [
        j.group_id
        for j in await stores.groups.joined_groups(sdkappid, user)
        if j.group_type != AVCHATROOM
    ]
    if not joined:
        return []
    groups = await stores.groups.get_groups(sdkappid, joined)
    marks = await stores.conversations.get(sdkappid, user, [conversation.group(g) for g in groups])
    out = []
    for g in groups.values():
        conv = conversation.group(g.group_id)
        mark = marks.get(conv)
        out.append(
            ConversationState(
                user=user,
                conversation=conv,
                kind=GROUP,
                peer=g.group_id,
                last_seq=g.next_msg_seq - 1,
                last_time_ms=g.last_msg_time * 1000,
                read_seq=mark.read_seq if mark else 0,
                hidden_seq=mark.hidden_seq if mark else 0,
                pinned_at_ms=mark.pinned_at_ms if mark else 0,
            )
        )
    return out


async def user_states(
    stores: Stores, tails: TailReader, sdkappid: int, user: str
) -> list[ConversationState]:
    """Every conversation of the user, C2C and group, as of the last ack."""
    groups = await refreshed(tails, sdkappid, await group_states(stores, sdkappid, user))
    return await c2c_states(stores, tails, sdkappid, user) + groups


async def refreshed(
    tails: TailReader, sdkappid: int, states: Sequence[ConversationState]
) -> list[ConversationState]:
    """`states` with their last message brought up to date from the tails."""
    heads = await tails.heads(sdkappid, [s.conversation for s in states])
    return brought_up_to_date(
        states, {conv: (m.seq, m.server_time_ms) for conv, m in heads.items()}
    )


async def groups_as_of_last_ack(
    tails: TailReader, sdkappid: int, groups: Mapping[str, Group]
) -> dict[str, Group]:
    """`groups` with LastMsgTime and NextMsgSeq brought up to their newest stored message as of
    the last ack (audit records them only when it archives): get_group_info, the joined list's
    active groups and a join's read mark all see a message once its sender has the ack."""
    heads = await tails.heads(sdkappid, [conversation.group(g) for g in groups])
    out = dict(groups)
    for group_id, g in groups.items():
        head = heads.get(conversation.group(group_id))
        if head is not None and head.seq >= g.next_msg_seq:
            out[group_id] = replace(
                g,
                next_msg_seq=head.seq + 1,
                last_msg_time=max(g.last_msg_time, head.server_time_ms // 1000),
            )
    return out


async def delete(stores: Stores, tails: TailReader, sdkappid: int, user: str, conv: str) -> None:
    """Take a conversation off the user's list and clear its unread count, up to its newest
    message as of the last ack (the tail's, when audit has not stored it yet); a newer message
    brings it back. WebSocket `delete_conversation` and REST recentcontact/delete both do this."""
    current = (await stores.conversations.get(sdkappid, user, [conv])).get(conv)
    heads = await tails.heads(sdkappid, [conv])
    last = max(current.last_seq if current else 0, heads[conv].seq if conv in heads else 0)
    if last:
        await stores.conversations.hide(sdkappid, user, conv, last)
        await stores.conversations.set_read(sdkappid, user, conv, last)
