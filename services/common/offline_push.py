"""Tencent's OfflinePushInfo: checked once where a message comes in, carried on the message as
canonical JSON (`InboundMessage.offline_push_json`, `Message.offline_push_json`), and read by the
push service to shape each vendor's notification. Pure: no I/O.

Fields and types are Tencent's ("Common Parameters (OfflinePushInfo Description)",
trtc.io/document/77715; the message-format reference, cloud.tencent.com/document/product/269/2720):

- PushFlag (Integer) 0 push, 1 no offline push; Title, Desc, Ext (String).
- AndroidInfo: Sound, XiaoMiChannelID, OPPOChannelID, OPPOCategory, VIVOCategory,
  VIVONotifyType, HuaWeiChannelID, HuaWeiCategory, HuaWeiImportance, HuaWeiImage,
  HonorImportance, HonorImage, GoogleChannelID, GoogleImage, GooglePriority (String);
  PushStyle, VIVOClassification, ExtAsHuaweiIntentParam, MeiZuNoticeMsgType (Integer, 0 or 1)
  and OPPONotifyLevel (Integer 1, 2 or 16). Tencent keeps old fields next to the ones that
  replaced them: VIVOClassification (0 operations, 1 system) next to VIVOCategory, and
  HuaWeiImportance (LOW, NORMAL) next to HuaWeiCategory; both of each pair are taken.
- ApnsInfo: Sound, Title, SubTitle, Image, InterruptionLevel (String); BadgeMode, MutableContent,
  ContentAvailable, IsVoipPush (Integer, 0 or 1).

Keys Tencent does not define are ignored, as Tencent ignores them; so are the ones Tidings does
not carry (HarmonyInfo, MultiLanguageContent, BadgeAddNum, BadgeSetNum, PushTemplateId and
PushTemplateParam, ApnsInfo.LiveActivity, the OPPOPrivate* template fields). A wrong type or an
integer out of its documented values refuses the request with the caller's error code and a
message naming the field. The canonical JSON holds only the fields given, Tencent-named, keys
sorted; it is at most MAX_OFFLINE_PUSH_BYTES (our bound: Tencent states none, and APNs takes 4 KB
of payload in all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.common.errors import ErrorCode, TidingsError

MAX_OFFLINE_PUSH_BYTES = 8 * 1024

PUSH_FLAG_PUSH = 0
PUSH_FLAG_NO_PUSH = 1
BADGE_MODE_COUNT = 0

_FLAG = frozenset({0, 1})
_STRING = None

# name -> None for a string, or the integers the field may hold.
_TOP: dict[str, frozenset[int] | None] = {
    "PushFlag": _FLAG,
    "Title": _STRING,
    "Desc": _STRING,
    "Ext": _STRING,
}
_ANDROID: dict[str, frozenset[int] | None] = {
    "Sound": _STRING,
    "PushStyle": _FLAG,
    "XiaoMiChannelID": _STRING,
    "OPPOChannelID": _STRING,
    "OPPOCategory": _STRING,
    "OPPONotifyLevel": frozenset({1, 2, 16}),
    "VIVOClassification": _FLAG,
    "VIVOCategory": _STRING,
    "VIVONotifyType": _STRING,
    "HuaWeiChannelID": _STRING,
    "HuaWeiImportance": _STRING,
    "HuaWeiCategory": _STRING,
    "HuaWeiImage": _STRING,
    "ExtAsHuaweiIntentParam": _FLAG,
    "HonorImportance": _STRING,
    "HonorImage": _STRING,
    "GoogleChannelID": _STRING,
    "GoogleImage": _STRING,
    "GooglePriority": _STRING,
    "MeiZuNoticeMsgType": _FLAG,
}
_APNS: dict[str, frozenset[int] | None] = {
    "Sound": _STRING,
    "BadgeMode": _FLAG,
    "Title": _STRING,
    "SubTitle": _STRING,
    "Image": _STRING,
    "MutableContent": _FLAG,
    "InterruptionLevel": _STRING,
    "ContentAvailable": _FLAG,
    "IsVoipPush": _FLAG,
}
_SECTIONS = {"AndroidInfo": _ANDROID, "ApnsInfo": _APNS}

Value = str | int


class OfflinePushError(ValueError):
    """The OfflinePushInfo is malformed; the message names the field."""


def _scalar(value: Any, path: str, allowed: frozenset[int] | None) -> Value:
    if allowed is None:
        if not isinstance(value, str):
            raise OfflinePushError(f"{path} must be a string")
        return value
    # JSON true/false are not Tencent's Integer.
    if not isinstance(value, int) or isinstance(value, bool):
        raise OfflinePushError(f"{path} must be an integer")
    if value not in allowed:
        raise OfflinePushError(f"{path} must be one of {', '.join(map(str, sorted(allowed)))}")
    return value


def _section(raw: Any, path: str, spec: Mapping[str, frozenset[int] | None]) -> dict[str, Value]:
    if not isinstance(raw, dict):
        raise OfflinePushError(f"{path} must be an object")
    return {
        name: _scalar(raw[name], f"{path}.{name}", allowed)
        for name, allowed in spec.items()
        # Tencent's JSON writers often send null for an unset field.
        if raw.get(name) is not None
    }


def validate(raw: Any, name: str = "OfflinePushInfo") -> dict[str, Any]:
    """The known fields of an OfflinePushInfo object, checked; OfflinePushError if malformed."""
    out: dict[str, Any] = _section(raw, name, _TOP)
    for section, spec in _SECTIONS.items():
        if raw.get(section) is not None:
            checked = _section(raw[section], f"{name}.{section}", spec)
            if checked:
                out[section] = checked
    return out


def canonical_json(checked: Mapping[str, Any]) -> str:
    return orjson.dumps(checked, option=orjson.OPT_SORT_KEYS).decode() if checked else ""


def parse_offline_push(
    raw: Any, code: ErrorCode = ErrorCode.OPENIM_JSON, name: str = "OfflinePushInfo"
) -> str:
    """The canonical JSON to carry on the message ("" when there is none or it names nothing
    Tidings carries), or TidingsError(code) naming what is wrong. `name` is the field as the
    caller's request spells it, for the message."""
    if raw is None:
        return ""
    try:
        text = canonical_json(validate(raw, name))
    except OfflinePushError as exc:
        raise TidingsError(code, str(exc)) from exc
    if len(text.encode()) > MAX_OFFLINE_PUSH_BYTES:
        raise TidingsError(code, f"{name} is over {MAX_OFFLINE_PUSH_BYTES} bytes")
    return text


# What each adapter reads from Notification.extras (its EXTRA_* constants), and the Tencent field
# that fills it: (section, Tencent name, extras key). Left out, for want of an extra in the
# adapter: AndroidInfo.Sound, PushStyle, the images, OPPONotifyLevel, VIVONotifyType,
# HuaWeiCategory, HuaWeiImportance, ExtAsHuaweiIntentParam, the Honor fields, GooglePriority,
# MeiZuNoticeMsgType, and ApnsInfo.Image, InterruptionLevel, ContentAvailable, IsVoipPush.
_EXTRAS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "apns": (
        ("ApnsInfo", "Sound", "sound"),  # apns.EXTRA_SOUND
        ("ApnsInfo", "SubTitle", "subtitle"),  # apns.EXTRA_SUBTITLE
        ("ApnsInfo", "MutableContent", "mutable_content"),  # apns.EXTRA_MUTABLE_CONTENT
    ),
    "fcm": (
        ("AndroidInfo", "GoogleChannelID", "fcm_android_channel_id"),  # EXTRA_ANDROID_CHANNEL_ID
        ("ApnsInfo", "Sound", "fcm_apns_sound"),  # fcm.EXTRA_APNS_SOUND
    ),
    "huawei": (("AndroidInfo", "HuaWeiChannelID", "huawei_channel_id"),),  # EXTRA_CHANNEL_ID
    "xiaomi": (("AndroidInfo", "XiaoMiChannelID", "channel_id"),),  # xiaomi.EXTRA_CHANNEL_ID
    "oppo": (
        ("AndroidInfo", "OPPOChannelID", "channel_id"),  # oppo.EXTRA_CHANNEL_ID
        ("AndroidInfo", "OPPOCategory", "category"),  # oppo.EXTRA_CATEGORY
    ),
    "vivo": (
        ("AndroidInfo", "VIVOClassification", "classification"),  # vivo.EXTRA_CLASSIFICATION
        ("AndroidInfo", "VIVOCategory", "category"),  # vivo.EXTRA_CATEGORY
    ),
    "meizu": (),
}


@dataclass(frozen=True, slots=True)
class OfflinePush:
    """A message's OfflinePushInfo as the push service reads it (the defaults: none given)."""

    push_disabled: bool = False
    title: str = ""
    desc: str = ""
    ext: str = ""
    # Tencent's ApnsInfo.BadgeMode: 0 (the default for messages) counts the push in the
    # badge, 1 leaves the badge as it is.
    badge_mode: int = BADGE_MODE_COUNT
    android: Mapping[str, Value] = field(default_factory=dict)
    apns: Mapping[str, Value] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> OfflinePush:
        """From a message's offline_push_json ("" gives the defaults); OfflinePushError if it
        is not an OfflinePushInfo."""
        if not text:
            return cls()
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise OfflinePushError(f"offline_push_json is not JSON: {exc}") from exc
        checked = validate(raw)
        apns = checked.get("ApnsInfo", {})
        return cls(
            push_disabled=checked.get("PushFlag", PUSH_FLAG_PUSH) == PUSH_FLAG_NO_PUSH,
            title=checked.get("Title", ""),
            desc=checked.get("Desc", ""),
            ext=checked.get("Ext", ""),
            badge_mode=apns.get("BadgeMode", BADGE_MODE_COUNT),
            android=checked.get("AndroidInfo", {}),
            apns=apns,
        )

    @property
    def counts_badge(self) -> bool:
        return self.badge_mode == BADGE_MODE_COUNT

    def title_for(self, vendor: str) -> str:
        """The title to show: ApnsInfo.Title overrides Title on APNs (Tencent)."""
        if vendor == "apns":
            return str(self.apns.get("Title") or self.title)
        return self.title

    def extras_for(self, vendor: str) -> dict[str, str]:
        """Notification.extras for `vendor`'s adapter: the keys it reads, from the fields given
        (empty strings are left out: Tencent takes an empty field as unset)."""
        sections = {"AndroidInfo": self.android, "ApnsInfo": self.apns}
        out: dict[str, str] = {}
        for section, name, key in _EXTRAS.get(vendor, ()):
            value = sections[section].get(name)
            if value is not None and value != "":
                out[key] = str(value)
        return out
