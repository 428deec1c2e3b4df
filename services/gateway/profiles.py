"""Pure rules for the account, profile, presence and no-speaking commands: request parsing,
Tencent's profile-field types and limits, and deadline arithmetic. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.common import custom_fields
from services.common.errors import ErrorCode, TidingsError
from services.common.store.profiles import FOREVER, ProfileValue
from services.gateway import ids
from services.gateway.bounds import UINT32_MAX

MAX_VALUE_BYTES = 500
MAX_CUSTOM_TAGS = 20

NICK = "Tag_Profile_IM_Nick"
IMAGE = "Tag_Profile_IM_Image"
CUSTOM_PREFIX = custom_fields.RULES[custom_fields.PROFILE].prefix
# Tencent: the key after the prefix is English letters only, at most 8 of them.
_CUSTOM_KEY = custom_fields.RULES[custom_fields.PROFILE].name


@dataclass(frozen=True, slots=True)
class TagSpec:
    integer: bool
    default: ProfileValue
    choices: tuple[str, ...] = ()


def _text(default: str = "") -> TagSpec:
    return TagSpec(integer=False, default=default)


def _choice(*choices: str) -> TagSpec:
    return TagSpec(integer=False, default=choices[0], choices=choices)


_UINT32 = TagSpec(integer=True, default=0)

# Tencent's standard profile fields. Location follows the current reference (a string of at
# most 500 bytes); older pages said 16 bytes.
STANDARD_TAGS: dict[str, TagSpec] = {
    NICK: _text(),
    "Tag_Profile_IM_Gender": _choice(
        "Gender_Type_Unknown", "Gender_Type_Female", "Gender_Type_Male"
    ),
    "Tag_Profile_IM_BirthDay": _UINT32,
    "Tag_Profile_IM_Location": _text(),
    "Tag_Profile_IM_SelfSignature": _text(),
    "Tag_Profile_IM_AllowType": _choice(
        "AllowType_Type_NeedConfirm", "AllowType_Type_AllowAny", "AllowType_Type_DenyAny"
    ),
    "Tag_Profile_IM_Language": _UINT32,
    IMAGE: _text(),
    # Bit 0 set: no offline push for this user.
    "Tag_Profile_IM_MsgSettings": _UINT32,
    "Tag_Profile_IM_AdminForbidType": _choice("AdminForbid_Type_None", "AdminForbid_Type_SendOut"),
    "Tag_Profile_IM_Level": _UINT32,
    "Tag_Profile_IM_Role": _UINT32,
}
# A custom field declared without a type, or as a string; an integer one is a _UINT32.
_CUSTOM = _text()


# ---- accounts -------------------------------------------------------------------------------


def user_id(value: Any, field: str, code: ErrorCode) -> str:
    problem = ids.user_id_problem(value)
    if problem is not None:
        raise TidingsError(code, f"{field} {value!r} {problem}")
    return str(value)


def user_list(raw: Any, field: str, limit: int, code: ErrorCode) -> list[str]:
    """A JSON array of user ids, 1..limit of them, duplicates dropped, order kept."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(code, f"{field} must be a non-empty array")
    if len(raw) > limit:
        raise TidingsError(code, f"{field} has {len(raw)} entries; at most {limit} per request")
    return list(dict.fromkeys(user_id(v, f"{field} entry", code) for v in raw))


def user_items(raw: Any, field: str, limit: int, code: ErrorCode) -> list[str]:
    """Tencent's [{"UserID": ...}] arrays (DeleteItem, CheckItem)."""
    if not isinstance(raw, list) or not raw:
        raise TidingsError(code, f"{field} must be a non-empty array")
    if len(raw) > limit:
        raise TidingsError(code, f"{field} has {len(raw)} entries; at most {limit} per request")
    ids: list[str] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(code, f"each {field} entry must be an object with UserID")
        ids.append(user_id(item.get("UserID"), f"{field}.UserID", code))
    return list(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class ImportEntry:
    user_id: str
    # None: not given, the stored value (if any) stays.
    nick: str | None = None
    face_url: str | None = None


def _optional_text(item: dict[str, Any], field: str, code: ErrorCode) -> str | None:
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TidingsError(code, f"{field} must be a string")
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise TidingsError(code, f"{field} is longer than {MAX_VALUE_BYTES} bytes")
    return value


def import_entry(item: dict[str, Any], code: ErrorCode) -> ImportEntry:
    return ImportEntry(
        user_id(item.get("UserID", item.get("Identifier")), "UserID", code),
        _optional_text(item, "Nick", code),
        _optional_text(item, "FaceUrl", code),
    )


@dataclass(frozen=True, slots=True)
class ImportRequest:
    entries: list[ImportEntry]
    # Ids that cannot be imported (see ids.user_id_problem): reported in FailAccounts.
    rejected: list[str]


def multi_import(body: dict[str, Any], limit: int, code: ErrorCode) -> ImportRequest:
    """multiaccount_import: the old form {"Accounts": [ids]} or the new one
    {"AccountList": [{"UserID", "Nick", "FaceUrl"}]}. An entry that is the wrong JSON type fails
    the request; a string id that cannot be an account is reported in FailAccounts."""
    if "AccountList" in body:
        raw, field = body["AccountList"], "AccountList"
    else:
        raw, field = body.get("Accounts"), "Accounts"
    if not isinstance(raw, list) or not raw:
        raise TidingsError(code, "Accounts (or AccountList) must be a non-empty array")
    if len(raw) > limit:
        raise TidingsError(code, f"{field} has {len(raw)} entries; at most {limit} per request")
    entries: dict[str, ImportEntry] = {}
    rejected: list[str] = []
    for item in raw:
        if field == "AccountList":
            if not isinstance(item, dict):
                raise TidingsError(code, "each AccountList entry must be an object with UserID")
            raw_id = item.get("UserID")
        else:
            raw_id = item
        if not isinstance(raw_id, str):
            raise TidingsError(code, f"each {field} user id must be a string")
        if ids.user_id_problem(raw_id) is not None:
            rejected.append(raw_id)
            continue
        # A repeated id: the last entry wins, as a second import of it would.
        entries[raw_id] = (
            import_entry(item, code) if isinstance(item, dict) else ImportEntry(raw_id)
        )
    return ImportRequest(list(entries.values()), list(dict.fromkeys(rejected)))


# ---- profile fields -------------------------------------------------------------------------


def is_custom_tag(tag: str) -> bool:
    return tag.startswith(CUSTOM_PREFIX) and bool(_CUSTOM_KEY.fullmatch(tag[len(CUSTOM_PREFIX) :]))


# The declared profile fields by tag (services/common/custom_fields.py); None: the app
# declared none, and any valid custom tag is accepted, up to MAX_CUSTOM_TAGS distinct ones.
Declared = Mapping[str, custom_fields.Field] | None
ADMIN_READ = "admin_read"
ADMIN_WRITE = "admin_write"


def declared_custom_fields(settings: Mapping[str, object]) -> Declared:
    """The app's declared custom profile fields (also its older `profile_custom_fields`
    list, every permission granted)."""
    return custom_fields.declared(settings, custom_fields.PROFILE)


def check_tag(tag: str, declared: Declared, permission: str) -> TagSpec:
    """The tag's value rules. A custom tag must be declared (40009, Tencent's "invalid field:
    you may not configure custom fields in the console") and grant `permission` (40004)."""
    spec = STANDARD_TAGS.get(tag)
    if spec is not None:
        return spec
    if not is_custom_tag(tag):
        raise TidingsError(ErrorCode.PROFILE_TAG_NOT_FOUND, f"profile tag {tag!r} does not exist")
    if declared is None:
        return _CUSTOM
    field = declared.get(tag)
    if field is None:
        raise TidingsError(
            ErrorCode.PROFILE_TAG_NOT_FOUND,
            f"invalid field: {tag} is not a custom profile field of this app: declare it first",
        )
    if permission not in field.permissions:
        raise TidingsError(
            ErrorCode.PROFILE_NO_PERMISSION, f"{tag} does not grant the {permission} permission"
        )
    return _UINT32 if field.type == custom_fields.INTEGER else _CUSTOM


def check_value(tag: str, spec: TagSpec, value: Any) -> ProfileValue:
    if spec.integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TidingsError(ErrorCode.PROFILE_VALUE_TYPE, f"{tag} must be an integer")
        if not 0 <= value <= UINT32_MAX:
            raise TidingsError(ErrorCode.PROFILE_VALUE_ERROR, f"{tag} must be in [0, {UINT32_MAX}]")
        return value
    if not isinstance(value, str):
        raise TidingsError(ErrorCode.PROFILE_VALUE_TYPE, f"{tag} must be a string")
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise TidingsError(
            ErrorCode.PROFILE_VALUE_TOO_LONG, f"{tag} is longer than {MAX_VALUE_BYTES} bytes"
        )
    if spec.choices and value not in spec.choices:
        raise TidingsError(
            ErrorCode.PROFILE_VALUE_ERROR, f"{tag} must be one of {', '.join(spec.choices)}"
        )
    return value


def profile_items(
    raw: Any, declared: Declared, permission: str = ADMIN_WRITE
) -> dict[str, ProfileValue]:
    """portrait_set's ProfileItem [{Tag, Value}] as {tag: value}; a repeated tag: the last wins."""
    bad = ErrorCode.PROFILE_INVALID_PARAM
    if not isinstance(raw, list) or not raw:
        raise TidingsError(bad, "ProfileItem must be a non-empty array")
    values: dict[str, ProfileValue] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Tag"), str):
            raise TidingsError(bad, "each ProfileItem entry must be an object with a string Tag")
        if "Value" not in item:
            raise TidingsError(bad, f"ProfileItem {item['Tag']} has no Value")
        tag: str = item["Tag"]
        values[tag] = check_value(tag, check_tag(tag, declared, permission), item["Value"])
    return values


def tag_list(raw: Any, declared: Declared, permission: str = ADMIN_READ) -> list[str]:
    bad = ErrorCode.PROFILE_INVALID_PARAM
    if not isinstance(raw, list) or not raw:
        raise TidingsError(bad, "TagList must be a non-empty array")
    if not all(isinstance(t, str) for t in raw):
        raise TidingsError(bad, "TagList entries must be strings")
    tags = list(dict.fromkeys(raw))
    for tag in tags:
        check_tag(tag, declared, permission)
    return tags


def new_custom_tags(values: Iterable[str], known: set[str], declared: Declared) -> list[str]:
    """Custom tags a portrait_set introduces to the app. Without declared fields an app may use
    MAX_CUSTOM_TAGS distinct ones, as many as Tencent's console lets it declare."""
    new = [t for t in dict.fromkeys(values) if is_custom_tag(t) and t not in known]
    if declared is None and len(known) + len(new) > MAX_CUSTOM_TAGS:
        raise TidingsError(
            ErrorCode.PROFILE_TAG_NOT_FOUND,
            f"the app already uses {len(known)} custom profile fields; at most "
            f"{MAX_CUSTOM_TAGS}, so {', '.join(new)} cannot be added",
        )
    return new


def profile_item_list(
    tags: Iterable[str], stored: Mapping[str, ProfileValue]
) -> list[dict[str, ProfileValue]]:
    """portrait_get's ProfileItem: every asked tag, with its default when never set."""
    return [{"Tag": t, "Value": stored.get(t, _default(t))} for t in tags]


def _default(tag: str) -> ProfileValue:
    spec = STANDARD_TAGS.get(tag)
    return spec.default if spec is not None else ""


# ---- presence -------------------------------------------------------------------------------

# Tencent's Detail platforms: iPhone, Android, Web, PC, iPad, Mac.
_TENCENT_PLATFORM = {"Windows": "PC", "Linux": "PC"}


def presence(platforms: Sequence[str], need_detail: bool) -> dict[str, Any]:
    """querystate's Status (and Detail) for one user from the platforms of their sessions.

    PushOnline (offline but reachable by push) needs a push-token registry, which Tidings does
    not have yet: a user with no session is Offline.
    """
    if not platforms:
        return {"Status": "Offline"}
    result: dict[str, Any] = {"Status": "Online"}
    if need_detail:
        shown = sorted(_TENCENT_PLATFORM.get(p, p) for p in platforms)
        result["Detail"] = [{"Platform": p, "Status": "Online"} for p in shown]
    return result


# ---- global no-speaking ---------------------------------------------------------------------

# Tencent's "muted forever" in setnospeaking / getnospeaking.
NO_SPEAKING_FOREVER_S = UINT32_MAX


def no_speaking_deadline(seconds: int, now: int) -> int:
    """setnospeaking's seconds as a deadline: 0 lifts, 4294967295 never ends."""
    if seconds == 0:
        return 0
    if seconds == NO_SPEAKING_FOREVER_S:
        return FOREVER
    return now + seconds


def no_speaking_remaining(deadline: int, now: int) -> int:
    """getnospeaking's seconds left: 0 when not muted, 4294967295 when muted forever."""
    if deadline >= FOREVER:
        return NO_SPEAKING_FOREVER_S
    return max(0, deadline - now)
