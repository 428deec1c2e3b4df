"""An app's messaging switches (Tencent console settings) in App.settings, with their defaults
and bounds. Pure.

Each setting keeps its own key in App.settings, read where it applies (login modes, recall,
throttle, send rules, live groups, quotas, history retention, the conversation list, group
receipts, pre-join history, the feature switches) through `value` (a feature switch through
`require_feature`).
This module is the one place that validates a change before it is stored (the admin API and the
CLI), that reads a stored value (falling back to the default when it does not pass), and that
shows every current value.

History retention is also the one table of retention per edition: audit's archive TTL and every
history read follow `retention_days`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.common.errors import ErrorCode, TidingsError
from services.common.live_recent import MAX_KEPT
from services.common.store.ports import App

# Retention per edition, in days: (the default, the most that may be chosen). Tencent keeps 7
# days, 30 free on Ultimate (Premium); extending it is a paid add-on that the trial edition
# (Developer) cannot buy. Tidings bills nothing, so Standard and Premium may choose up to 360.
RETENTION_DAYS: dict[str, tuple[int, int]] = {
    "Developer": (7, 7),
    "Standard": (7, 360),
    "Premium": (30, 360),
}
MAX_RETENTION_DAYS = max(most for _, most in RETENTION_DAYS.values())
# Where the month of the last retention change is kept (Tencent: one change a calendar month).
RETENTION_CHANGED_MONTH = "history_retention_changed_month"
RECEIPT_GROUP_TYPES = ("Work", "Public", "Meeting")
# Tencent's group read receipts are for groups of at most 200 members.
MAX_RECEIPT_GROUP_MEMBERS = 200

# Tencent's 拉取入群前漫游消息, per group type (not AVChatRoom, which keeps no history). Its
# default (Tencent's FAQ, and what Tidings always did): Meeting and Community members read what
# was said before they joined, Work and Public members read from their join on.
HistoryGroupType = Literal["Community", "Meeting", "Public", "Work"]
HISTORY_GROUP_TYPES: tuple[str, ...] = get_args(HistoryGroupType)
DEFAULT_PRE_JOIN_HISTORY_TYPES: list[HistoryGroupType] = ["Community", "Meeting"]

ReceiptGroupTypes = Annotated[
    list[Literal["Work", "Public", "Meeting"]],
    Field(max_length=len(RECEIPT_GROUP_TYPES)),
    AfterValidator(lambda types: sorted(set(types))),
]
HistoryGroupTypes = Annotated[
    list[HistoryGroupType],
    Field(max_length=len(HISTORY_GROUP_TYPES)),
    AfterValidator(lambda types: sorted(set(types))),
]
# Tencent's 群系统通知配置, per group type: member changes and group profile changes are told in
# every type but AVChatRoom (the types that keep history), member profile changes in all five.
# Tencent gives no defaults; every type is told, as its SDKs' group tips assume.
GroupType = Literal["AVChatRoom", "Community", "Meeting", "Public", "Work"]
GROUP_TYPES: tuple[str, ...] = get_args(GroupType)
EVERY_GROUP_TYPE: list[GroupType] = list(get_args(GroupType))
EVERY_HISTORY_GROUP_TYPE: list[HistoryGroupType] = list(get_args(HistoryGroupType))
GroupTypes = Annotated[
    list[GroupType],
    Field(max_length=len(GROUP_TYPES)),
    AfterValidator(lambda types: sorted(set(types))),
]


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


# What each feature switch turns on, for refusals; a switch that needs another names it.
FEATURE_NAMES: dict[str, str] = {
    "community": "Community groups",
    "community_topics": "Topics in Communities (needs `community`)",
    "msg_extensions": "Message extensions",
    "user_status": "User status query and subscription",
    "avchatroom_broadcast": "Live-group broadcast messages",
    "avchatroom_member_list": "The live-group online member list",
    "conversation_delete_sync": "Syncing a conversation's deletion to the user's other devices",
    "follow": "Follow and fans (the follow REST commands)",
}

# What `make run`'s demo app turns on, so that a developer trying Tidings meets no refusal:
# every feature switch, and read receipts in every group type that can have them.
DEMO_SETTINGS: dict[str, Any] = {name: True for name in FEATURE_NAMES} | {
    "group_receipt_types": list(RECEIPT_GROUP_TYPES)
}


def _switch(key: str) -> Any:
    return Field(default=False, description=f"{FEATURE_NAMES[key]}; off by default")


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
    history_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="days history is kept (null: the edition's, 7 or 30 on Premium); "
        "one change a calendar month",
    )
    conversation_pull_count: int = Field(
        default=100, ge=1, le=500, description="the most conversations one pull returns"
    )
    group_receipt_types: ReceiptGroupTypes = Field(
        default_factory=list,
        description="group types whose messages may ask for read receipts (groups of at most "
        f"{MAX_RECEIPT_GROUP_MEMBERS} members)",
    )
    pre_join_history_types: HistoryGroupTypes = Field(
        default_factory=lambda: list(DEFAULT_PRE_JOIN_HISTORY_TYPES),
        description="group types whose new members may pull the messages sent before they "
        "joined (the others read from their join on)",
    )
    avchatroom_pre_join_msgs: int = Field(
        default=0,
        ge=0,
        le=MAX_KEPT,
        description="how many of a live group's latest messages a member who joins it gets "
        "(0: none)",
    )
    group_tips_member_change: HistoryGroupTypes = Field(
        default_factory=lambda: list(EVERY_HISTORY_GROUP_TYPE),
        description="group types whose members are told when members join or leave",
    )
    group_tips_group_info: HistoryGroupTypes = Field(
        default_factory=lambda: list(EVERY_HISTORY_GROUP_TYPE),
        description="group types whose members are told when the group's profile changes",
    )
    group_tips_member_info: GroupTypes = Field(
        default_factory=lambda: list(EVERY_GROUP_TYPE),
        description="group types whose members are told when a member's role or mute changes",
    )
    default_allow_type: Literal[
        "AllowType_Type_NeedConfirm", "AllowType_Type_AllowAny", "AllowType_Type_DenyAny"
    ] = Field(
        default="AllowType_Type_AllowAny",
        description="add-friend verification of accounts that set no Tag_Profile_IM_AllowType",
    )
    blocklist_keeps_friendship: bool = Field(
        default=False, description="blocklisting a friend keeps the friendship (WeChat-style)"
    )
    # Feature switches (Tencent's 功能配置), all off by default as in Tencent's console.
    community: bool = _switch("community")
    community_topics: bool = _switch("community_topics")
    msg_extensions: bool = _switch("msg_extensions")
    user_status: bool = _switch("user_status")
    avchatroom_broadcast: bool = _switch("avchatroom_broadcast")
    avchatroom_member_list: bool = _switch("avchatroom_member_list")
    conversation_delete_sync: bool = _switch("conversation_delete_sync")
    follow: bool = _switch("follow")


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


class RetentionChangedThisMonth(InvalidSetting):
    """Tencent allows one history retention change a calendar month."""


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


def retention_days(app: App) -> int:
    """How many days the app's history is kept: its choice, else its edition's default, never
    more than its edition allows (an app moved to a smaller edition keeps less)."""
    default, most = RETENTION_DAYS.get(app.edition, RETENTION_DAYS["Developer"])
    return min(value(app.settings, "history_retention_days") or default, most)


def oldest_kept_ms(app: App, now_ms: int) -> int:
    """The server time (ms) of the oldest message history still returns."""
    return now_ms - retention_days(app) * 86_400_000


def receipts_enabled(settings: Mapping[str, Any], group_type: str) -> bool:
    return group_type in value(settings, "group_receipt_types")


def sees_history_before_join(settings: Mapping[str, Any], group_type: str) -> bool:
    """Whether a new member of a group of this type may read what was said before the join."""
    return group_type in value(settings, "pre_join_history_types")


def _month(now_s: int) -> str:
    return time.strftime("%Y-%m", time.gmtime(now_s))


def _next_month(month: str) -> str:
    year, mon = (int(part) for part in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01"


def next_retention_change(settings: Mapping[str, Any], now_s: int) -> str | None:
    """The UTC date from which retention may change again, or None when it may change now."""
    changed = settings.get(RETENTION_CHANGED_MONTH)
    return _next_month(changed) if changed == _month(now_s) else None


def view(app: App, now_s: int) -> dict[str, Any]:
    """Every messaging setting as it applies, stored values over defaults; retention as the
    days in force, with the date it may next change (null: now)."""
    shown = MessagingSettings.model_construct(
        **{k: value(app.settings, k) for k in KEYS}
    ).model_dump()
    shown["history_retention_days"] = retention_days(app)
    shown["history_retention_next_change"] = next_retention_change(app.settings, now_s)
    return shown


def apply(app: App, changes: Mapping[str, Any], now_s: int) -> None:
    """Validate every change first, then store them all: nothing is stored if one is wrong.
    A None value removes the setting, so its default applies again. A retention change that
    changes the days in force counts as the month's one change."""
    settings = app.settings
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise InvalidSetting(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    given = {k: v for k, v in changes.items() if v is not None}
    try:
        parsed = MessagingSettings.model_validate(given)
    except ValidationError as err:
        raise InvalidSetting(_errors(err)) from None
    dumped = parsed.model_dump()
    retention_changed = False
    if "history_retention_days" in changes:
        retention_changed = _check_retention(app, parsed.history_retention_days, now_s)
    for key, new in changes.items():
        if new is None:
            settings.pop(key, None)
        else:
            settings[key] = dumped[key]
    if retention_changed:
        settings[RETENTION_CHANGED_MONTH] = _month(now_s)


def _check_retention(app: App, days: int | None, now_s: int) -> bool:
    """Whether setting `days` (None: the edition's default) changes the days in force; refused
    above the edition's most, or a second time in a calendar month."""
    default, most = RETENTION_DAYS.get(app.edition, RETENTION_DAYS["Developer"])
    if days is not None and days > most:
        raise InvalidSetting(
            f"history_retention_days: the {app.edition} edition keeps history at most {most} days"
        )
    if (days or default) == retention_days(app):
        return False
    allowed_from = next_retention_change(app.settings, now_s)
    if allowed_from is not None:
        raise RetentionChangedThisMonth(
            "history_retention_days changes once a calendar month and was changed this month; "
            f"the next change is allowed from {allowed_from} (UTC)"
        )
    return True


_NEEDS: dict[str, str] = {"community_topics": "community"}


def feature_on(settings: Mapping[str, Any], switch: str) -> bool:
    """Whether a feature switch is on (and the switch it needs, as topics need communities)."""
    needed = _NEEDS.get(switch)
    return bool(value(settings, switch)) and (needed is None or feature_on(settings, needed))


def require_feature(settings: Mapping[str, Any], switch: str, code: ErrorCode) -> None:
    """Refuse with `code` while the app has the feature switched off."""
    if not feature_on(settings, switch):
        switches = " and ".join(f"`{s}`" for s in (_NEEDS.get(switch), switch) if s)
        raise TidingsError(
            code,
            f"{FEATURE_NAMES[switch]}: switched off for this app; turn on {switches} in the "
            "console's Feature settings (PATCH /admin/apps/{id}/messaging)",
        )


def conversation_page(settings: Mapping[str, Any], requested: int) -> int:
    """How many conversations one pull returns: what the client asked for (0: no preference),
    at most the app's `conversation_pull_count`."""
    most = int(value(settings, "conversation_pull_count"))
    return min(requested, most) if requested > 0 else most
