"""Pure rules of all_member_push im_push's Condition {TagsAnd, TagsOr, AttrsAnd, AttrsOr}.

Codes from Tencent's push error table: 90001 malformed, 90020 tag over 50 bytes, 90022 a tag in
both TagsAnd and TagsOr, 90032 more than 10 tags in a list, 90033 unknown attribute or bad
value, 90039 tags and attributes together, 90040 empty tag.

Where Tencent's reference is silent:
- a Condition key other than the four is refused (90001) rather than ignored, since ignoring
  a narrowing condition would widen the push;
- null or empty condition lists count as absent, as SDKs that always serialise the Condition
  object send them; a Condition with nothing in it targets every account.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.common.allpush import Condition
from services.common.errors import ErrorCode, TidingsError

MALFORMED = ErrorCode.OPENIM_JSON
MAX_TAG_BYTES = 50
MAX_VALUE_BYTES = 50
MAX_CONDITION_TAGS = 10
CONDITION_KEYS = frozenset({"TagsAnd", "TagsOr", "AttrsAnd", "AttrsOr"})


def _condition_tags(raw: object, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise TidingsError(MALFORMED, f"Condition.{name} must be an array of tags")
    if len(raw) > MAX_CONDITION_TAGS:
        raise TidingsError(
            ErrorCode.PUSH_TAG_COUNT, f"Condition.{name} has more than {MAX_CONDITION_TAGS} tags"
        )
    for tag in raw:
        if not tag:
            raise TidingsError(ErrorCode.PUSH_TAG_EMPTY, f"Condition.{name} has an empty tag")
        if len(tag.encode()) > MAX_TAG_BYTES:
            raise TidingsError(
                ErrorCode.PUSH_TAG_TOO_LONG, f"a tag is at most {MAX_TAG_BYTES} bytes"
            )
    return tuple(dict.fromkeys(raw))


def _condition_attrs(raw: object, name: str, numbers: Mapping[str, int]) -> dict[int, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TidingsError(MALFORMED, f"Condition.{name} must be an object of name -> value")
    attrs: dict[int, str] = {}
    for attr, value in raw.items():
        if attr not in numbers:
            raise TidingsError(
                ErrorCode.PUSH_ATTR_INVALID,
                f"attribute {attr!r} is not one of the app's attribute names",
            )
        if not isinstance(value, str) or len(value.encode()) > MAX_VALUE_BYTES:
            raise TidingsError(
                ErrorCode.PUSH_ATTR_INVALID,
                f"the value of {attr!r} must be a string of at most {MAX_VALUE_BYTES} bytes",
            )
        attrs[numbers[attr]] = value
    return attrs


def parse_condition(raw: object, numbers: Mapping[str, int]) -> Condition:
    """A Condition from the request; `numbers` maps the app's attribute names to numbers."""
    if raw is None:
        return Condition()
    if not isinstance(raw, dict):
        raise TidingsError(MALFORMED, "Condition must be an object")
    unknown = sorted(set(raw) - CONDITION_KEYS)
    if unknown:
        raise TidingsError(MALFORMED, f"Condition does not support {', '.join(unknown)}")
    condition = Condition(
        tags_and=_condition_tags(raw.get("TagsAnd"), "TagsAnd"),
        tags_or=_condition_tags(raw.get("TagsOr"), "TagsOr"),
        attrs_and=_condition_attrs(raw.get("AttrsAnd"), "AttrsAnd", numbers),
        attrs_or=_condition_attrs(raw.get("AttrsOr"), "AttrsOr", numbers),
    )
    if condition.by_tags and condition.by_attrs:
        raise TidingsError(
            ErrorCode.PUSH_ATTRS_WITH_TAGS, "a push goes by tags or by attributes, not both"
        )
    if set(condition.tags_and) & set(condition.tags_or):
        raise TidingsError(ErrorCode.PUSH_TAGS_OVERLAP, "a tag is in both TagsAnd and TagsOr")
    return condition
