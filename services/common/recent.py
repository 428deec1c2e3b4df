"""Recent history in Redis: what makes an ack mean "readable".

Ingest assigns a message's seq and writes the message to its conversation's recent tail in the
same Lua call, before the message is produced to im.messages and long before audit archives
it. Every history read (sync, roaming, lookups, the conversation list) reads the tail first and
the archive second, and merges them. So the moment the sender has its ack, every read returns
the message, and nothing waits on a timer for the archive to catch up.

Per conversation, in one Redis Cluster slot (`{sdkappid:conversation}`):
- `seq:`  the seq counter;
- `dd:`   a dedupe entry per client message id, "seq:time_ms:random:state";
- `tl:`   the tail, a sorted set of serialized `Message`s scored by seq;
- `aw:`   the archived watermark: audit raises it after each durable archive write.

The tail keeps every message above the watermark (up to a hard cap) and the last `keep`
messages below it, so a catch-up of the last few messages is served from Redis alone. Per
user, `cl:{sdkappid:user}` scores the user's C2C conversations by their last message time, so
a conversation that audit has not written yet is in the user's list too.

Why read the tail before the archive: audit trims the tail only after the archive holds what it
trims, so anything missing from a tail read was archived before that read began.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from services.common import keys
from services.common.config import Settings
from services.common.pb.tidings.v1.envelope_pb2 import (
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    Message,
)
from services.common.redis_state import Script, text

# Serialized Message fields that the assign script appends to a message built without them:
# protobuf parsing keeps the last value of a scalar field, so base + suffix is the whole message.
_SEQ_TAG, _TIME_TAG, _KEY_TAG = 0x28, 0x30, 0x62  # fields 5 (varint), 6 (varint), 12 (bytes)

_LUA_VARINT = """
local function varint(n)
  local out = ''
  while n >= 128 do
    out = out .. string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  return out .. string.char(n)
end
"""

# One call for a batch of ingest's work, in order: marks that messages are published, recall
# claims, seq assignments (each with its dedupe entry and tail write), and recent-conversation
# index updates. All of one call's keys share a Redis Cluster slot (the caller groups them by
# slot in cluster mode; a standalone server takes the whole batch at once).
# ARGV[1..9]: dedupe ttl s, keep, cap, tail ttl s, index size, then how many marks, claims,
# assigns and touches. Then per claim its request id; per assign: seed ("" when unknown),
# server time ms, msg random, base message bytes, "1" if history keeps it; per touch:
# conversation, time ms.
# KEYS: one per mark, one per claim, four per assign (counter, dedupe entry, tail, archived
# watermark), one per touch.
# Returns, flat: per claim the holder's request id ("" when this request took it); per assign
# a status (1 new, 0 duplicate: the original's value, -1 the counter needs a seed) and
# "seq:time_ms:random:state", where state 1 means the message is in im.messages.
BATCH_LUA = (
    _LUA_VARINT
    + """
local ttl, keep, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tail_ttl, index_size = tonumber(ARGV[4]), tonumber(ARGV[5])
local n_marks, n_claims = tonumber(ARGV[6]), tonumber(ARGV[7])
local n_assigns, n_touches = tonumber(ARGV[8]), tonumber(ARGV[9])
local k, a, out = 1, 10, {}
for _ = 1, n_marks do
  local d = redis.call('GET', KEYS[k])
  if d and string.sub(d, -2) == ':0' then
    redis.call('SET', KEYS[k], string.sub(d, 1, -2) .. '1', 'KEEPTTL')
  end
  k = k + 1
end
for _ = 1, n_claims do
  out[#out + 1] = redis.call('SET', KEYS[k], ARGV[a], 'NX', 'GET', 'EX', ttl) or ''
  k, a = k + 1, a + 1
end
for _ = 1, n_assigns do
  local counter, dedupe, tail, mark = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local seed, t, random, base = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local in_history = ARGV[a + 4] == '1'
  k, a = k + 4, a + 5
  local d = redis.call('GET', dedupe)
  if d then
    out[#out + 1] = 0
    out[#out + 1] = d
  elseif redis.call('EXISTS', counter) == 0 and seed == '' then
    out[#out + 1] = -1
    out[#out + 1] = ''
  else
    if seed ~= '' then redis.call('SET', counter, seed, 'NX') end
    local seq = redis.call('INCR', counter)
    local v = seq .. ':' .. t .. ':' .. random .. ':0'
    redis.call('SET', dedupe, v, 'EX', ttl)
    if in_history then
      local tn = tonumber(t)
      local key = random .. '_' .. seq .. '_' .. math.floor(tn / 1000)
      local entry = base .. string.char(0x28) .. varint(seq) .. string.char(0x30)
        .. varint(tn) .. string.char(0x62) .. varint(#key) .. key
      redis.call('ZADD', tail, seq, entry)
      local floor = math.min(tonumber(redis.call('GET', mark) or '0'), seq - keep)
      if floor > 0 then redis.call('ZREMRANGEBYSCORE', tail, '-inf', floor) end
      redis.call('ZREMRANGEBYRANK', tail, 0, -(cap + 1))
      redis.call('EXPIRE', tail, tail_ttl)
    end
    out[#out + 1] = 1
    out[#out + 1] = v
  end
end
for _ = 1, n_touches do
  redis.call('ZADD', KEYS[k], 'GT', ARGV[a + 1], ARGV[a])
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -(index_size + 1))
  redis.call('EXPIRE', KEYS[k], tail_ttl)
  k, a = k + 1, a + 2
end
return out
"""
)

# KEYS: archived watermark, tail. ARGV: highest archived seq, keep.
# Raise the watermark (never lower it) and drop what the archive now holds, but the last `keep`.
ARCHIVED_LUA = """
local mark = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1]))
redis.call('SET', KEYS[1], mark, 'KEEPTTL')
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  local floor = math.min(mark, tonumber(last[2]) - tonumber(ARGV[2]))
  if floor > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', floor) end
end
return mark
"""

# KEYS: tail. ARGV: seq, replacement bytes. Replace the message at seq if the tail holds it.
REPLACE_LUA = """
if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def counter_key(sdkappid: int, conversation: str) -> str:
    return keys.redis_key("seq", sdkappid, conversation)


def dedupe_key(sdkappid: int, conversation: str, sender: str, client_msg_id: str) -> str:
    return keys.redis_key("dd", sdkappid, conversation, sender, client_msg_id)


def tail_key(sdkappid: int, conversation: str) -> str:
    return keys.redis_key("tl", sdkappid, conversation)


def watermark_key(sdkappid: int, conversation: str) -> str:
    return keys.redis_key("aw", sdkappid, conversation)


def recall_claim_key(sdkappid: int, conversation: str, target_seq: int) -> str:
    return keys.redis_key("rc", sdkappid, conversation, target_seq)


def user_index_key(sdkappid: int, user: str) -> str:
    return keys.redis_key("cl", sdkappid, keys.escape(user))


def msg_key(msg_random: int, seq: int, server_time_ms: int) -> str:
    """Tencent's MsgKey shape: random_seq_time (time in seconds)."""
    return f"{msg_random}_{seq}_{server_time_ms // 1000}"


def with_seq(base: bytes, seq: int, server_time_ms: int, msg_random: int) -> bytes:
    """`base` (a Message serialized without seq, time and MsgKey) made whole: the same bytes
    the assign script writes to the tail."""
    suffix = Message(
        seq=seq, server_time_ms=server_time_ms, msg_key=msg_key(msg_random, seq, server_time_ms)
    ).SerializeToString()
    return base + suffix


@dataclass(frozen=True, slots=True)
class TailSettings:
    keep: int = 20
    cap: int = 2000
    ttl_s: int = 3600
    # Per user: how many recent C2C conversations the index holds.
    user_index_size: int = 100

    @classmethod
    def of(cls, settings: Settings) -> TailSettings:
        return cls(
            settings.recent_tail_keep,
            settings.recent_tail_cap,
            settings.recent_ttl_s,
            settings.recent_user_index_size,
        )


# --- merging the tail with the archive (pure) ---------------------------------------------


def newer(a: Message, b: Message) -> Message:
    """Of two copies of one message (tail and archive), the one with more applied to it: a
    deletion, then a recall, then the later edit. On a tie, `b`."""
    if a.deleted != b.deleted:
        return a if a.deleted else b
    if a.recalled != b.recalled:
        return a if a.recalled else b
    return a if a.modified_at_ms > b.modified_at_ms else b


def merge(tail: Iterable[Message], archived: Iterable[Message]) -> list[Message]:
    """Both sources by seq, ascending, each seq once."""
    out: dict[int, Message] = {m.seq: m for m in archived}
    for m in tail:
        held = out.get(m.seq)
        out[m.seq] = m if held is None else newer(m, held)
    return [out[s] for s in sorted(out)]


def apply_action(stored: Message, action: Message) -> Message:
    """A stored message after a recall or an edit (the action's kind)."""
    out = Message()
    out.CopyFrom(stored)
    if action.kind == MESSAGE_KIND_RECALL:
        out.recalled = True
    elif action.kind == MESSAGE_KIND_MODIFY:
        del out.elements[:]
        out.elements.extend(action.elements)
        out.cloud_custom_data = action.cloud_custom_data
        out.modified_at_ms = action.server_time_ms
    return out


def deleted_by_sender(window: Sequence[Message], sender: str) -> list[Message]:
    """The sender's messages in `window` not deleted yet, flagged deleted with their body gone:
    the seq stays (seqs are contiguous), the content does not."""
    out: list[Message] = []
    for m in window:
        if m.sender == sender and not m.deleted:
            gone = Message()
            gone.CopyFrom(m)
            gone.deleted = True
            del gone.elements[:]
            gone.cloud_custom_data = ""
            out.append(gone)
    return out


def decode_tail(entries: Iterable[bytes]) -> list[Message]:
    return [Message.FromString(e) for e in entries]


@dataclass(frozen=True, slots=True)
class TailRead:
    """A tail read: the entries asked for, and the lowest seq the tail holds (None when the
    tail is empty). Everything from `lowest` on is in the tail."""

    messages: list[Message]
    lowest: int | None

    def covers(self, after_seq: int) -> bool:
        """Whether the tail alone answers "after `after_seq`"."""
        return self.lowest is not None and self.lowest <= after_seq + 1


class TailReader:
    """Reads conversations' tails and users' recent conversations."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def after(self, sdkappid: int, conversation: str, after_seq: int, limit: int) -> TailRead:
        key = tail_key(sdkappid, conversation)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(key, 0, 0, withscores=True)
            pipe.zrangebyscore(key, f"({after_seq}", "+inf", start=0, num=limit)
            lowest, entries = await pipe.execute()
        return TailRead(decode_tail(entries), int(lowest[0][1]) if lowest else None)

    async def everything(self, sdkappid: int, conversation: str) -> TailRead:
        entries = await self._redis.zrange(tail_key(sdkappid, conversation), 0, -1)
        messages = decode_tail(cast(list[bytes], entries))
        return TailRead(messages, messages[0].seq if messages else None)

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        key = tail_key(sdkappid, conversation)
        async with self._redis.pipeline(transaction=False) as pipe:
            for s in seqs:
                pipe.zrangebyscore(key, s, s)
            found = await pipe.execute()
        return [m for entries in found for m in decode_tail(entries)]

    async def heads(self, sdkappid: int, conversations: Sequence[str]) -> dict[str, Message]:
        """The newest message in each conversation's tail, where it has one."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for c in conversations:
                pipe.zrange(tail_key(sdkappid, c), -1, -1)
            found = await pipe.execute()
        return {
            c: Message.FromString(entries[0])
            for c, entries in zip(conversations, found, strict=True)
            if entries
        }

    async def recent_conversations(self, sdkappid: int, user: str) -> list[tuple[str, int]]:
        """The user's recent C2C conversations with their last message time, newest first."""
        found = cast(
            list[tuple[bytes, float]],
            await self._redis.zrange(
                user_index_key(sdkappid, user), 0, -1, desc=True, withscores=True
            ),
        )
        return [(text(conv), int(score)) for conv, score in found]


class Watermarks:
    """Audit's side: after an archive write, raise each conversation's watermark and let its
    tail shrink. One pipeline for a batch's conversations."""

    def __init__(self, client: aioredis.Redis, keep: int) -> None:
        self._script = Script(client, ARCHIVED_LUA)
        self._keep = keep

    async def archived(self, highest: dict[tuple[int, str], int]) -> None:
        await self._script.run_many(
            [
                ([watermark_key(app, conv), tail_key(app, conv)], [seq, self._keep])
                for (app, conv), seq in highest.items()
            ]
        )
