"""Meizu Flyme push: the signature, the messageJson, and how replies map to VendorError."""

from __future__ import annotations

import json

from services.common.push_credentials import MeizuCredentials
from services.push.vendors.base import Notification, Priority
from services.push.vendors.meizu import (
    build_form,
    build_message,
    map_reply,
    notify_key,
    sign,
    valid_hours,
)

CREDENTIALS = MeizuCredentials(app_id="10000", app_secret="meizu-secret")


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "token": "RA50c63480",
        "title": "Alice",
        "body": "hi there",
        "collapse_id": "msg-42",
        "data": {"conv": "c2c_alice"},
        "ttl_s": 3600,
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


def test_sign_matches_the_example_in_meizus_api_doc() -> None:
    # MEIZUPUSH/PushAPI README, 接口签名规范: these three parameters sign to this digest.
    params = {
        "appId": "10000",
        "pushIds": "RA50c6348036344485d01776773577c64740465480a6b",
        "messageJson": (
            '{"title":"title","content":"content","pushTimeInfo":{"offLine":1,"validTime":24}}'
        ),
    }
    assert sign(params, "<APP_SECRET>") == "ac076ff25d9900015a681cb5172aa53b"


def test_sign_leaves_out_an_existing_sign() -> None:
    params = {"b": "2", "a": "1"}
    assert sign({**params, "sign": "old"}, "s") == sign(params, "s")


def test_redacted_shows_no_whole_secret() -> None:
    assert CREDENTIALS.redacted() == {"app_id": "10000", "app_secret": "meiz…"}


def test_notify_key_is_stable_and_of_meizus_shape() -> None:
    key = notify_key("msg-42")
    assert key == notify_key("msg-42") != notify_key("msg-43")
    assert len(key) == 8 and all(c in "0123456789abcdef" for c in key)


def test_valid_hours_rounds_up_within_1_to_72() -> None:
    assert [valid_hours(s) for s in (0, 60, 3600, 3601, 24 * 3600, 30 * 24 * 3600)] == [
        1,
        1,
        1,
        2,
        24,
        72,
    ]


def test_message_json() -> None:
    assert build_message(notification()) == {
        "noticeBarInfo": {"noticeBarType": 0, "title": "Alice", "content": "hi there"},
        "clickTypeInfo": {"clickType": 0, "parameters": {"conv": "c2c_alice"}},
        "pushTimeInfo": {"offLine": 1, "validTime": 1},
        "advanceInfo": {
            "suspend": 1,
            "clearNoticeBar": 1,
            "notificationType": {"vibrate": 1, "lights": 1, "sound": 1},
            "notifyKey": notify_key("msg-42"),
        },
    }
    quiet = build_message(notification(priority=Priority.NORMAL, data={}))
    assert quiet["advanceInfo"]["suspend"] == 0
    assert "parameters" not in quiet["clickTypeInfo"]


def test_form_is_signed_over_what_it_sends() -> None:
    form = build_form(CREDENTIALS, notification())
    assert set(form) == {"appId", "pushIds", "messageJson", "sign"}
    assert form["pushIds"] == "RA50c63480"
    assert json.loads(form["messageJson"]) == build_message(notification())
    unsigned = {k: v for k, v in form.items() if k != "sign"}
    assert form["sign"] == sign(unsigned, "meizu-secret")


def test_success_with_no_failed_push_ids() -> None:
    assert map_reply({"code": "200", "message": "", "value": {}}, "p1", 200) is None


def test_unsubscribed_or_invalid_push_id_is_token_invalid() -> None:
    for code in ("110002", "110003"):
        error = map_reply({"code": "200", "value": {code: ["p0", "p1"]}}, "p1", 200)
        assert error is not None
        assert (error.code, error.token_invalid, error.retryable) == (code, True, False)


def test_failure_listed_for_another_push_id_is_not_ours() -> None:
    assert map_reply({"code": "200", "value": {"110003": ["p0"]}}, "p1", 200) is None


def test_per_push_id_overload_is_retryable_and_folding_is_not() -> None:
    overloaded = map_reply({"code": "200", "value": {"519": ["p1"]}}, "p1", 200)
    assert overloaded is not None and overloaded.retryable
    folded = map_reply({"code": "200", "value": {"520": ["p1"]}}, "p1", 200)
    assert folded is not None and not folded.retryable and not folded.token_invalid


def test_request_level_codes() -> None:
    for code, retryable in (("110010", True), ("1001", True), ("1003", True), ("1006", False)):
        error = map_reply({"code": code, "message": "m", "value": ""}, "p1", 200)
        assert error is not None
        assert (error.code, error.retryable, error.token_invalid) == (code, retryable, False)
