"""A group message's mentions (群 @ 消息): the members it @s and whether it @s everyone, as a
client's send names them (`at_users`, `at_all`) and as REST send_group_msg names them (Tencent's
GroupAtInfo: `{"GroupAtAllFlag": 1}` for everyone, `{"GroupAtAllFlag": 0, "GroupAt_Account":
id}` for one member). One rule for both: ids that are UserIDs, at most MAX_AT_USERS of them, each
once; a mention of someone outside the group is carried as it is, as Tencent does. They travel
with the message to every member, who sees whether it was mentioned. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.gateway.ids import user_id_problem

# More mentions than this in one message is refused (a bound before any work; Tencent names
# none, and its clients pick mentions from a member list by hand).
MAX_AT_USERS = 100


@dataclass(frozen=True, slots=True)
class Mentions:
    users: tuple[str, ...] = ()
    everyone: bool = False

    def apply(self, inbound: InboundMessage) -> None:
        inbound.at_users[:] = self.users
        inbound.at_all = self.everyone


def mentions(users: Sequence[object], everyone: bool, code: ErrorCode, field: str) -> Mentions:
    if len(users) > MAX_AT_USERS:
        raise TidingsError(code, f"{field} names at most {MAX_AT_USERS} members")
    for user in users:
        problem = user_id_problem(user)
        if problem is not None:
            raise TidingsError(code, f"{field}: a mentioned UserID {problem}")
    return Mentions(tuple(dict.fromkeys(str(u) for u in users)), everyone)


def parse_group_at_info(raw: object, code: ErrorCode) -> Mentions:
    """Tencent's GroupAtInfo (absent: no mentions)."""
    if raw is None:
        return Mentions()
    if not isinstance(raw, list) or len(raw) > MAX_AT_USERS + 1:
        raise TidingsError(code, f"GroupAtInfo must be an array of at most {MAX_AT_USERS} items")
    users: list[object] = []
    everyone = False
    for item in raw:
        flag = item.get("GroupAtAllFlag", 0) if isinstance(item, dict) else None
        if flag not in (0, 1) or isinstance(flag, bool):
            raise TidingsError(code, "each GroupAtInfo item needs GroupAtAllFlag 0 or 1")
        if flag == 1:
            everyone = True
        else:
            users.append(item.get("GroupAt_Account"))
    return mentions(users, everyone, code, "GroupAtInfo")
