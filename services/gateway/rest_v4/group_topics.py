"""Community topics: million_group_open_http_svc create_topic, get_topic, modify_topic and
destroy_topic, and group_open_http_svc import_topic (store `group_topics`).

Tencent's reference (Creating Topic, trtc.io/document/49471; Deleting Topic 49470; Getting
Topic Profile 49469; Modifying Topic Profile 49468; Importing Topic Profile 53448; Group System,
"Custom Topic IDs"):
- only a Community created with SupportTopic 1 has topics; the topic commands answer 11000 for
  any other group;
- a topic ID is `GroupId@TOPIC#_<part>`: generated IDs are `GroupId@TOPIC#_@TOPIC#<random>`; a
  custom part is printable ASCII (0x20-0x7e), holds no `@TGS#_` and does not make the ID hold
  `@TOPIC#_@TOPIC#`; the whole ID is at most 96 bytes;
- TopicName at most 30 bytes, FaceUrl 100, Notification 300, Introduction 240, CustomString
  3,000; get_topic answers TopicAndSelfInfo, one item per topic with its ErrorCode, ErrorInfo,
  TopicInfo and SelfInfo (From_Account's ShutUpTime, MsgSeq read and MsgFlag); destroy_topic
  answers DestroyResultItem, one item per topic, 110003 for a topic already deleted.

A topic's messages are a conversation of their own (conversation.topic): send_group_msg,
group_msg_get_simple and group_msg_recall (group_messages.py) and modify_group_msg
(group_more.py) take TopicId; the members are the Community's.

Where Tencent is silent:
- create_topic and import_topic need the app's console switches `community` and
  `community_topics` (off by default, as Tencent's): 10007 while either is off;
- a TopicId on a message command for a group without topics is the command's bad-field code
  (10004; modify_group_msg's 90010, as it already answered);
- a Community holds at most MAX_TOPICS topics (our cap); past it create and import are 10004;
- a custom TopicId already in the group is 10021 (the group's "ID in use" code); a TopicId that
  is malformed or names another group is 10004;
- a topic that does not exist is 10010 (the group code for "does not exist") in modify_topic,
  send_group_msg, group_msg_get_simple, group_msg_recall and its get_topic item (which then
  carries only TopicId);
- get_topic lists the topics in the order named, or all of them oldest first; From_Account is
  required (as Tencent's examples say) and must be imported (10019); a non-member's items have
  no SelfInfo; MsgSeq is the member's read mark in the topic; ResponseFilter names the TopicInfo
  fields to return; NextMsgSeq and LastMsgTime come from the topic's history;
- From_Account on create, modify and import is checked (imported, 10019); create and import
  keep it as the creator; MuteAllMember is "On" or "Off" (ShutUpAllFlag 1 or 0) and is not
  yet enforced on sends; TopicDefinedData is not kept (no topic custom fields are configured);
- destroying a topic keeps its messages until they expire: a topic created again with the same
  custom ID continues its conversation. Destroying the Community drops its topics.
- The topic callbacks (Group.CallbackAfterCreateTopic and the like) are not sent yet.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from services.common import conversation, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2
from services.common.store.group_topics import Topic
from services.common.store.groups import COMMUNITY, Group, Member
from services.gateway.bounds import UINT32
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import load_group, require_accounts

BAD = ErrorCode.GROUP_INVALID_PARAM

TOPIC_MARK = "@TOPIC#_"
# Generated IDs: GroupId + TOPIC_MARK + GENERATED_MARK + random part.
GENERATED_MARK = "@TOPIC#"
_GENERATED_AMBIGUITY = TOPIC_MARK + GENERATED_MARK
_GROUP_ID_MARK = "@TGS#_"
MAX_TOPIC_ID_BYTES = 96
_ID_ALPHABET = string.ascii_uppercase + string.digits
_GENERATED_CHARS = 12
# Our cap of topics per Community (Tencent's reference names none).
MAX_TOPICS = 1000

# History calls get_topic makes at once (two per topic).
HEAD_CALLS = 16

MAX_NAME_BYTES = 30
# Request field -> (Topic attribute, byte limit).
PROFILE_FIELDS: dict[str, tuple[str, int]] = {
    "FaceUrl": ("face_url", 100),
    "Notification": ("notification", 300),
    "Introduction": ("introduction", 240),
    "CustomString": ("custom_string", 3000),
}
MUTE_ALL = {"On": True, "Off": False}

# --- pure rules -------------------------------------------------------------------------


def _printable_ascii(text: str) -> bool:
    return all(0x20 <= ord(c) <= 0x7E for c in text)


def check_custom_topic_id(group_id: str, topic_id: str) -> None:
    """A custom TopicId of `group_id` as Tencent allows it, or 10004."""
    prefix = group_id + TOPIC_MARK
    part = topic_id[len(prefix) :] if topic_id.startswith(prefix) else ""
    if not part:
        raise TidingsError(BAD, f"a TopicId is {prefix!r} followed by its own part")
    if not _printable_ascii(part):
        raise TidingsError(BAD, "a custom topic ID part is printable ASCII (0x20-0x7e)")
    if _GROUP_ID_MARK in part or _GENERATED_AMBIGUITY in TOPIC_MARK + part:
        raise TidingsError(
            BAD, f"a custom topic ID part may not hold {_GROUP_ID_MARK!r} or start with '@TOPIC#'"
        )
    if len(topic_id.encode()) > MAX_TOPIC_ID_BYTES:
        raise TidingsError(BAD, f"a TopicId is at most {MAX_TOPIC_ID_BYTES} bytes")


def generated_topic_id(group_id: str) -> str:
    # "c" as in Tencent's own (@TOPIC#_@TOPIC#cRTE3HIM62C5), as a Community's @TGS#_@TGS#c….
    body = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_GENERATED_CHARS))
    return f"{group_id}{TOPIC_MARK}{GENERATED_MARK}c{body}"


def profile_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The profile fields present in the request, as Topic attributes; each within its limit."""
    return {
        attr: fields.text(body, name, code=BAD, required=False, max_len=limit)
        for name, (attr, limit) in PROFILE_FIELDS.items()
        if body.get(name) is not None
    }


def parse_mute_all(body: Mapping[str, Any]) -> bool | None:
    raw = body.get("MuteAllMember")
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in MUTE_ALL:
        raise TidingsError(BAD, 'MuteAllMember is "On" or "Off"')
    return MUTE_ALL[raw]


def topic_id_list(body: Mapping[str, Any], required: bool) -> list[str] | None:
    """TopicIdList: distinct topic IDs in the order given, at most MAX_TOPICS."""
    raw = body.get("TopicIdList")
    if raw is None:
        if required:
            raise TidingsError(BAD, "TopicIdList is required")
        return None
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise TidingsError(BAD, "TopicIdList must be an array of topic ID strings")
    if required and not raw:
        raise TidingsError(BAD, "TopicIdList must not be empty")
    unique = list(dict.fromkeys(raw))
    if len(unique) > MAX_TOPICS:
        raise TidingsError(BAD, f"TopicIdList holds at most {MAX_TOPICS} topic IDs")
    return unique


def response_filter(body: Mapping[str, Any]) -> list[str] | None:
    raw = body.get("ResponseFilter")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise TidingsError(BAD, "ResponseFilter must be an array of TopicInfo field names")
    return raw


def topic_info(
    group_id: str, t: Topic, next_msg_seq: int, last_msg_time: int, wanted: Sequence[str] | None
) -> dict[str, Any]:
    """TopicInfo in Tencent's field order; with `wanted` (ResponseFilter), those fields only."""
    info: dict[str, Any] = {
        "TopicName": t.name,
        "GroupID": group_id,
        "FaceUrl": t.face_url,
        "TopicId": t.topic_id,
        "NextMsgSeq": next_msg_seq,
        "Notification": t.notification,
        "Introduction": t.introduction,
        "CreateTime": t.create_time,
        "LastMsgTime": last_msg_time,
        "ShutUpAllFlag": int(t.mute_all),
        "CustomString": t.custom_string,
    }
    if wanted is None:
        return info
    # TopicId always comes back, so each item says which topic it is.
    return {k: v for k, v in info.items() if k in wanted or k == "TopicId"}


def self_info(member: Member, read_seq: int, now: int) -> dict[str, Any]:
    return {
        "ShutUpTime": member.mute_until if member.mute_until > now else 0,
        "MsgSeq": read_seq,
        "MsgFlag": member.msg_flag,
    }


def supports_topics(group: Group) -> bool:
    return group.group_type == COMMUNITY and group.support_topic


def require_topic_support(group: Group) -> None:
    if not supports_topics(group):
        raise TidingsError(
            ErrorCode.GROUP_TOPICS_UNSUPPORTED,
            f"group {group.group_id!r} is not a Community that supports topics",
        )


# --- shared with the message commands ------------------------------------------------------


async def topic_conversation(ctx: RestContext, group: Group, body: dict[str, Any]) -> str | None:
    """The conversation a request's TopicId names (None without one): the group must support
    topics (10004, as modify_group_msg answers a TopicId there) and have the topic (10010)."""
    topic_id = fields.text(body, "TopicId", code=BAD, required=False)
    if not topic_id:
        return None
    if not supports_topics(group):
        raise TidingsError(BAD, "TopicId is for Community groups that support topics")
    found = await ctx.deps.stores.group_topics.get(ctx.app.sdkappid, group.group_id, [topic_id])
    if topic_id not in found:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"topic {topic_id!r} does not exist")
    return conversation.topic(group.group_id, topic_id)


# --- commands ---------------------------------------------------------------------------


async def _topic_group(ctx: RestContext, body: dict[str, Any]) -> Group:
    group = await load_group(ctx, body)
    require_topic_support(group)
    return group


async def _creator(ctx: RestContext, body: dict[str, Any]) -> str:
    creator = fields.text(body, "From_Account", code=BAD, required=False)
    if creator:
        await require_accounts(ctx, [creator])
    return creator


async def _add_topic(ctx: RestContext, body: dict[str, Any], create_time: int) -> Reply:
    messaging_settings.require_feature(
        ctx.app.settings, "community_topics", ErrorCode.GROUP_NO_PERMISSION
    )
    group = await _topic_group(ctx, body)
    name = fields.text(body, "TopicName", code=BAD, max_len=MAX_NAME_BYTES)
    custom_id = fields.text(body, "TopicId", code=BAD, required=False)
    if custom_id:
        check_custom_topic_id(group.group_id, custom_id)
    profile = profile_changes(body)
    creator = await _creator(ctx, body)
    store = ctx.deps.stores.group_topics
    sdkappid = ctx.app.sdkappid
    if len(await store.list_topics(sdkappid, group.group_id)) >= MAX_TOPICS:
        raise TidingsError(BAD, f"a Community holds at most {MAX_TOPICS} topics")
    topic = replace(
        Topic(
            topic_id=custom_id or generated_topic_id(group.group_id),
            name=name,
            creator=creator,
            create_time=create_time,
        ),
        **profile,
    )
    while not await store.create(sdkappid, group.group_id, topic):
        if custom_id:
            raise TidingsError(ErrorCode.GROUP_ID_IN_USE, f"topic {custom_id!r} already exists")
        # A generated ID that was taken: draw another.
        topic = replace(topic, topic_id=generated_topic_id(group.group_id))
    return {"TopicId": topic.topic_id}


async def create_topic(ctx: RestContext, body: dict[str, Any]) -> Reply:
    return await _add_topic(ctx, body, int(time.time()))


async def import_topic(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group_type = fields.text(body, "Type", code=BAD, required=False)
    if group_type and group_type != COMMUNITY:
        raise TidingsError(BAD, "Type is Community: only Community groups have topics")
    now = int(time.time())
    create_time = fields.integer(body, "CreateTime", code=BAD, within=UINT32, required=False)
    if create_time > now:
        raise TidingsError(BAD, "CreateTime is in the future")
    return await _add_topic(ctx, body, create_time or now)


async def _head(ctx: RestContext, conv: str, calls: asyncio.Semaphore) -> tuple[int, int]:
    """A topic's next seq and last message time (Unix seconds, 0 with none)."""
    history = ctx.deps.history
    sdkappid = ctx.app.sdkappid
    async with calls:
        head = await history.MaxSeq(
            history_pb2.MaxSeqRequest(sdkappid=sdkappid, conversation=conv), timeout=10.0
        )
        seq = int(head.seq)
        if not seq:
            return 1, 0
        got = await history.Get(
            history_pb2.GetRequest(sdkappid=sdkappid, conversation=conv, seqs=[seq]),
            timeout=10.0,
        )
    last = max((m.server_time_ms for m in got.messages), default=0)
    return seq + 1, last // 1000


async def get_topic(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _topic_group(ctx, body)
    user = fields.text(body, "From_Account", code=BAD)
    named = topic_id_list(body, required=False)
    wanted = response_filter(body)
    await require_accounts(ctx, [user])
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.group_topics
    if named is None:
        topics: list[Topic | None] = list(await store.list_topics(sdkappid, group.group_id))
        ids = [t.topic_id for t in topics if t is not None]
    else:
        found = await store.get(sdkappid, group.group_id, named)
        ids = named
        topics = [found.get(t) for t in named]
    convs = [conversation.topic(group.group_id, t) for t in ids]
    # A page of up to MAX_TOPICS topics: a bounded number of history calls at a time.
    calls = asyncio.Semaphore(HEAD_CALLS)
    heads = await asyncio.gather(
        *(_head(ctx, c, calls) for c, t in zip(convs, topics, strict=True) if t is not None)
    )
    member = (await ctx.deps.stores.groups.get_members(sdkappid, group.group_id, [user])).get(user)
    marks = await ctx.deps.stores.conversations.get(sdkappid, user, convs) if member else {}
    now = int(time.time())
    items: list[dict[str, Any]] = []
    found_heads = iter(heads)
    for topic_id, conv, t in zip(ids, convs, topics, strict=True):
        if t is None:
            items.append(
                {
                    "ErrorCode": int(ErrorCode.GROUP_NOT_FOUND),
                    "ErrorInfo": f"topic {topic_id!r} does not exist",
                    "TopicInfo": {"TopicId": topic_id},
                }
            )
            continue
        next_seq, last_time = next(found_heads)
        item: dict[str, Any] = {
            "ErrorCode": 0,
            "ErrorInfo": "",
            "TopicInfo": topic_info(group.group_id, t, next_seq, last_time, wanted),
        }
        if member is not None:
            mark = marks.get(conv)
            item["SelfInfo"] = self_info(member, mark.read_seq if mark else 0, now)
        items.append(item)
    return {"TopicAndSelfInfo": items}


async def modify_topic(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _topic_group(ctx, body)
    topic_id = fields.text(body, "TopicId", code=BAD)
    name = fields.text(body, "TopicName", code=BAD, required=False, max_len=MAX_NAME_BYTES)
    changes = profile_changes(body)
    if name:
        changes["name"] = name
    mute_all = parse_mute_all(body)
    if mute_all is not None:
        changes["mute_all"] = mute_all
    await _creator(ctx, body)
    store = ctx.deps.stores.group_topics
    sdkappid = ctx.app.sdkappid
    current = (await store.get(sdkappid, group.group_id, [topic_id])).get(topic_id)
    if current is None or not await store.update(
        sdkappid, group.group_id, replace(current, **changes)
    ):
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"topic {topic_id!r} does not exist")
    return {}


async def destroy_topic(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _topic_group(ctx, body)
    named = topic_id_list(body, required=True) or []
    store = ctx.deps.stores.group_topics
    sdkappid = ctx.app.sdkappid
    found = await store.get(sdkappid, group.group_id, named)
    await store.delete(sdkappid, group.group_id, list(found))
    return {"DestroyResultItem": [destroy_result(t, t in found) for t in named]}


def destroy_result(topic_id: str, existed: bool) -> dict[str, Any]:
    if existed:
        return {"ErrorCode": 0, "ErrorInfo": "", "TopicId": topic_id}
    return {
        "ErrorCode": int(ErrorCode.TOPIC_ALREADY_DESTROYED),
        "ErrorInfo": f"topic {topic_id!r} does not exist or was already deleted",
        "TopicId": topic_id,
    }


COMMANDS: dict[str, Handler] = {
    "create_topic": create_topic,
    "get_topic": get_topic,
    "modify_topic": modify_topic,
    "destroy_topic": destroy_topic,
}
# Tencent serves import_topic under group_open_http_svc, with the other imports.
GROUP_COMMANDS: dict[str, Handler] = {"import_topic": import_topic}
