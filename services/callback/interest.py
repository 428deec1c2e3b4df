"""Which records of its topics an app can use, decided from the app's settings alone. Pure.

The callback service reads every record of im.messages, im.events and im.push, but most apps
configure no callback and no rule. Every record's Kafka key starts with its SDKAppID
(`sdkappid:conversation`, `sdkappid:entity`, `sdkappid:user`), so the consumers read the app
from the key, look its settings up (AppCache) and skip the record, without decoding its value,
unless the app has something that could use it:

| topic       | used when the app has                                                   |
|-------------|-------------------------------------------------------------------------|
| im.messages | an enabled after-send or recall command, or an enabled `chat` rule        |
| im.events   | an enabled after-event command (events.SHAPES)                          |
| im.push     | an enabled `offline` post-send rule                                     |

The decision is per app, not per message: a record of a wanted topic is decoded even if, once
read, none of the app's commands or rules applies to it (a group message of an app that only
enabled C2C.CallbackAfterSendMsg, a message its rules' filters leave out).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.callback.after import MESSAGE_COMMANDS
from services.callback.events import EVENT_COMMANDS
from services.common import topics
from services.common.callback_config import CallbackConfig, config_of
from services.common.callback_rules import PostSendRule, rules_of
from services.common.store.ports import App


@dataclass(frozen=True, slots=True)
class Interest:
    """The record kinds an app wants."""

    messages: bool = False  # im.messages: after-send / recall callbacks, chat-stream rules
    events: bool = False  # im.events: after-event callbacks
    offline: bool = False  # im.push: offline-stream rules

    def wants(self, topic: str) -> bool:
        if topic == topics.MESSAGES.name:
            return self.messages
        if topic == topics.EVENTS.name:
            return self.events
        if topic == topics.PUSH.name:
            return self.offline
        return False

    @property
    def anything(self) -> bool:
        return self.messages or self.events or self.offline


NOTHING = Interest()


def interest(config: CallbackConfig | None, post_send: tuple[PostSendRule, ...]) -> Interest:
    """What an app with this callback configuration and these post-send rules wants."""

    def any_enabled(commands: frozenset[str]) -> bool:
        return config is not None and any(config.enabled(c) for c in commands)

    enabled = [r for r in post_send if r.enabled]
    return Interest(
        messages=any_enabled(MESSAGE_COMMANDS) or any(r.stream == "chat" for r in enabled),
        events=any_enabled(EVENT_COMMANDS),
        offline=any(r.stream == "offline" for r in enabled),
    )


@dataclass(frozen=True, slots=True)
class AppView:
    """What the callback paths need of one app record, parsed once: its callback
    configuration, its enabled post-send rules of each stream, and what it wants."""

    app: App
    config: CallbackConfig | None
    chat_rules: tuple[PostSendRule, ...]
    offline_rules: tuple[PostSendRule, ...]
    interest: Interest

    def callback(self, command: str) -> CallbackConfig | None:
        """The app's callback configuration if it enabled `command`."""
        config = self.config
        return config if config is not None and config.enabled(command) else None

    def rules(self, stream: str) -> tuple[PostSendRule, ...]:
        return self.chat_rules if stream == "chat" else self.offline_rules


def view_of(app: App) -> AppView:
    config = config_of(app)
    post_send = rules_of(app).post_send
    enabled = [r for r in post_send if r.enabled]
    return AppView(
        app=app,
        config=config,
        chat_rules=tuple(r for r in enabled if r.stream == "chat"),
        offline_rules=tuple(r for r in enabled if r.stream == "offline"),
        interest=interest(config, post_send),
    )


def interest_of(app: App | None) -> Interest:
    """What an app (None: no such app) wants."""
    return view_of(app).interest if app is not None else NOTHING
