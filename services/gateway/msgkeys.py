"""Find a message by its Tencent MsgKey ("random_seq_time").

A key names one conversation's seq. batchsendmsg returns one key for copies that went into
several conversations, each with its own seq, so a key whose seq does not hold that random is
looked up by its random around its time, as Tencent's key would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.gateway.archive import Archive
from services.gateway.bounds import STORED_U64, UINT32, parse_decimal

# How far around the key's second a batch copy's server time can fall.
_SEARCH_WINDOW_S = 2


@dataclass(frozen=True, slots=True)
class MsgKey:
    random: int
    seq: int
    time_s: int


def parse_msg_key(key: str, code: ErrorCode) -> MsgKey:
    """A key's parts, each in the range of what it names: a 32-bit random, a stored seq and
    Unix seconds (the router writes them so; anything else names no message)."""
    parts = key.split("_")
    if len(parts) != 3:
        raise TidingsError(code, f"MsgKey {key!r} is not a MsgKey returned by this API")
    random, seq, time_s = parts
    return MsgKey(
        parse_decimal(random, "MsgKey's random", UINT32, code),
        parse_decimal(seq, "MsgKey's seq", STORED_U64, code),
        parse_decimal(time_s, "MsgKey's time", UINT32, code),
    )


async def find_by_msg_key(
    archive: Archive,
    sdkappid: int,
    conversation: str,
    key: MsgKey,
) -> Message | None:
    for m in await archive.get(sdkappid, conversation, [key.seq]):
        if m.msg_random == key.random:
            return m
    around: history_pb2.RoamReply = await archive.history.Roam(
        history_pb2.RoamRequest(
            sdkappid=sdkappid,
            conversation=conversation,
            min_time_ms=(key.time_s - _SEARCH_WINDOW_S) * 1000,
            max_time_ms=(key.time_s + _SEARCH_WINDOW_S) * 1000 + 999,
            limit=500,
        ),
        timeout=10.0,
    )
    matches: list[Message] = [m for m in around.messages if m.msg_random == key.random]
    return matches[0] if matches else None
