"""openim_dirty_words: the app's custom sensitive words (get, add, delete).

Tencent's reference: `DirtyWordsList`, at most 50 words per request, each at most 200 bytes;
codes 10004 (bad parameter), 10002 (system error), 10007 (not an app admin). Matching them in
messages is the sensitive-word filter's job; this module only manages the list.

Where Tencent is silent (its text reads both as "50 per request" and "50 in all", and says to
send more in several requests): the per-request cap is 50 and an app holds at most 10,000
words. A word must contain something other than whitespace; words are kept as entered.
Each change is announced on im.config (section dirty_words) after the store write.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.common.config_feed import DIRTY_WORDS, publish_config_change
from services.common.errors import ErrorCode, TidingsError
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_WORDS_PER_REQUEST = 50
MAX_WORD_BYTES = 200
MAX_WORDS_PER_APP = 10_000


def _words(body: dict[str, Any]) -> list[str]:
    raw = body.get("DirtyWordsList")
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, "DirtyWordsList must be a non-empty array of strings")
    if len(raw) > MAX_WORDS_PER_REQUEST:
        raise TidingsError(BAD, f"DirtyWordsList holds at most {MAX_WORDS_PER_REQUEST} words")
    for word in raw:
        if not isinstance(word, str) or not word.strip():
            raise TidingsError(BAD, "each dirty word must be a non-blank string")
        if len(word.encode()) > MAX_WORD_BYTES:
            raise TidingsError(BAD, f"each dirty word is at most {MAX_WORD_BYTES} bytes")
    return list(dict.fromkeys(raw))


async def get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    return {"DirtyWordsList": await ctx.deps.stores.dirty_words.list_words(ctx.app.sdkappid)}


async def add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    words = _words(body)
    store = ctx.deps.stores.dirty_words
    existing = set(await store.list_words(ctx.app.sdkappid))
    if len(existing | set(words)) > MAX_WORDS_PER_APP:
        raise TidingsError(BAD, f"an app holds at most {MAX_WORDS_PER_APP} dirty words")
    await store.add_words(ctx.app.sdkappid, words)
    await _announce(ctx, "add", len(words))
    return {}


async def delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    words = _words(body)
    await ctx.deps.stores.dirty_words.delete_words(ctx.app.sdkappid, words)
    await _announce(ctx, "delete", len(words))
    return {}


async def _announce(ctx: RestContext, change: str, count: int) -> None:
    """Routers rebuild the app's filter when this reaches them (within a second or so)."""
    await publish_config_change(
        ctx.deps.producer, ctx.app.sdkappid, DIRTY_WORDS, {"changed": change, "words": count}
    )


COMMANDS: dict[str, Handler] = {"get": get, "add": add, "delete": delete}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class DirtyWordsRequest(BaseModel):
    DirtyWordsList: list[str] = Field(min_length=1, max_length=MAX_WORDS_PER_REQUEST)


REQUEST_MODELS: dict[str, type[BaseModel]] = {"add": DirtyWordsRequest, "delete": DirtyWordsRequest}
