"""The pure rules of the recall and membership handlers (services/gateway/handlers/), which
the WebSocket ops and the REST commands share: who may recall what, and who may leave."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.groups import Group
from services.gateway.handlers.membership import owner_stays
from services.gateway.handlers.recall import Recaller, check_recall

NOW_MS = 1_000_000_000
WINDOW_S = 120
FRESH = Message(seq=3, sender="ann", server_time_ms=NOW_MS - 1000)
OLD = Message(seq=3, sender="ann", server_time_ms=NOW_MS - (WINDOW_S + 1) * 1000)


@pytest.mark.parametrize(
    ("target", "in_group", "by", "code"),
    [
        (None, False, None, ErrorCode.MSG_NOT_FOUND),
        (None, True, None, ErrorCode.GROUP_MSG_NOT_FOUND),
        (Message(seq=3, deleted=True), True, None, ErrorCode.GROUP_MSG_NOT_FOUND),
        (Message(seq=3, recalled=True), False, None, ErrorCode.MSG_ALREADY_RECALLED),
        (Message(seq=3, recalled=True), True, Recaller("ann", "Owner"), 10031),
        # The app server and operators: anything, any time.
        (OLD, False, None, 0),
        # A client: its own within the window; a group's owner and admins anyone's, any time.
        (FRESH, False, Recaller("ann", None), 0),
        (OLD, False, Recaller("ann", None), ErrorCode.MSG_RECALL_TIMEOUT),
        (OLD, True, Recaller("ann", "Owner"), ErrorCode.MSG_RECALL_TIMEOUT),
        (FRESH, False, Recaller("bob", None), ErrorCode.MSG_NOT_FOUND),
        (FRESH, True, Recaller("bob", "Member"), ErrorCode.GROUP_NO_PERMISSION),
        (OLD, True, Recaller("bob", "Admin"), 0),
    ],
)
def test_who_may_recall_what(
    target: Message | None, in_group: bool, by: Recaller | None, code: int
) -> None:
    assert outcome(lambda: check_recall(target, in_group, by, NOW_MS, WINDOW_S)) == code


@pytest.mark.parametrize(
    ("group_type", "removed_by_admin", "code"),
    [
        ("Public", False, ErrorCode.GROUP_OWNER_CANNOT_QUIT),
        ("AVChatRoom", False, 0),
        ("Public", True, ErrorCode.GROUP_INVALID_PARAM),
        ("AVChatRoom", True, ErrorCode.GROUP_INVALID_PARAM),
    ],
)
def test_the_owner_stays(group_type: str, removed_by_admin: bool, code: int) -> None:
    group = Group("g1", group_type, "g", owner="own")
    owner_stays(group, ["someone"], removed_by_admin)
    assert outcome(lambda: owner_stays(group, ["someone", "own"], removed_by_admin)) == code


def outcome(rule: Callable[[], object]) -> int:
    """0 if the rule lets it through, else the refusal's code."""
    try:
        rule()
    except TidingsError as refused:
        return int(refused.code)
    return 0
