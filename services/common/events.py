"""The facts on im.events other than all_member_push jobs: what changed in a group, a
relationship, a profile or a user's state, once the store write that made it so succeeded. Pure.

An Event's kind is one of KINDS; its payload_json is an object whose fields already carry
Tencent's callback names (GroupId, PairList, ProfileItem...), so a consumer that turns it into a
callback body only picks and checks fields. Its key is app:entity (the group ID, the user), so
one group's or one user's events stay in order. Consumers skip the kinds that are not theirs
(push reads only all_member_push jobs).

KINDS are the facts Tencent has an after-callback for. DIRECTORY_KINDS are the other changes a
client send is checked against (accounts, global no-speaking, imported friends, group records
and member rows): no callback, but every gateway drops what it cached about them
(services/gateway/directory.py), as it does for the KINDS that touch the same records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from services.common.pb.tidings.v1.envelope_pb2 import Event

SCHEMA_VERSION = 1

GROUP_CREATED = "group.created"
GROUP_DESTROYED = "group.destroyed"
GROUP_INFO_CHANGED = "group.info_changed"
GROUP_MEMBERS_JOINED = "group.members_joined"
GROUP_MEMBERS_EXITED = "group.members_exited"
GROUP_FULL = "group.full"
FRIENDS_ADDED = "sns.friends_added"
FRIENDS_DELETED = "sns.friends_deleted"
BLOCKLIST_ADDED = "sns.blocklist_added"
BLOCKLIST_DELETED = "sns.blocklist_deleted"
PROFILE_SET = "profile.set"
STATE_CHANGED = "state.changed"
C2C_READ = "c2c.read"

ACCOUNTS_IMPORTED = "account.imported"
ACCOUNTS_DELETED = "account.deleted"
NO_SPEAKING_SET = "account.no_speaking_set"
FRIENDS_IMPORTED = "sns.friends_imported"
GROUP_IMPORTED = "group.imported"
GROUP_MODIFIED = "group.modified"
GROUP_MEMBERS_IMPORTED = "group.members_imported"
GROUP_MEMBERS_MUTED = "group.members_muted"
GROUP_MEMBER_ROLE_CHANGED = "group.member_role_changed"

KINDS: tuple[str, ...] = (
    GROUP_CREATED,
    GROUP_DESTROYED,
    GROUP_INFO_CHANGED,
    GROUP_MEMBERS_JOINED,
    GROUP_MEMBERS_EXITED,
    GROUP_FULL,
    FRIENDS_ADDED,
    FRIENDS_DELETED,
    BLOCKLIST_ADDED,
    BLOCKLIST_DELETED,
    PROFILE_SET,
    STATE_CHANGED,
    C2C_READ,
)

DIRECTORY_KINDS: tuple[str, ...] = (
    ACCOUNTS_IMPORTED,
    ACCOUNTS_DELETED,
    NO_SPEAKING_SET,
    FRIENDS_IMPORTED,
    GROUP_IMPORTED,
    GROUP_MODIFIED,
    GROUP_MEMBERS_IMPORTED,
    GROUP_MEMBERS_MUTED,
    GROUP_MEMBER_ROLE_CHANGED,
)
_ALL_KINDS = frozenset(KINDS + DIRECTORY_KINDS)

# The kinds that change who gets a group's messages: the gateway bumps the group's membership
# version (services/common/group_versions.py) before producing one, so before the change is
# answered. A MsgFlag change has no event and bumps it directly. Roles, mutes, the profile and
# the options change no delivery (fan-out reads members and MsgFlags only); a group's type
# never changes.
MEMBERSHIP_KINDS = frozenset(
    {
        GROUP_CREATED,
        GROUP_IMPORTED,
        GROUP_DESTROYED,
        GROUP_MEMBERS_JOINED,
        GROUP_MEMBERS_IMPORTED,
        GROUP_MEMBERS_EXITED,
    }
)

# Tencent's JoinType and ExitType values.
JOIN_INVITED = "Invited"
JOIN_APPLY = "Apply"
EXIT_KICKED = "Kicked"
EXIT_QUIT = "Quit"

# Tencent's State.StateChange Info.Action values and the Reasons Tidings gives them.
STATE_LOGIN = "Login"
STATE_LOGOUT = "Logout"
STATE_DISCONNECT = "Disconnect"
REASON_REGISTER = "Register"
REASON_UNREGISTER = "Unregister"
REASON_LINK_CLOSE = "LinkClose"


def members(users: list[str]) -> list[dict[str, str]]:
    return [{"Member_Account": u} for u in users]


def accounts(users: list[str]) -> list[dict[str, str]]:
    return [{"UserID": u} for u in users]


def pairs(owner: str, peers: list[str]) -> list[dict[str, str]]:
    return [{"From_Account": owner, "To_Account": p} for p in peers]


def defined_data(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in values.items()]


def event_key(sdkappid: int, entity: str) -> bytes:
    return f"{sdkappid}:{entity}".encode()


def new_event(
    sdkappid: int,
    kind: str,
    payload: Mapping[str, Any],
    *,
    client_ip: str = "",
    platform: str = "",
    now_ms: int | None = None,
) -> Event:
    if kind not in _ALL_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return Event(
        schema_version=SCHEMA_VERSION,
        sdkappid=sdkappid,
        event_id=uuid.uuid4().hex,
        kind=kind,
        time_ms=int(time.time() * 1000) if now_ms is None else now_ms,
        payload_json=orjson.dumps(dict(payload)),
        client_ip=client_ip,
        platform=platform,
    )


def payload_of(event: Event) -> dict[str, Any]:
    doc = orjson.loads(event.payload_json or b"{}")
    if not isinstance(doc, dict):
        raise ValueError(f"event {event.event_id} payload is not an object")
    return doc
