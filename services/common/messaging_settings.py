"""An app's messaging switches (Tencent console settings) in App.settings, with their defaults
and bounds. Pure.

Each setting keeps its own key in App.settings, read where it applies (login modes, recall,
throttle, send rules, live groups, quotas) through `value`. This module is the one place that
validates a change before it is stored (the admin API and the CLI), that reads a stored value
(falling back to the default when it does not pass), and that shows every current value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class LoginSetting(BaseModel):
    """Tencent's 多平台登录策略: 1 one device, 2 one mobile plus one PC/Web, 3 one per platform,
    4 several per platform (`per_platform`, and `web` for Web)."""

    model_config = ConfigDict(extra="forbid")
    mode: int = Field(default=4, ge=1, le=4)
    per_platform: int = Field(default=3, ge=1, le=3)
    web: int = Field(default=10, ge=1, le=10)


class SendRate(BaseModel):
    """At most `limit` messages per `per_s` seconds for each sender."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(ge=1, le=1_000_000)
    per_s: int = Field(default=1, ge=1, le=86_400)


class MessagingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginSetting = Field(default_factory=LoginSetting)
    recall_window_s: int = Field(
        default=120, gt=0, le=7 * 86_400, description="how long a sender may recall a message"
    )
    send_rate: SendRate = Field(
        default_factory=lambda: SendRate(limit=2, per_s=1), description="per-sender throttle"
    )
    c2c_friend_check: bool = Field(
        default=False, description="C2C only between friends (20009 otherwise)"
    )
    blocklist_send_error: bool = Field(
        default=False,
        description="a sender the recipient blocked gets 20007 instead of a silent success",
    )
    avchatroom_msg_rate: int = Field(
        default=1, ge=1, le=5, description="messages a second per live (AVChatRoom) group"
    )
    group_member_addon: bool = Field(
        default=False, description="Premium only: 6,000 members a group instead of 2,000"
    )


KEYS: tuple[str, ...] = tuple(MessagingSettings.model_fields)
DEFAULTS = MessagingSettings()


def _validator(annotation: Any, metadata: list[Any]) -> TypeAdapter[Any]:
    """One setting's type with its bounds: readers check one key, on the message path."""
    form: Any = Annotated[annotation, *metadata] if metadata else annotation
    return TypeAdapter(form)


_VALIDATORS = {
    key: _validator(field.annotation, field.metadata)
    for key, field in MessagingSettings.model_fields.items()
}


class InvalidSetting(ValueError):
    pass


def _errors(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors(include_url=False)
    )


def value(settings: Mapping[str, Any], key: str) -> Any:
    """One setting as it applies: the stored value, or the default when there is none or it
    does not pass (a value written by hand)."""
    if key in settings:
        try:
            return _VALIDATORS[key].validate_python(settings[key])
        except ValidationError:
            pass
    return getattr(DEFAULTS, key)


def view(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every messaging setting as it applies, stored values over defaults."""
    return MessagingSettings.model_construct(**{k: value(settings, k) for k in KEYS}).model_dump()


def apply(settings: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Validate every change first, then store them all: nothing is stored if one is wrong.
    A None value removes the setting, so its default applies again."""
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise InvalidSetting(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    given = {k: v for k, v in changes.items() if v is not None}
    try:
        parsed = MessagingSettings.model_validate(given)
    except ValidationError as err:
        raise InvalidSetting(_errors(err)) from None
    dumped = parsed.model_dump()
    for key, value in changes.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = dumped[key]
