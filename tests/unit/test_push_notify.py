"""What an offline recipient gets: the reasons for no push, and each device's notification."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from services.common.offline_push import OfflinePush
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    Message,
    MsgElement,
)
from services.common.push_templates import template_of
from services.common.store.push_devices import Device, PushSettings
from services.push.notify import (
    Names,
    Recipient,
    notifications,
    skip_reason,
    summary,
    title_and_body,
)

NOON_UTC = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PHONE = Device("apns", "a" * 64, 1)
ANDROID = Device("xiaomi", "x-token", 2)


def element(msg_type: str, **content: object) -> MsgElement:
    return MsgElement(msg_type=msg_type, content_json=orjson.dumps(content))


def text_message(text: str, **fields: object) -> Message:
    base: dict[str, object] = {
        "sdkappid": 1400000001,
        "chat_type": CHAT_TYPE_C2C,
        "sender": "alice",
        "to_user": "bob",
        "msg_key": "1_2_3",
        "elements": [element("TIMTextElem", Text=text)],
    }
    base.update(fields)
    return Message(**base)  # type: ignore[arg-type]


def recipient(**changes: object) -> Recipient:
    fields: dict[str, object] = {
        "user": "bob",
        "devices": [PHONE],
        "settings": PushSettings(),
        "muted": False,
    }
    fields.update(changes)
    return Recipient(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("offline_push", "who", "reason"),
    [
        (OfflinePush(), recipient(), None),
        (OfflinePush(push_disabled=True), recipient(), "push_flag_off"),
        (OfflinePush(), recipient(settings=PushSettings(enabled=False)), "disabled"),
        (OfflinePush(), recipient(muted=True), "muted"),
        # 20:00 in Shanghai is noon UTC: inside 19:00-23:00 there, outside it in UTC.
        (
            OfflinePush(),
            recipient(
                settings=PushSettings(
                    dnd_start_min=19 * 60, dnd_end_min=23 * 60, timezone="Asia/Shanghai"
                )
            ),
            "dnd",
        ),
        (
            OfflinePush(),
            recipient(settings=PushSettings(dnd_start_min=19 * 60, dnd_end_min=23 * 60)),
            None,
        ),
        (OfflinePush(), recipient(devices=[]), "no_device"),
    ],
)
def test_skip_reasons(offline_push: OfflinePush, who: Recipient, reason: str | None) -> None:
    assert skip_reason(offline_push, who, NOON_UTC) == reason


def test_with_mute_notifications_reaches_who_muted_the_conversation_only() -> None:
    assert skip_reason(OfflinePush(), recipient(muted=True), NOON_UTC, True) is None
    disabled = recipient(muted=True, settings=PushSettings(enabled=False))
    assert skip_reason(OfflinePush(), disabled, NOON_UTC, True) == "disabled"


def test_summary_of_each_kind() -> None:
    assert summary([element("TIMTextElem", Text="hi "), element("TIMTextElem", Text="there")]) == (
        "hi there"
    )
    assert summary([element("TIMImageElem", UUID="u")]) == "[Image]"
    assert summary([element("TIMSoundElem")]) == "[Voice]"
    assert summary([element("TIMCustomElem", Data="d", Desc="A gift")]) == "A gift"
    assert summary([element("TIMCustomElem", Data="d")]) == "[Custom Message]"
    assert summary([element("TIMWhatever")]) == "[Message]"
    assert summary([]) == ""
    assert len(summary([element("TIMTextElem", Text="x" * 10_000)])) == 256


def test_plain_default_c2c_and_group() -> None:
    c2c = text_message("hello")
    assert title_and_body(c2c, OfflinePush(), Names(sender_nick="Alice"), {}) == (
        "Alice",
        "hello",
        None,
    )
    assert title_and_body(c2c, OfflinePush(), Names(), {})[:2] == ("alice", "hello")
    group = text_message("hello all", chat_type=CHAT_TYPE_GROUP, group_id="@TGS#1", to_user="")
    assert title_and_body(group, OfflinePush(), Names("Alice", "Hikers"), {})[:2] == (
        "Hikers",
        "Alice: hello all",
    )
    assert title_and_body(group, OfflinePush(), Names(), {})[:2] == ("@TGS#1", "alice: hello all")


def test_templates_then_offline_push_info_win() -> None:
    templates = {
        "default": template_of("default", ["New from ", "{$fromNickname}"], ["{$msg}"]),
        "gift": template_of("gift", ["{0} sent {1}"], ["{$dynamicFrom}: {0}"]),
    }
    plain = text_message("hi")
    assert title_and_body(plain, OfflinePush(), Names("Alice"), templates)[:2] == (
        "New from Alice",
        "hi",
    )
    named = text_message(
        "hi",
        cloud_custom_data=orjson.dumps(
            {
                "em_push_template": {
                    "name": "gift",
                    "title_args": ["Al", "a rose"],
                    "content_args": ["{1} {$msg}"],
                }
            }
        ).decode(),
    )
    # An argument is never expanded again.
    assert title_and_body(named, OfflinePush(), Names("Alice"), templates)[:2] == (
        "Al sent a rose",
        "Alice: {1} {$msg}",
    )
    title, body, _ = title_and_body(named, OfflinePush(title="T", desc="D"), Names(), templates)
    assert body == "D"
    # The title of OfflinePushInfo is applied per vendor, in notifications().
    assert title == "Al sent a rose"


def test_a_bad_template_falls_back_to_the_default_with_the_error() -> None:
    templates = {"default": template_of("default", ["T"], ["{0}"])}
    bad_name = text_message("hi", cloud_custom_data='{"em_push_template": {"name": "nope"}}')
    title, body, error = title_and_body(bad_name, OfflinePush(), Names("Alice"), templates)
    assert (title, body) == ("Alice", "hi")
    assert error is not None and "nope" in error
    missing_arg = text_message("hi")
    title, body, error = title_and_body(missing_arg, OfflinePush(), Names("Alice"), templates)
    assert (title, body) == ("Alice", "hi")
    assert error is not None and "{0}" in error


def test_one_notification_per_device_with_the_message_key_as_collapse_id() -> None:
    message = text_message("hello")
    offline_push = OfflinePush(
        title="Generic", ext='{"k":"v"}', apns={"Title": "For iOS", "Sound": "ding.aiff"}
    )
    sends, error = notifications(
        message, offline_push, [PHONE, ANDROID], Names("Alice"), {}, badge=3
    )
    assert error is None
    (ios_device, ios), (android_device, android) = sends
    assert (ios_device, android_device) == (PHONE, ANDROID)
    assert ios.title == "For iOS" and android.title == "Generic"
    assert ios.body == android.body == "hello"
    assert ios.collapse_id == android.collapse_id == "1_2_3"
    assert ios.badge == 3
    assert ios.token == PHONE.token and android.token == ANDROID.token
    assert ios.data == {"conversation_type": "c2c", "conversation_id": "alice", "ext": '{"k":"v"}'}
    assert ios.extras == offline_push.extras_for("apns")
