"""Easemob-shaped bodies for the callback rules, and the way back to TIM elements. Pure.

A Tidings message is Tencent's: a list of TIM elements plus CloudCustomData. Easemob's is a list
of `bodies` (its REST message format) plus an `ext` object. Element by element:

| TIM element        | Easemob body                                                        |
|--------------------|---------------------------------------------------------------------|
| TIMTextElem        | txt {msg: Text}                                                     |
| TIMImageElem       | img {url, filename: UUID, size {width, height}, file_length}        |
|                    |   (the original image: ImageInfoArray Type 1, else the first)       |
| TIMLocationElem    | loc {addr: Desc, lat: Latitude, lng: Longitude}                     |
| TIMSoundElem       | audio {url: Url, filename: UUID, length: Second, file_length: Size} |
| TIMVideoFileElem   | video {url: VideoUrl, filename: VideoUUID, length: VideoSecond,     |
|                    |   file_length: VideoSize, thumb: ThumbUrl}                          |
| TIMFileElem        | file {url: Url, filename: FileName, file_length: FileSize}          |
| TIMCustomElem      | custom {customEvent: Data, customExts {Desc, Ext, Sound}}           |
| TIMFaceElem        | custom {customEvent: Data, customExts {Index}}                      |

Easemob's `cmd` (透传) has no TIM counterpart: no message is ever of type cmd, and a cmd body in
an answer becomes a TIMCustomElem whose Data is the action. `ext` is CloudCustomData when that
is a JSON object, {"CloudCustomData": text} when it is other text, and {} when it is empty.

Going back (a pre-send answer's payload), a body of the same type as the element at its place
is laid over that element, so fields Easemob has no name for (an image's thumbnails, a sound's
download flag) survive a rewrite of the text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from services.common.callback_config import CallbackConfig
from services.common.callback_rules import MessageFacts, PostSendRule
from services.common.errors import ErrorCode, TidingsError
from services.common.msgbody import parse_msg_body
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    SOURCE_REST,
    Message,
    MsgElement,
)
from services.common.store.ports import App

CHATROOM_GROUP_TYPES = frozenset({"AVChatRoom", "ChatRoom"})
CCD_KEY = "CloudCustomData"
SECURITY_VERSION = "1.0.0"
HOST = "tidings"
# Easemob gives post-send callbacks no timeout of their own; Tidings' after-callback default.
POST_SEND_TIMEOUT_S = 2.0

Json = dict[str, Any]

_TYPES = {
    "TIMTextElem": "txt",
    "TIMImageElem": "img",
    "TIMLocationElem": "loc",
    "TIMSoundElem": "audio",
    "TIMVideoFileElem": "video",
    "TIMFileElem": "file",
    "TIMCustomElem": "custom",
    "TIMFaceElem": "custom",
}
# Easemob's content_type suffixes (chat:user:text, chat:group:image, ...).
_CONTENT_TYPES = {
    "txt": "text",
    "img": "image",
    "audio": "voice",
    "loc": "location",
    "video": "video",
    "file": "file",
    "custom": "custom",
    "cmd": "cmd",
}


def appkey(app: App) -> str:
    """Easemob's app key, org#app, when the app has an Easemob alias; its SDKAppID if not."""
    if app.org_name and app.app_name:
        return f"{app.org_name}#{app.app_name}"
    return str(app.sdkappid)


def security(call_id: str, secret: str, timestamp: int) -> str:
    return hashlib.md5(f"{call_id}{secret}{timestamp}".encode()).hexdigest()


def signed(body: Json, secret: str) -> Json:
    """The body with its `security` for this secret (callId and timestamp are in it)."""
    return {**body, "security": security(str(body["callId"]), secret, int(body["timestamp"]))}


def rule_target(rule: PostSendRule) -> CallbackConfig:
    """A post-send rule as the after-callback delivery path takes it: its URL, its secret in
    place of the token (the body is signed with it, see signed()), and a fixed timeout."""
    return CallbackConfig(
        url=rule.url, token=rule.secret, enable_all=True, timeout_s=POST_SEND_TIMEOUT_S
    )


def msg_type(element: MsgElement) -> str:
    return _TYPES.get(element.msg_type, "custom")


def msg_types(elements: Sequence[MsgElement]) -> frozenset[str]:
    return frozenset(msg_type(e) for e in elements)


def chat_type(chat: int, group_type: str) -> str:
    """The rule chat type: single, group or chatroom (Tencent AVChatRoom and ChatRoom)."""
    if chat == CHAT_TYPE_C2C:
        return "single"
    return "chatroom" if group_type in CHATROOM_GROUP_TYPES else "group"


def ext_of(cloud_custom_data: str) -> Json:
    if not cloud_custom_data:
        return {}
    try:
        doc = orjson.loads(cloud_custom_data)
    except orjson.JSONDecodeError:
        doc = None
    return doc if isinstance(doc, dict) else {CCD_KEY: cloud_custom_data}


def cloud_custom_data_of(ext: Json, original: str) -> str:
    """The CloudCustomData an answer's ext stands for: the original when unchanged."""
    if ext == ext_of(original):
        return original
    if set(ext) == {CCD_KEY} and isinstance(ext[CCD_KEY], str):
        return str(ext[CCD_KEY])
    return orjson.dumps(ext).decode() if ext else ""


def _text(c: Json) -> Json:
    return {"msg": c.get("Text", "")}


def _image(c: Json) -> Json:
    infos = [i for i in c.get("ImageInfoArray") or [] if isinstance(i, dict)]
    info = next((i for i in infos if i.get("Type") == 1), infos[0] if infos else {})
    return {
        "url": info.get("URL", ""),
        "filename": c.get("UUID", ""),
        "size": {"width": info.get("Width", 0), "height": info.get("Height", 0)},
        "file_length": info.get("Size", 0),
    }


def _location(c: Json) -> Json:
    return {"addr": c.get("Desc", ""), "lat": c.get("Latitude", 0), "lng": c.get("Longitude", 0)}


def _sound(c: Json) -> Json:
    return {
        "url": c.get("Url", ""),
        "filename": c.get("UUID", ""),
        "length": c.get("Second", 0),
        "file_length": c.get("Size", 0),
    }


def _video(c: Json) -> Json:
    return {
        "url": c.get("VideoUrl", ""),
        "filename": c.get("VideoUUID", ""),
        "length": c.get("VideoSecond", 0),
        "file_length": c.get("VideoSize", 0),
        "thumb": c.get("ThumbUrl", ""),
    }


def _file(c: Json) -> Json:
    return {
        "url": c.get("Url", ""),
        "filename": c.get("FileName", ""),
        "file_length": c.get("FileSize", 0),
    }


def _custom(c: Json) -> Json:
    exts = {k: c[k] for k in ("Desc", "Ext", "Sound") if c.get(k)}
    return {"customEvent": c.get("Data", ""), "customExts": exts}


def _face(c: Json) -> Json:
    return {"customEvent": c.get("Data", ""), "customExts": {"Index": c.get("Index", 0)}}


_TO_EASEMOB: dict[str, Callable[[Json], Json]] = {
    "TIMTextElem": _text,
    "TIMImageElem": _image,
    "TIMLocationElem": _location,
    "TIMSoundElem": _sound,
    "TIMVideoFileElem": _video,
    "TIMFileElem": _file,
    "TIMCustomElem": _custom,
    "TIMFaceElem": _face,
}


def easemob_bodies(elements: Sequence[MsgElement]) -> list[Json]:
    bodies: list[Json] = []
    for e in elements:
        content = orjson.loads(e.content_json) if e.content_json else {}
        to_easemob = _TO_EASEMOB.get(e.msg_type, _custom)
        bodies.append(
            {"type": msg_type(e), **to_easemob(content if isinstance(content, dict) else {})}
        )
    return bodies


def _pick(body: Json, fields: dict[str, str]) -> Json:
    """Easemob fields present in `body`, under their TIM names."""
    return {tim: body[em] for em, tim in fields.items() if em in body}


def _from_image(body: Json, base: Json) -> Json:
    infos = [i for i in base.get("ImageInfoArray") or [] if isinstance(i, dict)]
    original: Json = next((i for i in infos if i.get("Type") == 1), {"Type": 1})
    size = body.get("size")
    if isinstance(size, dict):
        original = original | _pick(size, {"width": "Width", "height": "Height"})
    original = original | _pick(body, {"url": "URL", "file_length": "Size"})
    others = [i for i in infos if i.get("Type") != 1]
    return base | _pick(body, {"filename": "UUID"}) | {"ImageInfoArray": [original, *others]}


def _from_custom(body: Json, base: Json) -> Json:
    exts = body.get("customExts")
    extra = {k: str(v) for k, v in exts.items()} if isinstance(exts, dict) else {}
    return (
        base
        | _pick(body, {"customEvent": "Data"})
        | {k: v for k, v in extra.items() if k in ("Desc", "Ext", "Sound")}
    )


def _from_face(body: Json, base: Json) -> Json:
    exts = body.get("customExts")
    index = exts.get("Index") if isinstance(exts, dict) else None
    out = base | _pick(body, {"customEvent": "Data"})
    return out | ({"Index": index} if isinstance(index, int) else {})


_FIELDS: dict[str, dict[str, str]] = {
    "TIMTextElem": {"msg": "Text"},
    "TIMLocationElem": {"addr": "Desc", "lat": "Latitude", "lng": "Longitude"},
    "TIMSoundElem": {"url": "Url", "filename": "UUID", "length": "Second", "file_length": "Size"},
    "TIMVideoFileElem": {
        "url": "VideoUrl",
        "filename": "VideoUUID",
        "length": "VideoSecond",
        "file_length": "VideoSize",
        "thumb": "ThumbUrl",
    },
    "TIMFileElem": {"url": "Url", "filename": "FileName", "file_length": "FileSize"},
}
# The TIM element a body of each Easemob type becomes when nothing of its type stood there.
_NEW_ELEMENT = {
    "txt": "TIMTextElem",
    "img": "TIMImageElem",
    "loc": "TIMLocationElem",
    "audio": "TIMSoundElem",
    "video": "TIMVideoFileElem",
    "file": "TIMFileElem",
    "custom": "TIMCustomElem",
    "cmd": "TIMCustomElem",
}


def _tim_element(body: Json, original: MsgElement | None) -> Json:
    kind = body.get("type")
    if kind not in _NEW_ELEMENT:
        raise ValueError(f"payload.bodies type {kind!r} is not one of {', '.join(_NEW_ELEMENT)}")
    if kind == "cmd":
        return {"MsgType": "TIMCustomElem", "MsgContent": {"Data": str(body.get("action", ""))}}
    same = original is not None and msg_type(original) == kind
    tim_type = original.msg_type if same and original is not None else _NEW_ELEMENT[str(kind)]
    base: Json = orjson.loads(original.content_json) if same and original is not None else {}
    if tim_type == "TIMImageElem":
        content = _from_image(body, base)
    elif tim_type == "TIMCustomElem":
        content = _from_custom(body, base)
    elif tim_type == "TIMFaceElem":
        content = _from_face(body, base)
    else:
        content = base | _pick(body, _FIELDS[tim_type])
    return {"MsgType": tim_type, "MsgContent": content}


def tim_elements(
    bodies: object, originals: Sequence[MsgElement], max_bytes: int
) -> list[MsgElement]:
    """An answer's `bodies` as TIM elements, checked as a sender's MsgBody is; ValueError when
    they cannot be."""
    if isinstance(bodies, dict):
        bodies = [bodies]
    if not isinstance(bodies, list) or not bodies:
        raise ValueError("payload.bodies must be a non-empty list")
    if not all(isinstance(b, dict) for b in bodies):
        raise ValueError("payload.bodies must hold objects")
    tim = [
        _tim_element(b, originals[i] if i < len(originals) else None) for i, b in enumerate(bodies)
    ]
    try:
        return parse_msg_body(
            tim, max_bytes, ErrorCode.OPENIM_BODY_TOO_LARGE, ErrorCode.OPENIM_MSG_BODY
        )
    except TidingsError as err:
        raise ValueError(f"payload.bodies: {err.info}") from None


def content_type(chat: str, elements: Sequence[MsgElement]) -> str:
    """Easemob's content_type: chat:user|group|room:<type of the first element>."""
    scope = {"single": "user", "group": "group", "chatroom": "room"}[chat]
    kind = msg_type(elements[0]) if elements else "custom"
    return f"chat:{scope}:{_CONTENT_TYPES[kind]}"


def facts(m: Message, to_user: str) -> MessageFacts:
    return MessageFacts(
        sender=m.sender,
        to_user=to_user,
        group_id=m.group_id,
        ext_keys=frozenset(ext_of(m.cloud_custom_data)),
        via_rest=m.source == SOURCE_REST,
    )


def payload(elements: Sequence[MsgElement], cloud_custom_data: str) -> Json:
    return {"bodies": easemob_bodies(elements), "ext": ext_of(cloud_custom_data)}


def pre_send_body(
    *,
    call_id: str,
    app_key: str,
    chat: str,
    sender: str,
    to: str,
    group_id: str,
    elements: Sequence[MsgElement],
    cloud_custom_data: str,
    timestamp: int,
) -> Json:
    """Easemob's pre-send request, without `security`. The message has no id yet (the router
    assigns it after the rules allow the message), so msg_id is left out."""
    body: Json = {
        "callId": call_id,
        "eventType": "chat",
        "timestamp": timestamp,
        "chat_type": "chat" if chat == "single" else chat,
        "from": sender,
        "to": to,
        "payload": payload(elements, cloud_custom_data),
        "appkey": app_key,
        "host": HOST,
    }
    if chat != "single":
        body["group_id"] = group_id
    return body


def post_send_body(
    m: Message, *, app_key: str, chat: str, offline_user: str | None, event_id: str
) -> Json:
    """Easemob's post-send request, without `security`: eventType chat, or chat_offline for
    one offline member (whose id is then `to`). callId is stable, so a retried or replayed
    callback has the same one."""
    msg_id = m.msg_key or f"{m.conversation}:{m.seq}"
    call_id = f"{app_key}_{msg_id}" + (f"_{offline_user}" if offline_user is not None else "")
    to = offline_user if offline_user is not None else (m.to_user or m.group_id)
    body: Json = {
        "callId": call_id,
        "eventType": "chat" if offline_user is None else "chat_offline",
        "timestamp": m.server_time_ms,
        "chat_type": "chat" if chat == "single" else "groupchat",
        "from": m.sender,
        "to": to,
        "msg_id": msg_id,
        "payload": payload(m.elements, m.cloud_custom_data),
        "securityVersion": SECURITY_VERSION,
        "appkey": app_key,
        "host": HOST,
        "content_type": content_type(chat, m.elements),
        "TidingsEventId": event_id,
    }
    if chat != "single":
        body["group_id"] = m.group_id
    return body
