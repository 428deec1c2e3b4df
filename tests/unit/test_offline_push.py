"""Tencent's OfflinePushInfo (services/common/offline_push.py): every field, old and new names,
wrong types and sizes refused with the caller's code, the canonical JSON, what each vendor
adapter gets in Notification.extras; and the badge's key and bounds (push_badge.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import orjson
import pytest

from services.common import keys
from services.common.allpush import AllMemberPushJob, Condition, decode_job, encode_job
from services.common.errors import ErrorCode, TidingsError
from services.common.offline_push import (
    MAX_OFFLINE_PUSH_BYTES,
    OfflinePush,
    OfflinePushError,
    parse_offline_push,
)
from services.common.push_badge import MAX_BADGE, badge_key, check_badge
from services.common.store.push_devices import VENDORS
from services.gateway import frames
from services.push.all_member import push_inbound
from services.push.vendors import apns, fcm, huawei, meizu, oppo, vivo, xiaomi
from services.router.ingest import build_message

# Every field Tidings carries, with a value of its documented type (Tencent's reference,
# "Common Parameters (OfflinePushInfo Description)").
ANDROID: dict[str, Any] = {
    "Sound": "shake",
    "PushStyle": 1,
    "XiaoMiChannelID": "mi-im",
    "OPPOChannelID": "oppo-im",
    "OPPOCategory": "IM",
    "OPPONotifyLevel": 16,
    "VIVOClassification": 1,
    "VIVOCategory": "IM",
    "VIVONotifyType": "4",
    "HuaWeiChannelID": "hw-im",
    "HuaWeiImportance": "NORMAL",
    "HuaWeiCategory": "IM",
    "HuaWeiImage": "https://example.com/hw.png",
    "ExtAsHuaweiIntentParam": 1,
    "HonorImportance": "NORMAL",
    "HonorImage": "https://example.com/honor.png",
    "GoogleChannelID": "fcm-im",
    "GoogleImage": "https://example.com/g.png",
    "GooglePriority": "high",
    "MeiZuNoticeMsgType": 1,
}
APNS: dict[str, Any] = {
    "Sound": "apns.mp3",
    "BadgeMode": 1,
    "Title": "apns title",
    "SubTitle": "apns subtitle",
    "Image": "https://example.com/a.png",
    "MutableContent": 1,
    "InterruptionLevel": "time-sensitive",
    "ContentAvailable": 0,
    "IsVoipPush": 0,
}
FULL: dict[str, Any] = {
    "PushFlag": 0,
    "Title": "Offline Push Title",
    "Desc": "offline push content",
    "Ext": '{"entity":{"key1":"value1"}}',
    "AndroidInfo": ANDROID,
    "ApnsInfo": APNS,
}

VENDOR_MODULES: dict[str, ModuleType] = {
    "apns": apns,
    "fcm": fcm,
    "huawei": huawei,
    "xiaomi": xiaomi,
    "oppo": oppo,
    "vivo": vivo,
    "meizu": meizu,
}


def test_every_field_is_kept_and_read_back() -> None:
    text = parse_offline_push(FULL)
    assert orjson.loads(text) == FULL
    push = OfflinePush.from_json(text)
    assert push == OfflinePush(
        push_disabled=False,
        title="Offline Push Title",
        desc="offline push content",
        ext='{"entity":{"key1":"value1"}}',
        badge_mode=1,
        android=ANDROID,
        apns=APNS,
    )
    assert not push.counts_badge


def test_canonical_json_is_compact_with_sorted_keys() -> None:
    text = parse_offline_push({"Title": "t", "AndroidInfo": {"Sound": "s"}, "Desc": "d"})
    assert text == '{"AndroidInfo":{"Sound":"s"},"Desc":"d","Title":"t"}'
    # The same request written in another order is the same JSON.
    assert parse_offline_push({"Desc": "d", "AndroidInfo": {"Sound": "s"}, "Title": "t"}) == text


def test_unknown_keys_nulls_and_empty_sections_are_dropped() -> None:
    raw = {
        "Title": "t",
        "Desc": None,
        "Unheard": {"x": 1},
        "MultiLanguageContent": [{"Language": "en"}],
        "AndroidInfo": {"Mystery": 5, "Sound": None},
        "ApnsInfo": {"LiveActivity": {"LaId": "x"}},
    }
    assert orjson.loads(parse_offline_push(raw)) == {"Title": "t"}


@pytest.mark.parametrize("raw", [None, {}, {"Unknown": 1}, {"AndroidInfo": {}}])
def test_nothing_to_carry_is_the_empty_string(raw: Any) -> None:
    assert parse_offline_push(raw) == ""
    assert OfflinePush.from_json("") == OfflinePush()


def test_old_and_new_names_are_both_carried() -> None:
    """vivo's VIVOClassification (before vivo's 2023 categories) next to VIVOCategory, and
    HuaWeiImportance next to HuaWeiCategory: Tencent documents both of each pair."""
    old = OfflinePush.from_json(
        parse_offline_push({"AndroidInfo": {"VIVOClassification": 0, "HuaWeiImportance": "LOW"}})
    )
    new = OfflinePush.from_json(
        parse_offline_push({"AndroidInfo": {"VIVOCategory": "IM", "HuaWeiCategory": "IM"}})
    )
    assert old.android == {"VIVOClassification": 0, "HuaWeiImportance": "LOW"}
    assert new.android == {"VIVOCategory": "IM", "HuaWeiCategory": "IM"}
    assert old.extras_for("vivo") == {"classification": "0"}
    assert new.extras_for("vivo") == {"category": "IM"}


def test_push_flag_and_badge_mode() -> None:
    quiet = OfflinePush.from_json(parse_offline_push({"PushFlag": 1}))
    assert quiet.push_disabled
    assert quiet.counts_badge  # BadgeMode defaults to 0 for messages (Tencent)
    assert not OfflinePush.from_json(parse_offline_push({"PushFlag": 0})).push_disabled


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("x", "OfflinePushInfo must be an object"),
        ([], "OfflinePushInfo must be an object"),
        ({"PushFlag": "0"}, "OfflinePushInfo.PushFlag must be an integer"),
        ({"PushFlag": True}, "OfflinePushInfo.PushFlag must be an integer"),
        ({"PushFlag": 2}, "OfflinePushInfo.PushFlag must be one of 0, 1"),
        ({"PushFlag": 1.0}, "OfflinePushInfo.PushFlag must be an integer"),
        ({"Title": 5}, "OfflinePushInfo.Title must be a string"),
        ({"Desc": ["d"]}, "OfflinePushInfo.Desc must be a string"),
        ({"Ext": {"k": "v"}}, "OfflinePushInfo.Ext must be a string"),
        ({"AndroidInfo": "x"}, "OfflinePushInfo.AndroidInfo must be an object"),
        ({"ApnsInfo": [1]}, "OfflinePushInfo.ApnsInfo must be an object"),
        ({"AndroidInfo": {"Sound": 1}}, "OfflinePushInfo.AndroidInfo.Sound must be a string"),
        (
            {"AndroidInfo": {"VIVOClassification": "1"}},
            "OfflinePushInfo.AndroidInfo.VIVOClassification must be an integer",
        ),
        (
            {"AndroidInfo": {"OPPONotifyLevel": 3}},
            "OfflinePushInfo.AndroidInfo.OPPONotifyLevel must be one of 1, 2, 16",
        ),
        (
            {"AndroidInfo": {"ExtAsHuaweiIntentParam": -1}},
            "OfflinePushInfo.AndroidInfo.ExtAsHuaweiIntentParam must be one of 0, 1",
        ),
        (
            {"AndroidInfo": {"HuaWeiChannelID": False}},
            "OfflinePushInfo.AndroidInfo.HuaWeiChannelID must be a string",
        ),
        ({"ApnsInfo": {"BadgeMode": 5}}, "OfflinePushInfo.ApnsInfo.BadgeMode must be one of 0, 1"),
        (
            {"ApnsInfo": {"MutableContent": "1"}},
            "OfflinePushInfo.ApnsInfo.MutableContent must be an integer",
        ),
        ({"ApnsInfo": {"SubTitle": 1}}, "OfflinePushInfo.ApnsInfo.SubTitle must be a string"),
    ],
)
def test_wrong_types_are_refused_with_the_callers_code(raw: Any, problem: str) -> None:
    with pytest.raises(TidingsError) as err:
        parse_offline_push(raw, ErrorCode.OPENIM_JSON_FIELDS)
    assert err.value.code == ErrorCode.OPENIM_JSON_FIELDS
    assert err.value.info == problem


def test_the_field_is_named_as_the_caller_spells_it() -> None:
    with pytest.raises(TidingsError) as err:
        parse_offline_push({"Title": 1}, ErrorCode.WS_BAD_FRAME, "offline_push")
    assert (err.value.code, err.value.info) == (
        ErrorCode.WS_BAD_FRAME,
        "offline_push.Title must be a string",
    )


def test_default_code_is_90001() -> None:
    with pytest.raises(TidingsError) as err:
        parse_offline_push({"PushFlag": 9})
    assert err.value.code == ErrorCode.OPENIM_JSON == 90001


def test_size_is_bounded() -> None:
    # The JSON around Desc: {"Desc":""} is 11 bytes.
    fits = "x" * (MAX_OFFLINE_PUSH_BYTES - 11)
    assert len(parse_offline_push({"Desc": fits})) == MAX_OFFLINE_PUSH_BYTES
    with pytest.raises(TidingsError) as err:
        parse_offline_push({"Desc": fits + "x"})
    assert err.value.info == f"OfflinePushInfo is over {MAX_OFFLINE_PUSH_BYTES} bytes"
    # Bytes, not characters: 3 bytes each in UTF-8.
    with pytest.raises(TidingsError):
        parse_offline_push({"Desc": "推" * (MAX_OFFLINE_PUSH_BYTES // 3)})


def test_extras_for_each_vendor() -> None:
    push = OfflinePush.from_json(parse_offline_push(FULL))
    assert push.extras_for("apns") == {
        apns.EXTRA_SOUND: "apns.mp3",
        apns.EXTRA_SUBTITLE: "apns subtitle",
        apns.EXTRA_MUTABLE_CONTENT: "1",
    }
    assert push.extras_for("fcm") == {
        fcm.EXTRA_ANDROID_CHANNEL_ID: "fcm-im",
        fcm.EXTRA_APNS_SOUND: "apns.mp3",
    }
    assert push.extras_for("huawei") == {huawei.EXTRA_CHANNEL_ID: "hw-im"}
    assert push.extras_for("xiaomi") == {xiaomi.EXTRA_CHANNEL_ID: "mi-im"}
    assert push.extras_for("oppo") == {oppo.EXTRA_CHANNEL_ID: "oppo-im", oppo.EXTRA_CATEGORY: "IM"}
    assert push.extras_for("vivo") == {
        vivo.EXTRA_CLASSIFICATION: "1",
        vivo.EXTRA_CATEGORY: "IM",
    }
    assert push.extras_for("meizu") == {}


@pytest.mark.parametrize("vendor", VENDORS)
def test_extras_are_keys_the_adapter_reads(vendor: str) -> None:
    module = VENDOR_MODULES[vendor]
    read = {v for name, v in vars(module).items() if name.startswith("EXTRA_")}
    extras = OfflinePush.from_json(parse_offline_push(FULL)).extras_for(vendor)
    assert set(extras) <= read


def test_empty_strings_and_absent_fields_give_no_extras() -> None:
    push = OfflinePush.from_json(parse_offline_push({"ApnsInfo": {"Sound": "", "SubTitle": "s"}}))
    # An empty Sound is Tencent's "unset": the adapter's default sound, not silence.
    assert push.extras_for("apns") == {apns.EXTRA_SUBTITLE: "s"}
    assert OfflinePush().extras_for("oppo") == {}
    assert OfflinePush().extras_for("unknown-vendor") == {}


def test_apns_title_overrides_on_apns_only() -> None:
    push = OfflinePush.from_json(parse_offline_push({"Title": "all", "ApnsInfo": {"Title": "ios"}}))
    assert push.title_for("apns") == "ios"
    assert push.title_for("fcm") == "all"
    plain = OfflinePush.from_json(parse_offline_push({"Title": "all"}))
    assert plain.title_for("apns") == "all"


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"PushFlag": "x"}', '{"AndroidInfo": {"OPPONotifyLevel": 0}}']
)
def test_from_json_refuses_what_is_not_an_offline_push_info(text: str) -> None:
    with pytest.raises(OfflinePushError):
        OfflinePush.from_json(text)


def test_badge_key_is_per_app_and_unambiguous() -> None:
    assert badge_key(1400000001, "u") == "badge:{1400000001:u}"
    assert badge_key(1400000001, "u") != badge_key(1400000002, "u")
    # `:` and the hash-tag braces in a UserID are escaped, so no two users share a key.
    users = ("a:b", "a%3Ab", "a", "a}b", "a{b")
    assert len({badge_key(1, u) for u in users}) == len(users)
    assert [keys.unescape(badge_key(1, u)[len("badge:{1:") : -1]) for u in users] == list(users)


@pytest.mark.parametrize("count", [0, 1, MAX_BADGE])
def test_badge_counts_in_range(count: int) -> None:
    assert check_badge(count) == count


@pytest.mark.parametrize("count", [-1, MAX_BADGE + 1, True, 1.5, "3", None])
def test_badge_counts_out_of_range(count: Any) -> None:
    with pytest.raises(ValueError, match="from 0 to 99999"):
        check_badge(count)


def test_the_send_frame_carries_it_to_the_message() -> None:
    frame = {"op": "send", "to": "bob", "text": "hi", "offline_push": {"Title": "t", "PushFlag": 1}}
    inbound = frames.parse_send(frame, 1, "alice", "Web", 1024)
    assert inbound.offline_push_json == '{"PushFlag":1,"Title":"t"}'
    built = build_message(inbound, 1, 1_700_000_000_000, 7)
    assert built.offline_push_json == inbound.offline_push_json
    plain = frames.parse_send({"op": "send", "to": "bob", "text": "hi"}, 1, "alice", "Web", 1024)
    assert plain.offline_push_json == ""
    with pytest.raises(TidingsError) as err:
        frames.parse_send({**frame, "offline_push": {"Desc": 1}}, 1, "alice", "Web", 1024)
    assert (err.value.code, err.value.info) == (
        ErrorCode.WS_BAD_FRAME,
        "offline_push.Desc must be a string",
    )


def test_an_all_member_push_job_carries_it_to_every_message() -> None:
    job = AllMemberPushJob(
        task_id="t1",
        sdkappid=1,
        sender="admin",
        msg_random=5,
        body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        condition=Condition(),
        created_at_ms=1,
        offline_push_json='{"Desc":"sale"}',
    )
    decoded = decode_job(encode_job(job))
    assert decoded == job
    assert push_inbound(decoded, [], "u1", 2).offline_push_json == '{"Desc":"sale"}'
    # A job queued before the field was carried has none.
    old = orjson.loads(encode_job(job))
    del old["offline_push"]
    assert decode_job(orjson.dumps(old)).offline_push_json == ""
