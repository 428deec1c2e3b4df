"""An app's sensitive-word actions, kept in App.settings["sensitive_words"]. Pure.

Two lists apply to an app's messages (SPEC §5: "action per app and list"): the built-in list
(shipped with the router, plus the operator's file) and the app's custom words
(openim_dirty_words). Each one masks matches with `***`, blocks the message with Tencent's
80001, or is off. Defaults: the built-in list masks (it is generic, so it should not refuse
messages unless the app asks); the custom list blocks, as Tencent does with an app's dirty
words (80001).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from services.common.store.ports import App

SETTINGS_KEY = "sensitive_words"
ListAction: TypeAlias = Literal["mask", "block", "off"]
ACTIONS: tuple[ListAction, ...] = ("mask", "block", "off")
_FIELDS = ("builtin", "custom")


@dataclass(frozen=True, slots=True)
class WordActions:
    builtin: ListAction = "mask"
    custom: ListAction = "block"

    def doc(self) -> dict[str, str]:
        return {"builtin": self.builtin, "custom": self.custom}


def _action(raw: object, name: str) -> ListAction:
    if raw not in ACTIONS:
        raise ValueError(f"{name} must be one of {', '.join(ACTIONS)}")
    return raw


def parse_actions(raw: object, base: WordActions | None = None) -> WordActions:
    """Fields not given keep their value in `base` (the defaults when None)."""
    if not isinstance(raw, Mapping):
        raise ValueError("sensitive_words must be an object with builtin and custom")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ValueError(f"sensitive_words has unknown fields {sorted(unknown)}")
    current = base or WordActions()
    return WordActions(
        builtin=_action(raw.get("builtin", current.builtin), "builtin"),
        custom=_action(raw.get("custom", current.custom), "custom"),
    )


def actions_of(app: App | None) -> WordActions:
    raw = app.settings.get(SETTINGS_KEY) if app else None
    if raw is None:
        return WordActions()
    try:
        return parse_actions(raw)
    except ValueError:
        # Only validated values are written; an unreadable one falls back to the defaults.
        return WordActions()
