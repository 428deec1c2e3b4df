"""all_member_push: im_push, and the push targeting data (attribute names, user attributes,
user tags).

Field names, limits and codes follow Tencent's all_member_push reference: attribute numbers
"0".."9" with names of at most 50 bytes; at most 100 accounts per request; attribute values and
tags of at most 50 bytes; at most 10 tags per user in one im_add_tag and 100 per user in all.
Codes: 90001 malformed request, 90018 too many accounts, 90020 tag too long, 90032 too many
tags, 90033 invalid attribute.

im_push (From_Account, MsgRandom, MsgBody, MsgLifeTime, Condition, OfflinePushInfo -> TaskId)
checks the request here (the Condition in `push_rules.py`), publishes the job to im.events and
answers at once; the push service sends it, paced (docs/ARCHITECTURE.md). Its codes: 90005
MsgRandom, 90026 MsgLifeTime outside 0..604800, 90056 body over 10 KB, and the Condition's.
Where Tencent's im_push reference is silent or not followed:
- a malformed MsgBody is 90001 (Tencent's push table has no MsgBody code); an unknown
  From_Account is 90008, as in openim;
- the messages are stored with the app's retention, as Tencent's newer push API (v4/timpush)
  does, so MsgLifeTime is checked but does not shorten it; OfflinePushInfo is checked
  (`services/common/offline_push.py`, 90001) and carried on every message of the job;
- the same MsgRandom gives the same TaskId (Tencent: the same task), and a retry re-runs the
  job with every recipient deduped, within the dedupe window (24 h) rather than 7 days;
- the daily quota (90047) and the 1 s spacing (90024) are not enforced: the job queue is paced
  instead, and the per-command REST rate limit applies.

Where Tencent's reference is silent:
- accounts that were never imported come back in `ErrorList` with 70107, as Tencent's newer
  push API (v4/timpush) does, and the others are processed;
- a user who would pass 100 tags gets 90032 in `ErrorList`, and the others are processed;
- an empty tag is refused with 90020 (its length is outside 1..50 bytes);
- two attribute numbers may not share a name (90033): values are addressed by name.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from services.common import allpush, topics
from services.common.bus import send_all
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import parse_offline_push
from services.gateway.bounds import UINT32, IntRange, parse_decimal
from services.gateway.msgbody import msg_body_json, parse_msg_body
from services.gateway.push_rules import MAX_TAG_BYTES, MAX_VALUE_BYTES, parse_condition
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext, audit

MALFORMED = ErrorCode.OPENIM_JSON
MAX_ATTRS = 10
ATTR_NUMBERS = IntRange(0, MAX_ATTRS - 1)
MAX_NAME_BYTES = 50
MAX_ACCOUNTS = 100
MAX_TAGS_PER_REQUEST = 10
MAX_TAGS_PER_USER = 100
MAX_ACCOUNT_BYTES = 32
MAX_LIFETIME_S = 7 * 86400
MAX_PUSH_BODY_BYTES = 10 * 1024


def _bytes(text: str) -> int:
    return len(text.encode())


def _account(value: object) -> str:
    if not isinstance(value, str) or not value or _bytes(value) > MAX_ACCOUNT_BYTES:
        raise TidingsError(
            MALFORMED, f"To_Account must be a UserID of 1 to {MAX_ACCOUNT_BYTES} bytes"
        )
    return value


def _accounts(body: dict[str, Any]) -> list[str]:
    raw = body.get("To_Account")
    if not isinstance(raw, list) or not raw:
        raise TidingsError(MALFORMED, "To_Account must be a non-empty array of UserIDs")
    if len(raw) > MAX_ACCOUNTS:
        raise TidingsError(
            ErrorCode.PUSH_ACCOUNTS_LIMIT, f"at most {MAX_ACCOUNTS} accounts per request"
        )
    return list(dict.fromkeys(_account(u) for u in raw))


def _entries(body: dict[str, Any], field: str, values: str) -> list[tuple[str, Any]]:
    """[{To_Account, <values>}] as (account, raw values), at most 100 of them."""
    raw = body.get(field)
    if not isinstance(raw, list) or not raw:
        raise TidingsError(MALFORMED, f"{field} must be a non-empty array")
    if len(raw) > MAX_ACCOUNTS:
        raise TidingsError(
            ErrorCode.PUSH_ACCOUNTS_LIMIT, f"at most {MAX_ACCOUNTS} accounts per request"
        )
    entries: list[tuple[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or values not in item:
            raise TidingsError(MALFORMED, f"each {field} item needs To_Account and {values}")
        entries.append((_account(item.get("To_Account")), item[values]))
    return entries


async def _split_known(ctx: RestContext, users: list[str]) -> tuple[list[str], list[Reply]]:
    unique = list(dict.fromkeys(users))
    missing = set(await ctx.deps.auth.missing_accounts(ctx.app.sdkappid, unique))
    errors: list[Reply] = [
        {"To_Account": u, "ErrorCode": int(ErrorCode.ACCOUNT_NOT_IMPORTED)}
        for u in unique
        if u in missing
    ]
    return [u for u in unique if u not in missing], errors


def _with_errors(reply: Reply, errors: list[Reply]) -> Reply:
    if errors:
        reply["ErrorList"] = errors
    return reply


def _attr_number(key: str) -> int:
    """An AttrNames key ("0" to "9"; JSON object keys are strings)."""
    return parse_decimal(key, "attribute number", ATTR_NUMBERS, ErrorCode.PUSH_ATTR_INVALID)


async def _number_by_name(ctx: RestContext) -> dict[str, int]:
    names = await ctx.deps.stores.push_attrs.get_attr_names(ctx.app.sdkappid)
    return {name: number for number, name in names.items()}


def _known_attr(numbers: dict[str, int], name: object) -> int:
    if not isinstance(name, str) or name not in numbers:
        raise TidingsError(
            ErrorCode.PUSH_ATTR_INVALID,
            f"attribute {name!r} is not one of the app's attribute names; set it with"
            " im_set_attr_name first",
        )
    return numbers[name]


async def im_set_attr_name(ctx: RestContext, body: dict[str, Any]) -> Reply:
    raw = body.get("AttrNames")
    if not isinstance(raw, dict) or not raw:
        raise TidingsError(MALFORMED, "AttrNames must be a non-empty object of number -> name")
    names: dict[int, str] = {}
    for key, name in raw.items():
        number = _attr_number(key)
        if not isinstance(name, str) or not name or _bytes(name) > MAX_NAME_BYTES:
            raise TidingsError(
                ErrorCode.PUSH_ATTR_INVALID,
                f"attribute name {name!r} must be a string of 1 to {MAX_NAME_BYTES} bytes",
            )
        names[number] = name
    store = ctx.deps.stores.push_attrs
    stored = await store.get_attr_names(ctx.app.sdkappid)
    merged = {**stored, **names}
    if len(set(merged.values())) < len(merged):
        raise TidingsError(ErrorCode.PUSH_ATTR_INVALID, "two attributes cannot share a name")
    await store.set_attr_names(ctx.app.sdkappid, names)
    await audit(
        ctx,
        "push.attr_names.set",
        before={str(n): stored[n] for n in names if n in stored},
        after={str(n): names[n] for n in names},
    )
    return {}


async def im_get_attr_name(ctx: RestContext, body: dict[str, Any]) -> Reply:
    names = await ctx.deps.stores.push_attrs.get_attr_names(ctx.app.sdkappid)
    return {"AttrNames": {str(n): names[n] for n in sorted(names)}}


async def im_set_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    entries = _entries(body, "UserAttrs", "Attrs")
    numbers = await _number_by_name(ctx)
    values: dict[str, dict[int, str]] = {}
    for user, attrs in entries:
        if not isinstance(attrs, dict):
            raise TidingsError(MALFORMED, "Attrs must be an object of attribute name -> value")
        for name, value in attrs.items():
            number = _known_attr(numbers, name)
            if not isinstance(value, str) or _bytes(value) > MAX_VALUE_BYTES:
                raise TidingsError(
                    ErrorCode.PUSH_ATTR_INVALID,
                    f"the value of {name!r} must be a string of at most {MAX_VALUE_BYTES} bytes",
                )
            values.setdefault(user, {})[number] = value
    known, errors = await _split_known(ctx, [u for u, _ in entries])
    await ctx.deps.stores.push_attrs.set_attrs(
        ctx.app.sdkappid, {u: values[u] for u in known if u in values}
    )
    return _with_errors({}, errors)


async def im_get_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    known, errors = await _split_known(ctx, _accounts(body))
    store = ctx.deps.stores.push_attrs
    names = await store.get_attr_names(ctx.app.sdkappid)
    found = await store.get_attrs(ctx.app.sdkappid, known)
    user_attrs = [
        {
            "To_Account": u,
            # A value whose attribute number lost its name is not shown.
            "Attrs": {names[n]: v for n, v in sorted(found.get(u, {}).items()) if n in names},
        }
        for u in known
    ]
    return _with_errors({"UserAttrs": user_attrs}, errors)


async def im_remove_attr(ctx: RestContext, body: dict[str, Any]) -> Reply:
    entries = _entries(body, "UserAttrs", "Attrs")
    numbers = await _number_by_name(ctx)
    removed: dict[str, list[int]] = {}
    for user, attrs in entries:
        if not isinstance(attrs, list):
            raise TidingsError(MALFORMED, "Attrs must be an array of attribute names")
        removed.setdefault(user, []).extend(_known_attr(numbers, name) for name in attrs)
    known, errors = await _split_known(ctx, [u for u, _ in entries])
    await ctx.deps.stores.push_attrs.remove_attrs(ctx.app.sdkappid, {u: removed[u] for u in known})
    return _with_errors({}, errors)


def _tags(raw: object, most: int | None) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise TidingsError(MALFORMED, "Tags must be a non-empty array of strings")
    if most is not None and len(raw) > most:
        raise TidingsError(ErrorCode.PUSH_TAG_COUNT, f"at most {most} tags per user per request")
    for tag in raw:
        if not isinstance(tag, str) or not 1 <= _bytes(tag) <= MAX_TAG_BYTES:
            raise TidingsError(
                ErrorCode.PUSH_TAG_TOO_LONG, f"a tag must be a string of 1 to {MAX_TAG_BYTES} bytes"
            )
    return list(dict.fromkeys(raw))


async def im_add_tag(ctx: RestContext, body: dict[str, Any]) -> Reply:
    added: dict[str, list[str]] = {}
    for user, raw in _entries(body, "UserTags", "Tags"):
        added.setdefault(user, []).extend(_tags(raw, MAX_TAGS_PER_REQUEST))
    known, errors = await _split_known(ctx, list(added))
    store = ctx.deps.stores.push_attrs
    current = await store.get_tags(ctx.app.sdkappid, known)
    writes: dict[str, list[str]] = {}
    for user in known:
        total = set(current.get(user, [])) | set(added[user])
        if len(total) > MAX_TAGS_PER_USER:
            errors.append(
                {
                    "To_Account": user,
                    "ErrorCode": int(ErrorCode.PUSH_TAG_COUNT),
                    "ErrorInfo": f"a user has at most {MAX_TAGS_PER_USER} tags;"
                    " remove old tags first",
                }
            )
        else:
            writes[user] = added[user]
    await store.add_tags(ctx.app.sdkappid, writes)
    return _with_errors({}, errors)


async def im_get_tag(ctx: RestContext, body: dict[str, Any]) -> Reply:
    known, errors = await _split_known(ctx, _accounts(body))
    found = await ctx.deps.stores.push_attrs.get_tags(ctx.app.sdkappid, known)
    user_tags = [{"To_Account": u, "Tags": found.get(u, [])} for u in known]
    return _with_errors({"UserTags": user_tags}, errors)


async def im_remove_tag(ctx: RestContext, body: dict[str, Any]) -> Reply:
    removed: dict[str, list[str]] = {}
    for user, raw in _entries(body, "UserTags", "Tags"):
        removed.setdefault(user, []).extend(_tags(raw, None))
    known, errors = await _split_known(ctx, list(removed))
    await ctx.deps.stores.push_attrs.remove_tags(ctx.app.sdkappid, {u: removed[u] for u in known})
    return _with_errors({}, errors)


async def im_remove_all_tags(ctx: RestContext, body: dict[str, Any]) -> Reply:
    known, errors = await _split_known(ctx, _accounts(body))
    await ctx.deps.stores.push_attrs.remove_all_tags(ctx.app.sdkappid, known)
    return _with_errors({}, errors)


async def im_push(ctx: RestContext, body: dict[str, Any]) -> Reply:
    sender = fields.text(body, "From_Account", code=MALFORMED, required=False) or ctx.identifier
    msg_random = fields.integer(
        body, "MsgRandom", code=ErrorCode.OPENIM_NO_MSG_RANDOM, within=UINT32
    )
    fields.integer(
        body,
        "MsgLifeTime",
        code=ErrorCode.PUSH_LIFETIME_INVALID,
        within=IntRange(0, MAX_LIFETIME_S),
        required=False,
    )
    offline_push = parse_offline_push(fields.raw(body, "OfflinePushInfo"), MALFORMED)
    elements = parse_msg_body(
        fields.raw(body, "MsgBody"),
        min(ctx.deps.settings.max_body_bytes, MAX_PUSH_BODY_BYTES),
        ErrorCode.PUSH_BODY_TOO_LARGE,
        MALFORMED,
    )
    condition = parse_condition(fields.raw(body, "Condition"), await _number_by_name(ctx))
    sdkappid = ctx.app.sdkappid
    auth = ctx.deps.auth
    if not auth.is_admin(ctx.app, sender) and await auth.missing_accounts(sdkappid, [sender]):
        raise TidingsError(ErrorCode.OPENIM_NO_FROM_ACCOUNT, f"From_Account {sender!r} not found")
    job = allpush.AllMemberPushJob(
        task_id=allpush.task_id(sdkappid, msg_random),
        sdkappid=sdkappid,
        sender=sender,
        msg_random=msg_random,
        body=msg_body_json(elements),
        condition=condition,
        created_at_ms=int(time.time() * 1000),
        offline_push_json=offline_push,
    )
    event = allpush.job_event(job)
    try:
        await send_all(
            ctx.deps.producer,
            topics.EVENTS.name,
            [(allpush.event_key(sdkappid), event.SerializeToString())],
        )
    except Exception as exc:  # the caller retries with the same MsgRandom
        raise TidingsError(
            ErrorCode.OPENIM_SERVICE_INTERNAL, f"the push could not be queued: {exc}"
        ) from exc
    return {"TaskId": job.task_id}


COMMANDS: dict[str, Handler] = {
    "im_push": im_push,
    "im_set_attr_name": im_set_attr_name,
    "im_get_attr_name": im_get_attr_name,
    "im_set_attr": im_set_attr,
    "im_get_attr": im_get_attr,
    "im_remove_attr": im_remove_attr,
    "im_add_tag": im_add_tag,
    # SPEC §3 names the add command im_set_tag; Tencent's is im_add_tag. Both are served.
    "im_set_tag": im_add_tag,
    "im_get_tag": im_get_tag,
    "im_remove_tag": im_remove_tag,
    "im_remove_all_tags": im_remove_all_tags,
}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class AttrNamesRequest(BaseModel):
    AttrNames: dict[str, str] = Field(description='attribute number "0".."9" -> name')


class UserAttrsItem(BaseModel):
    To_Account: str
    Attrs: dict[str, str] = Field(description="attribute name -> value (at most 50 bytes)")


class SetAttrRequest(BaseModel):
    UserAttrs: list[UserAttrsItem] = Field(max_length=MAX_ACCOUNTS)


class AccountsRequest(BaseModel):
    To_Account: list[str] = Field(max_length=MAX_ACCOUNTS)


class RemoveAttrsItem(BaseModel):
    To_Account: str
    Attrs: list[str] = Field(description="attribute names")


class RemoveAttrRequest(BaseModel):
    UserAttrs: list[RemoveAttrsItem] = Field(max_length=MAX_ACCOUNTS)


class UserTagsItem(BaseModel):
    To_Account: str
    Tags: list[str]


class TagsRequest(BaseModel):
    UserTags: list[UserTagsItem] = Field(max_length=MAX_ACCOUNTS)


class MsgElementModel(BaseModel):
    MsgType: str = Field(description="TIMTextElem, TIMCustomElem, TIMImageElem, ...")
    MsgContent: dict[str, Any]


class PushConditionModel(BaseModel):
    TagsAnd: list[str] | None = Field(default=None, max_length=10)
    TagsOr: list[str] | None = Field(default=None, max_length=10)
    AttrsAnd: dict[str, str] | None = Field(default=None, description="attribute name -> value")
    AttrsOr: dict[str, str] | None = Field(default=None, description="attribute name -> value")


class ImPushRequest(BaseModel):
    From_Account: str | None = Field(default=None, description="the app admin when absent")
    MsgRandom: int = Field(ge=0, le=0xFFFFFFFF, description="the same value is the same task")
    MsgBody: list[MsgElementModel]
    MsgLifeTime: int | None = Field(default=None, ge=0, le=MAX_LIFETIME_S)
    Condition: PushConditionModel | None = Field(
        default=None, description="tags or attributes; absent targets every account"
    )
    OfflinePushInfo: dict[str, Any] | None = None


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "im_push": ImPushRequest,
    "im_set_attr_name": AttrNamesRequest,
    "im_set_attr": SetAttrRequest,
    "im_get_attr": AccountsRequest,
    "im_remove_attr": RemoveAttrRequest,
    "im_add_tag": TagsRequest,
    "im_set_tag": TagsRequest,
    "im_get_tag": AccountsRequest,
    "im_remove_tag": TagsRequest,
    "im_remove_all_tags": AccountsRequest,
}
