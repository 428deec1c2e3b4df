"""Reading specific messages back: a recall, a report or a withdraw names a message that may
have been sent a moment ago. The history service answers from the recent tail as well as the
archive, so a message whose send was acked is found at once."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message


class Archive:
    def __init__(self, history: history_pb2_grpc.HistoryServiceStub) -> None:
        self._history = history

    @property
    def history(self) -> history_pb2_grpc.HistoryServiceStub:
        return self._history

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        """The messages among `seqs` that exist, in seq order."""
        reply: history_pb2.GetReply = await self._history.Get(
            history_pb2.GetRequest(sdkappid=sdkappid, conversation=conversation, seqs=seqs),
            timeout=10.0,
        )
        return list(reply.messages)
