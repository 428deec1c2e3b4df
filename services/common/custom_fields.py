"""Tencent's custom fields, declared per app (the console's 用户自定义字段, 好友自定义字段,
群自定义字段 and 群成员自定义字段) and the rules the server checks them by. Pure: no I/O.

Four kinds, each stored as a list of declarations under its own app setting (RULES):
- profile: `Tag_Profile_Custom_<name>`, name 1-8 English letters, at most 20, string or
  integer, with the four permissions app read/write and admin read/write (at least one read
  and one write);
- friend: `Tag_SNS_Custom_<name>`, the same name rule, at most 20, string or integer;
- group: an AppDefinedData key, name of letters, digits and _ not starting with a digit, at
  most 16, at most 10, string, with a read and a write permission per group type;
- member: an AppMemberDefinedData key, the group rules plus a self permission, at most 5, and
  no name equal to a group field's.

A declaration is never deleted, renamed or retyped; its permissions change, and a group or
member field gains group types but never loses one. An app that declared nothing of a kind
keeps Tidings' earlier behaviour for that kind: any well-formed name is accepted (Tencent
rejects every undeclared field; this keeps apps made before declarations working).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.common.errors import ErrorCode, TidingsError

KINDS: tuple[str, ...] = ("profile", "friend", "group", "member")
PROFILE, FRIEND, GROUP, MEMBER = KINDS

STRING = "string"
INTEGER = "integer"
_TAG_NAME = re.compile(r"[A-Za-z]{1,8}")
_TAG_RULE = "1 to 8 English letters"
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,15}")
_KEY_RULE = "1 to 16 letters, digits or _, not starting with a digit"


@dataclass(frozen=True, slots=True)
class KindRules:
    # The app setting holding the kind's declarations.
    settings_key: str
    max_fields: int
    # Before the name on the wire ("" for group data keys).
    prefix: str
    types: tuple[str, ...]
    name: re.Pattern[str]
    name_rule: str


# Group data values are strings in Tencent's API ({Key, Value} with a string Value).
RULES: dict[str, KindRules] = {
    PROFILE: KindRules(
        "custom_profile_fields", 20, "Tag_Profile_Custom_", (STRING, INTEGER), _TAG_NAME, _TAG_RULE
    ),
    FRIEND: KindRules(
        "custom_friend_fields", 20, "Tag_SNS_Custom_", (STRING, INTEGER), _TAG_NAME, _TAG_RULE
    ),
    GROUP: KindRules("custom_group_fields", 10, "", (STRING,), _KEY_NAME, _KEY_RULE),
    MEMBER: KindRules("custom_member_fields", 5, "", (STRING,), _KEY_NAME, _KEY_RULE),
}
# Before declarations: a list of profile field names ("Test" or "Tag_Profile_Custom_Test"),
# all permissions granted. Read while the app has no custom_profile_fields, and replaced by it
# on the first declaration.
LEGACY_PROFILE_KEY = "profile_custom_fields"

GROUP_TYPES: tuple[str, ...] = ("Work", "Public", "Meeting", "AVChatRoom", "Community")
_GROUP_TYPE_NAMES = {**{t: t for t in GROUP_TYPES}, "Private": "Work", "ChatRoom": "Meeting"}

# Who may read or write a group or member field: anyone, a member, an admin (or the owner),
# the owner only.
LEVELS: tuple[str, ...] = ("everyone", "member", "admin", "owner")
# What a member may do with their own member field.
SELF_LEVELS: tuple[str, ...] = ("read_write", "read", "write", "none")
PROFILE_PERMISSIONS: tuple[str, ...] = ("app_read", "app_write", "admin_read", "admin_write")
ROW_DEFAULTS: dict[str, str] = {"read": "member", "write": "admin", "self": "read_write"}


class CustomFieldError(ValueError):
    """A declaration or change that breaks a rule; the message says which."""


class FieldExists(CustomFieldError):
    pass


class FieldNotFound(CustomFieldError):
    pass


@dataclass(frozen=True, slots=True)
class Row:
    """A group or member field's permissions for one group type."""

    read: str
    write: str
    # Member fields only.
    self_access: str | None = None

    def doc(self) -> dict[str, str]:
        doc = {"read": self.read, "write": self.write}
        if self.self_access is not None:
            doc["self"] = self.self_access
        return doc


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    name: str
    type: str = STRING
    # Profile fields: the granted permissions out of PROFILE_PERMISSIONS.
    permissions: frozenset[str] = frozenset()
    # Group and member fields: group type -> permissions.
    rows: Mapping[str, Row] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """Its name on the wire: the prefixed tag, or the group data key."""
        return RULES[self.kind].prefix + self.name

    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "tag": self.tag, "type": self.type}
        if self.kind == PROFILE:
            doc.update({p: p in self.permissions for p in PROFILE_PERMISSIONS})
        elif self.kind in (GROUP, MEMBER):
            doc["types"] = {t: r.doc() for t, r in self.rows.items()}
        return doc


# ---- reading what an app declared ---------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise FieldNotFound(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    return kind


def fields_of(settings: Mapping[str, object], kind: str) -> tuple[Field, ...]:
    """The app's declarations of a kind, in declaration order. A stored entry that is not
    well formed (written by hand) is skipped."""
    raw = settings.get(RULES[_kind(kind)].settings_key)
    if kind == PROFILE and raw is None:
        return _legacy_profile_fields(settings.get(LEGACY_PROFILE_KEY))
    if not isinstance(raw, list):
        return ()
    found: list[Field] = []
    for doc in raw:
        try:
            found.append(_parse(kind, doc))
        except CustomFieldError:
            continue
    return tuple(found)


def _legacy_profile_fields(raw: object) -> tuple[Field, ...]:
    if not isinstance(raw, list):
        return ()
    prefix = RULES[PROFILE].prefix
    names = (n.removeprefix(prefix) for n in raw if isinstance(n, str))
    return tuple(
        Field(PROFILE, n, permissions=frozenset(PROFILE_PERMISSIONS))
        for n in dict.fromkeys(names)
        if _TAG_NAME.fullmatch(n)
    )


def declared(settings: Mapping[str, object], kind: str) -> dict[str, Field] | None:
    """The declarations of a kind by wire tag; None when the app declared none of that kind
    (then any well-formed name is accepted). A legacy profile list, even empty, declares."""
    found = fields_of(settings, kind)
    legacy = kind == PROFILE and RULES[PROFILE].settings_key not in settings
    if not found and not (legacy and LEGACY_PROFILE_KEY in settings):
        return None
    return {f.tag: f for f in found}


def view(settings: Mapping[str, object]) -> dict[str, object]:
    """Every kind's declarations, as the admin API shows them."""
    return {kind: [f.doc() for f in fields_of(settings, kind)] for kind in KINDS}


# ---- declaring and changing ----------------------------------------------------------------


def _object(raw: object, what: str, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CustomFieldError(f"{what} must be an object")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise CustomFieldError(f"{what}: unknown field(s) {', '.join(map(str, unknown))}")
    return raw


def _choice(raw: object, what: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise CustomFieldError(f"{what} must be one of {', '.join(choices)}, not {raw!r}")
    return str(raw)


def group_type(raw: object) -> str:
    """A group type by its current or legacy name (Private is Work, ChatRoom is Meeting)."""
    if not isinstance(raw, str) or raw not in _GROUP_TYPE_NAMES:
        raise CustomFieldError(f"unknown group type {raw!r}: one of {', '.join(GROUP_TYPES)}")
    return _GROUP_TYPE_NAMES[raw]


def _rows(kind: str, raw: object, current: Mapping[str, Row], *, adding: bool) -> dict[str, Row]:
    """`types` {group type: {read, write[, self]}} merged over the current rows."""
    if not isinstance(raw, dict) or (adding and not raw):
        raise CustomFieldError("types must be an object with at least one group type")
    row_keys = ("read", "write", "self") if kind == MEMBER else ("read", "write")
    rows = dict(current)
    given: set[str] = set()
    for raw_type, raw_row in raw.items():
        name = group_type(raw_type)
        if name in given:
            raise CustomFieldError(f"group type {name} is given twice")
        given.add(name)
        doc = _object(raw_row, f"types.{name}", row_keys)
        old = rows.get(name)
        if old is None:
            old = Row(ROW_DEFAULTS["read"], ROW_DEFAULTS["write"])
            if kind == MEMBER:
                old = replace(old, self_access=ROW_DEFAULTS["self"])
        rows[name] = Row(
            _choice(doc.get("read", old.read), f"types.{name}.read", LEVELS),
            _choice(doc.get("write", old.write), f"types.{name}.write", LEVELS),
            None
            if kind != MEMBER
            else _choice(doc.get("self", old.self_access), f"types.{name}.self", SELF_LEVELS),
        )
    return rows


def _permissions(raw: Mapping[str, Any], current: frozenset[str]) -> frozenset[str]:
    granted = set(current)
    for name in PROFILE_PERMISSIONS:
        if name not in raw:
            continue
        if not isinstance(raw[name], bool):
            raise CustomFieldError(f"{name} must be true or false")
        (granted.add if raw[name] else granted.discard)(name)
    if not granted & {"app_read", "admin_read"} or not granted & {"app_write", "admin_write"}:
        raise CustomFieldError(
            "a profile field needs at least one read permission (app_read, admin_read) and one"
            " write permission (app_write, admin_write)"
        )
    return frozenset(granted)


def _parse(kind: str, raw: object) -> Field:
    """A declaration from its JSON (stored, or given to declare one): a profile permission left
    out is granted, a group type's permission left out is ROW_DEFAULTS'."""
    allowed = ["name", "tag", "type"]
    if kind == PROFILE:
        allowed += PROFILE_PERMISSIONS
    elif kind in (GROUP, MEMBER):
        allowed.append("types")
    doc = _object(raw, f"a {kind} field", allowed)
    name = doc.get("name")
    rules = RULES[kind]
    if not isinstance(name, str) or not rules.name.fullmatch(name):
        raise CustomFieldError(f"a {kind} field's name must be {rules.name_rule}, not {name!r}")
    if "tag" in doc and doc["tag"] != RULES[kind].prefix + name:
        raise CustomFieldError(f"tag must be {RULES[kind].prefix + name!r}, or left out")
    result = Field(kind, name, _choice(doc.get("type", STRING), "type", RULES[kind].types))
    if kind == PROFILE:
        return replace(result, permissions=_permissions(doc, frozenset(PROFILE_PERMISSIONS)))
    if kind in (GROUP, MEMBER):
        return replace(result, rows=_rows(kind, doc.get("types"), {}, adding=True))
    return result


def _store(settings: MutableMapping[str, object], kind: str, fields: Iterable[Field]) -> None:
    settings[RULES[kind].settings_key] = [f.doc() for f in fields]
    if kind == PROFILE:
        settings.pop(LEGACY_PROFILE_KEY, None)


def add_field(settings: MutableMapping[str, object], kind: str, raw: object) -> Field:
    """Declare one field of `kind` in the app's settings; returns it."""
    current = fields_of(settings, _kind(kind))
    name = raw.get("name") if isinstance(raw, dict) else None
    if any(f.name == name for f in current):
        raise FieldExists(f"the {kind} field {name!r} already exists; it cannot be redeclared")
    new = _parse(kind, raw)
    if len(current) >= RULES[kind].max_fields:
        raise CustomFieldError(f"an app declares at most {RULES[kind].max_fields} {kind} fields")
    other = {GROUP: MEMBER, MEMBER: GROUP}.get(kind)
    if other is not None and any(f.name == new.name for f in fields_of(settings, other)):
        raise CustomFieldError(
            f"{new.name!r} is already a {other} field: group and member fields need different names"
        )
    _store(settings, kind, [*current, new])
    return new


def update_field(settings: MutableMapping[str, object], kind: str, name: str, raw: object) -> Field:
    """Change a field's permissions (and add group types); name and type stay."""
    current = fields_of(settings, _kind(kind))
    old = next((f for f in current if f.name == name), None)
    if old is None:
        raise FieldNotFound(f"the app has no {kind} field {name!r}")
    if kind == FRIEND:
        raise CustomFieldError("a friend field has no permissions: nothing of it can change")
    editable = PROFILE_PERMISSIONS if kind == PROFILE else ("types",)
    doc = _object(raw, "the change", ("name", "type", *editable))
    for fixed in ("name", "type"):
        if fixed in doc and doc[fixed] != getattr(old, fixed):
            raise CustomFieldError(f"a custom field's {fixed} cannot change")
    if kind == PROFILE:
        new = replace(old, permissions=_permissions(doc, old.permissions))
    else:
        new = replace(old, rows=_rows(kind, doc.get("types", {}), old.rows, adding=False))
    _store(settings, kind, [new if f.name == name else f for f in current])
    return new


# ---- enforcing -----------------------------------------------------------------------------


def check_friend_items(settings: Mapping[str, object], items: object) -> None:
    """friend_import's CustomItem and friend_update's SnsItem [{Tag, Value}]: a custom tag the
    app has not declared, or a value of the other type, fails with 30001 (Tencent's invalid
    parameter; it names no code of its own). Malformed items are left to the friend rules."""
    fields = declared(settings, FRIEND)
    if fields is None or not isinstance(items, list):
        return
    for item in items:
        tag = item.get("Tag") if isinstance(item, dict) else None
        if not isinstance(tag, str) or not tag.startswith(RULES[FRIEND].prefix):
            continue
        spec = fields.get(tag)
        if spec is None:
            raise TidingsError(
                ErrorCode.SNS_INVALID_PARAM,
                f"{tag} is not a custom friend field of this app: declare it first",
            )
        value = item.get("Value")
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        if (spec.type == INTEGER) != is_integer:
            raise TidingsError(ErrorCode.SNS_INVALID_PARAM, f"{tag}: Value must be a {spec.type}")


def check_group_data(
    settings: Mapping[str, object],
    group_type_name: str,
    group_data: Mapping[str, str],
    member_data: Iterable[Mapping[str, str]] = (),
) -> None:
    """AppDefinedData and AppMemberDefinedData keys being set on a group of this type must be
    declared for it (10004, Tencent's invalid parameter). An empty value deletes a key and is
    always allowed, so data set before a declaration can still be cleared."""
    kind_type = _GROUP_TYPE_NAMES.get(group_type_name, group_type_name)
    for kind, what, datas in (
        (GROUP, "AppDefinedData", (group_data,)),
        (MEMBER, "AppMemberDefinedData", member_data),
    ):
        fields = declared(settings, kind)
        if fields is None:
            continue
        for data in datas:
            for key, value in data.items():
                spec = fields.get(key)
                if value and (spec is None or kind_type not in spec.rows):
                    raise TidingsError(
                        ErrorCode.GROUP_INVALID_PARAM,
                        f"{what} key {key!r} is not a custom {kind} field declared for"
                        f" {kind_type} groups",
                    )
