"""openim_dirty_words: the app's custom sensitive words (get, add, delete).

Tencent's reference: `DirtyWordsList`, at most 50 words per request, each at most 200 bytes;
codes 10004 (bad parameter), 10002 (system error), 10007 (not an app admin). Matching them in
messages is the sensitive-word filter's job; this module only manages the list.

Where Tencent is silent (its text reads both as "50 per request" and "50 in all", and says to
send more in several requests): the per-request cap is 50 and an app holds at most 10,000
words. A word must contain something other than whitespace; words are kept as entered.
Each change is announced (section dirty_words) after the store write, and applies to every
message sent after the answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.common.config_feed import DIRTY_WORDS, ConfigAnnouncer
from services.common.errors import ErrorCode, TidingsError
from services.common.store.dirtywords import DirtyWordStore
from services.gateway.rest_v4.context import Handler, Reply, RestContext, audit

BAD = ErrorCode.GROUP_INVALID_PARAM
MAX_WORDS_PER_REQUEST = 50
MAX_WORD_BYTES = 200
MAX_WORDS_PER_APP = 10_000


def parse_words(raw: object) -> list[str]:
    """The words of one request (REST DirtyWordsList, or the admin API's list)."""
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


async def add_words(
    store: DirtyWordStore, config: ConfigAnnouncer, sdkappid: int, words: list[str]
) -> None:
    existing = set(await store.list_words(sdkappid))
    if len(existing | set(words)) > MAX_WORDS_PER_APP:
        raise TidingsError(BAD, f"an app holds at most {MAX_WORDS_PER_APP} dirty words")
    await store.add_words(sdkappid, words)
    await _announce(config, sdkappid, "add", len(words))


async def delete_words(
    store: DirtyWordStore, config: ConfigAnnouncer, sdkappid: int, words: list[str]
) -> None:
    await store.delete_words(sdkappid, words)
    await _announce(config, sdkappid, "delete", len(words))


async def _announce(config: ConfigAnnouncer, sdkappid: int, change: str, count: int) -> None:
    """Routers rebuild the app's filter for the next message sent (its version changed)."""
    await config.announce(sdkappid, DIRTY_WORDS, {"changed": change, "words": count})


async def get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    return {"DirtyWordsList": await ctx.deps.stores.dirty_words.list_words(ctx.app.sdkappid)}


async def add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    words = parse_words(body.get("DirtyWordsList"))
    await add_words(ctx.deps.stores.dirty_words, ctx.deps.config, ctx.app.sdkappid, words)
    await audit(ctx, "words.add", after={"words": words})
    return {}


async def delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    words = parse_words(body.get("DirtyWordsList"))
    await delete_words(ctx.deps.stores.dirty_words, ctx.deps.config, ctx.app.sdkappid, words)
    await audit(ctx, "words.delete", before={"words": words})
    return {}


COMMANDS: dict[str, Handler] = {"get": get, "add": add, "delete": delete}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class DirtyWordsRequest(BaseModel):
    DirtyWordsList: list[str] = Field(min_length=1, max_length=MAX_WORDS_PER_REQUEST)


REQUEST_MODELS: dict[str, type[BaseModel]] = {"add": DirtyWordsRequest, "delete": DirtyWordsRequest}
