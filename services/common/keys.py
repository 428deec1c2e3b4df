"""Keys joined from ids: Redis keys, conversation ids, Kafka keys and cache keys.

UserIDs and GroupIds may hold `:` (Tencent allows it), so joining them with `:` as they are
would let two different pairs share a key: `c2c:cx:cy:cz` is both (cx, cy:cz) and (cx:cy, cz).
Each part is escaped first, so a joined key splits back into exactly the parts it was made of.
`%`, `:` and the Redis Cluster hash-tag braces `{` `}` are percent-encoded; every other
character, and so every id made only of letters, digits, `_` and `-`, stays as it is.
"""

from __future__ import annotations

from urllib.parse import unquote

_RESERVED = "%:{}"
_TABLE = str.maketrans({c: f"%{ord(c):02X}" for c in _RESERVED})


def escape(part: str) -> str:
    """`part` with the separator, the escape character and hash-tag braces percent-encoded."""
    return part.translate(_TABLE)


def unescape(part: str) -> str:
    return unquote(part)


def join(*parts: str | int) -> str:
    """One unambiguous key from `parts`: split on `:` and unescape to get them back."""
    return ":".join(escape(p) if isinstance(p, str) else str(p) for p in parts)


def split(key: str) -> list[str]:
    return [unescape(p) for p in key.split(":")]


def redis_key(name: str, sdkappid: int, scope: str, *rest: str | int) -> str:
    """`name:{sdkappid:scope}:rest...`, where `scope` is already a key (a conversation id, or
    `join` of ids) and each of `rest` is escaped. The braces pick the Redis Cluster slot, so
    the keys one script touches share their scope."""
    tail = ":" + join(*rest) if rest else ""
    return f"{name}:{{{sdkappid}:{scope}}}{tail}"
