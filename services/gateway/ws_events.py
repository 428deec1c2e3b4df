"""The events and before-callbacks of what clients do over the WebSocket: logging in and out
(State.StateChange), joining a group by themselves (Group.CallbackBeforeApplyJoinGroup, then
a JoinType Apply join), quitting one, and marking a C2C conversation read.

Nothing here holds up the client for the broker: events are produced in the background. A
join or a quit waits only for its group's membership version (gateway/events.py), so that the
next message to the group reaches the member who joined, and not the one who left. A read
report needs the reader's unread count over every C2C conversation (Tencent's UnreadMsgNum), a
history call per conversation, so it is counted (before the read op answers) and produced only
when the app has enabled C2C.CallbackAfterMsgReport, the only use of the fact.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from services.common import events
from services.common.callback_config import config_of
from services.common.pb.tidings.v1 import history_pb2_grpc
from services.common.recent import TailReader
from services.common.store.groups import Group
from services.common.store.ports import Stores
from services.common.unread import c2c_unread
from services.gateway.auth import Authenticator
from services.gateway.before_events import APPLY_JOIN_GROUP, BeforeEvents, group_rejection
from services.gateway.events import EventEmitter, closed_state, state_payload
from services.gateway.handlers.membership import MembershipEvents
from services.gateway.sessions import Connection

READ_REPORT = "C2C.CallbackAfterMsgReport"


def client_ip(conn: Connection) -> str:
    address = conn.ws.remote_address
    return str(address[0]) if address else ""


def _origin(conn: Connection) -> dict[str, str]:
    return {"client_ip": client_ip(conn), "platform": conn.platform}


class WsEvents:
    def __init__(
        self,
        emitter: EventEmitter,
        before: BeforeEvents,
        stores: Stores,
        history: history_pb2_grpc.HistoryServiceStub,
        tails: TailReader,
        auth: Authenticator,
    ) -> None:
        self._emitter = emitter
        self._before = before
        self._stores = stores
        self._history = history
        self._tails = tails
        self._auth = auth

    def _emit(
        self, conn: Connection, kind: str, entity: str, payload: Mapping[str, object]
    ) -> None:
        self._emitter.emit_soon(conn.sdkappid, kind, entity, payload, **_origin(conn))

    def login(self, conn: Connection, kicked_platforms: list[str]) -> None:
        payload = state_payload(
            conn.user, events.STATE_LOGIN, events.REASON_REGISTER, kicked_platforms
        )
        self._emit(conn, events.STATE_CHANGED, conn.user, payload)

    def closed(self, conn: Connection) -> None:
        state = closed_state(conn.ws.close_code)
        if state is not None:
            payload = state_payload(conn.user, *state)
            self._emit(conn, events.STATE_CHANGED, conn.user, payload)

    async def before_apply(self, conn: Connection, group: Group) -> None:
        """Group.CallbackBeforeApplyJoinGroup; a refusal is Tencent's 10016."""
        verdict = await self._before.ask(
            await self._auth.app(conn.sdkappid),
            APPLY_JOIN_GROUP,
            {"GroupId": group.group_id, "Type": group.group_type, "Requestor_Account": conn.user},
            client_ip=client_ip(conn),
            platform=conn.platform,
        )
        if not verdict.allowed:
            raise group_rejection(verdict)

    def changes(self, conn: Connection) -> MembershipEvents:
        """The events of a client joining (Tencent's JoinType Apply) or quitting a group by
        itself. A membership event returns once the group's version is bumped; the broker is
        not waited for."""

        async def emit(kind: str, entity: str, payload: Mapping[str, Any]) -> None:
            if kind in events.MEMBERSHIP_KINDS:
                await self._emitter.emit_membership_soon(
                    conn.sdkappid, kind, entity, payload, **_origin(conn)
                )
            else:
                self._emit(conn, kind, entity, payload)

        return MembershipEvents(emit, conn.user, events.JOIN_APPLY, events.EXIT_QUIT)

    async def c2c_read(self, conn: Connection, peer: str) -> None:
        config = config_of(await self._auth.app(conn.sdkappid))
        if config is None or not config.enabled(READ_REPORT):
            return
        _, counts = await c2c_unread(
            self._stores, self._tails, self._history, conn.sdkappid, conn.user
        )
        self._emit(
            conn,
            events.C2C_READ,
            conn.user,
            {
                "Report_Account": conn.user,
                "Peer_Account": peer,
                "LastReadTime": int(time.time()),
                "UnreadMsgNum": sum(counts),
            },
        )
