"""Close a user's connections wherever they are: one Kick per gateway node holding one."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection

from services.common.grpc_util import Channels
from services.common.logging import get_logger
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.redis_state import SessionInfo
from services.gateway import tracing

KICK_TIMEOUT_S = 5.0
log = get_logger(__name__)


async def kick_connections(
    channels: Channels,
    sdkappid: int,
    user: str,
    sessions: dict[str, SessionInfo],
    code: int,
    reason: str,
    only: Collection[str] | None = None,
) -> int:
    """Kick the user's sessions (all of them, or the conn_ids in `only`); returns how many.
    Each session of a node that answered is traced as kicked (by a newer login or an admin:
    `reason` says which)."""
    by_node: dict[str, list[str]] = defaultdict(list)
    for conn_id, info in sessions.items():
        if only is None or conn_id in only:
            by_node[info.node_addr].append(conn_id)
    calls = [
        gateway_pb2_grpc.GatewayServiceStub(channels.get(node)).Kick(
            gateway_pb2.KickRequest(
                sdkappid=sdkappid,
                user=user,
                conn_ids=conn_ids if only is not None else [],
                reason_code=code,
                reason=reason,
            ),
            timeout=KICK_TIMEOUT_S,
        )
        for node, conn_ids in by_node.items()
    ]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    kicked = 0
    for node, reply in zip(by_node, replies, strict=True):
        if isinstance(reply, BaseException):
            # A node that is gone has no sockets left to close; its registry entries expire.
            log.warning("kick failed", gateway=node, user=user, error=str(reply))
        else:
            kicked += reply.kicked
            tracing.emit(
                *tracing.kicks(
                    sdkappid,
                    user,
                    [(c, sessions[c].platform) for c in by_node[node]],
                    code,
                    reason,
                )
            )
    return kicked
