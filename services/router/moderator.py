"""Moderation in ingest, with its I/O: each app's compiled word filter, and the before-send
callback over gRPC. The decisions themselves are in moderation.py.

Each callback runs on its own, with the app's callback timeout (plus a small margin for the
gRPC hop) as its deadline; ingest holds only that message's conversation meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from services.common.app_cache import AppCache
from services.common.bus import backoff_s
from services.common.cache import ExpiringCache
from services.common.callback_config import CallbackConfig, config_of
from services.common.callback_rules import pre_send_budget_s
from services.common.config_versions import ConfigVersions
from services.common.logging import get_logger
from services.common.pb.tidings.v1.callback_pb2 import BeforeSendReply
from services.common.pb.tidings.v1.envelope_pb2 import SOURCE_REST, InboundMessage
from services.common.store.dirtywords import DirtyWordStore
from services.common.word_settings import actions_of
from services.router.moderation import (
    Decision,
    Ruling,
    accept,
    apply_reply,
    before_command,
    on_unreachable,
    screen,
    select_lists,
)
from services.router.words import Action, WordFilter, WordList

log = get_logger(__name__)

BUILTIN_WORDS = Path(__file__).with_name("builtin_words.txt")
# Above the app's callback timeout: the callback service answers by then, fail policy applied.
CALL_MARGIN_S = 0.25
# A filter is rebuilt after this long even without an im.config change (CLI or lost change).
FILTER_MAX_AGE_S = 60.0

# Calls CallbackService.BeforeSend with a deadline in seconds and the app's configuration
# version.
BeforeSendCall = Callable[[InboundMessage, float, int], Awaitable[BeforeSendReply]]
# Whether each message is a retry of one already accepted (its dedupe entry exists).
RetryCheck = Callable[[Sequence[InboundMessage]], Awaitable[list[bool]]]


def read_word_file(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.lstrip().startswith("#")]


def builtin_words(operator_file: str) -> list[str]:
    words = read_word_file(BUILTIN_WORDS)
    if operator_file:
        words += read_word_file(Path(operator_file))
    return words


class WordFilters:
    """Each app's filter, compiled once and reused until the app's words or settings change."""

    def __init__(
        self,
        builtin: Sequence[str],
        dirty_words: DirtyWordStore,
        apps: AppCache,
        max_age_s: float = FILTER_MAX_AGE_S,
    ) -> None:
        self._builtin_words = list(builtin)
        self._builtin: dict[Action, WordList] = {}
        self._dirty_words = dirty_words
        self._apps = apps
        self._filters: ExpiringCache[int, WordFilter] = ExpiringCache(max_age_s)

    async def get(self, sdkappid: int, at_least: int = 0) -> WordFilter:
        """`at_least`: the app's configuration version (config_versions.py)."""
        return await self._filters.get(
            sdkappid, lambda: self._build(sdkappid, at_least), at_least=at_least
        )

    async def _build(self, sdkappid: int, at_least: int) -> WordFilter:
        actions = actions_of(await self._apps.get(sdkappid, at_least))
        custom = await self._dirty_words.list_words(sdkappid) if actions.custom != "off" else []
        return WordFilter(
            select_lists(actions, self._builtin_list, lambda action: WordList(custom, action))
        )

    def on_change(self, sdkappid: int, value_json: bytes) -> None:
        """The im.config listener for `dirty_words` and `app` (the actions live in settings)."""
        self._filters.invalidate(sdkappid)

    def _builtin_list(self, action: Action) -> WordList:
        if action not in self._builtin:
            self._builtin[action] = WordList(self._builtin_words, action)
        return self._builtin[action]


@dataclass(frozen=True, slots=True)
class Ask:
    """A message waiting for its app's before-send callback."""

    message: InboundMessage
    config: CallbackConfig
    # The app's configuration version it was decided at: the callback service reads the
    # app's settings at that version or later.
    config_version: int


def _accepted(d: Decision | Ask) -> bool:
    return isinstance(d, Decision) and d.ruling is Ruling.ACCEPT


class Moderator:
    def __init__(
        self,
        apps: AppCache,
        words: WordFilters,
        before_send: BeforeSendCall,
        versions: ConfigVersions,
    ) -> None:
        self._apps = apps
        self._words = words
        self._before_send = before_send
        self._versions = versions

    async def prepare(
        self, messages: Sequence[InboundMessage], is_retry: RetryCheck
    ) -> list[Decision | Ask]:
        """Decide what can be decided now (needs_moderation messages): the words, and whether
        the app wants a before-send callback, which then comes back as an `Ask` for `ask`
        (so it sees the masked text). A retry of an accepted message keeps its first ruling
        (its outcome is the original's seq): it is not refused again, nor sent to the app
        server twice. Only those two cases ask Redis again.

        The batch's apps' configuration versions are read first (one round trip), so that a
        settings or word change answered before a message was sent applies to it."""
        versions = await self._current_versions(messages)
        decided = [
            screen(m, await self._words.get(m.sdkappid, versions[m.sdkappid])) for m in messages
        ]
        out: list[Decision | Ask] = list(decided)
        for i, decision in enumerate(decided):
            if decision.ruling is Ruling.ACCEPT:
                version = versions[decision.message.sdkappid]
                config = await self._callback(decision.message, version)
                if config is not None:
                    out[i] = Ask(decision.message, config, version)
        check = [i for i, d in enumerate(out) if not _accepted(d)]
        if check:
            seen = await is_retry([messages[i] for i in check])
            for i, retry in zip(check, seen, strict=True):
                if retry:
                    out[i] = accept(messages[i])
        return out

    async def ask(self, pending: Ask) -> Decision:
        msg, config = pending.message, pending.config
        try:
            reply = await self._before_send(
                msg, config.timeout_s + CALL_MARGIN_S, pending.config_version
            )
        except Exception as err:  # noqa: BLE001 - unreachable, deadline, anything: fail policy
            # An Ask is made for C2C and group messages only, so the command is never "".
            policy = config.fail_policy_for(before_command(msg) or "")
            log.warning(
                "callback service unavailable",
                app=msg.sdkappid,
                policy=policy,
                error=str(err),
            )
            return on_unreachable(msg, policy, type(err).__name__)
        return apply_reply(msg, reply)

    async def _current_versions(self, messages: Sequence[InboundMessage]) -> dict[int, int]:
        """Retried with backoff while Redis is down: ingest pauses, as it would at the seq."""
        attempt = 0
        while True:
            try:
                return await self._versions.read(m.sdkappid for m in messages)
            except Exception as exc:  # noqa: BLE001 - retried until Redis is back
                log.warning("config versions unread; retrying", attempt=attempt, error=str(exc))
                await asyncio.sleep(backoff_s(attempt))
                attempt += 1

    async def _callback(self, msg: InboundMessage, version: int) -> CallbackConfig | None:
        """The app's callback configuration when it wants this before-send callback: checked
        here, so messages of apps without one skip the gRPC hop. The callback service runs the
        app's Easemob-style pre-send rules (client sends only) in the same call, after the
        Tencent callback: their timeouts extend the deadline, and an app with rules only is
        called too (open if the callback service cannot be reached)."""
        command = before_command(msg)
        app = await self._apps.get(msg.sdkappid, version)
        if app is None or command is None:
            return None
        config = config_of(app)
        wanted = config is not None and config.enabled(command) and not msg.forbid_before_callback
        tencent = config if wanted else None
        rules_s = pre_send_budget_s(app) if msg.source != SOURCE_REST else 0.0
        if not rules_s:
            return tencent
        if tencent is None:
            return CallbackConfig(url="", timeout_s=rules_s)
        return replace(tencent, timeout_s=tencent.timeout_s + rules_s)
