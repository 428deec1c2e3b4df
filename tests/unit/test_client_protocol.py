"""Pure pieces of the client protocol: protobuf frames (server and SDK side), the AVChatRoom
rate setting, which groups take read receipts and client joins, and the online-only and
receipt flags on the message path."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage, Message
from services.common.store.groups import Group
from services.common.store.ports import App, countable
from services.gateway import avchatroom, frames_proto
from services.gateway.handlers.membership import join_refusal
from services.gateway.msgbody import message_json
from services.gateway.receipts import parse_entry, receipt_refusal
from services.gateway.rest_v4.send_controls import send_controls
from services.router.fanout import Recipient, pushable
from services.router.ingest import build_message
from tidings_client import frames as sdk_frames

ACK = {
    "op": "ack",
    "id": 7,
    "code": 0,
    "seq": 41,
    "time": 1_700_000_000_123,
    "duplicate": False,
    "conversation": "c2c:a:b",
    "elements": [
        {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "x"}},
        {"MsgType": "TIMLocationElem", "MsgContent": {"Latitude": 22.5, "Longitude": 113.9}},
    ],
    "last_message": None,
}


def test_a_frame_round_trips_through_protobuf_with_integers_intact() -> None:
    decoded = frames_proto.decode_frame(frames_proto.encode_frame(ACK), 1 << 16)
    assert decoded == ACK
    assert isinstance(decoded["seq"], int)
    assert isinstance(decoded["elements"][0]["MsgContent"]["Index"], int)


def test_the_sdk_and_the_gateway_read_each_others_frames() -> None:
    assert sdk_frames.decode(frames_proto.encode_frame(ACK), sdk_frames.PROTO) == ACK
    sent = {"op": "send", "id": 3, "to": "b", "text": "hi", "need_receipt": True}
    assert frames_proto.decode_frame(sdk_frames.encode(sent, sdk_frames.PROTO), 1 << 16) == sent
    assert sdk_frames.decode(sdk_frames.encode(sent, sdk_frames.JSON), sdk_frames.JSON) == sent


def test_a_push_has_no_id() -> None:
    push = frames_proto.decode_frame(frames_proto.encode_frame({"op": "msg", "msgs": []}), 1024)
    assert push == {"op": "msg", "id": None, "msgs": []}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xff\xff", ErrorCode.WS_BAD_FRAME),
        (b"\x0a", ErrorCode.WS_BAD_FRAME),
        (frames_proto.encode_frame({"id": 1}), ErrorCode.WS_BAD_FRAME),
        (
            frames_proto.encode_frame({"op": "send", "text": "x" * 100}),
            ErrorCode.WS_FRAME_TOO_LARGE,
        ),
    ],
)
def test_malformed_protobuf_is_a_coded_error(raw: bytes, code: ErrorCode) -> None:
    with pytest.raises(TidingsError) as err:
        frames_proto.decode_frame(raw, 64)
    assert err.value.code == code


def test_encoding_is_chosen_by_the_query() -> None:
    assert frames_proto.encoding_of("/v1") == frames_proto.JSON
    assert frames_proto.encoding_of("/v1?encoding=proto") == frames_proto.PROTO
    assert frames_proto.encoding_of("/v1?encoding=json") == frames_proto.JSON
    assert frames_proto.encoding_of("/v1?encoding=xml") is None


def _app(**settings: object) -> App:
    return App(sdkappid=1, name="a", edition="Standard", keys=[], settings=dict(settings))


@pytest.mark.parametrize(
    ("setting", "rate"), [(None, 1), (1, 1), (3, 3), (5, 5), (9, 1), (0, 1), ("2", 2), ("x", 1)]
)
def test_avchatroom_rate_is_one_a_second_by_default_and_at_most_five(
    setting: object, rate: int
) -> None:
    app = _app() if setting is None else _app(avchatroom_msg_rate=setting)
    assert avchatroom.msg_rate(app).limit == rate
    assert avchatroom.msg_rate(app).per_s == 1


RECEIPTS_ON = {"group_receipt_types": ["Work", "Public", "Meeting"]}


def _group(group_type: str, apply_join_option: str = "") -> Group:
    return Group(group_id="g", group_type=group_type, name="g", apply_join_option=apply_join_option)


def test_read_receipts_are_for_groups_of_at_most_200_and_not_live_or_community() -> None:
    for kind in ("Work", "Public", "Meeting"):
        assert receipt_refusal(RECEIPTS_ON, _group(kind), 200) is None
        refusal = receipt_refusal(RECEIPTS_ON, _group(kind), 201)
        assert refusal is not None
        assert refusal.code == ErrorCode.GROUP_NO_PERMISSION
    for kind in ("AVChatRoom", "Community"):
        assert receipt_refusal(RECEIPTS_ON, _group(kind), 2) is not None
    assert parse_entry(b"12|alice") == (12, "alice")
    assert parse_entry("3|a|b") == (3, "a|b")


def test_clients_join_live_and_free_access_groups_only() -> None:
    assert join_refusal(_group("AVChatRoom", "FreeAccess")) is None
    assert join_refusal(_group("Meeting", "FreeAccess")) is None
    for kind, option in (("Work", "DisableApply"), ("Public", "NeedPermission")):
        refusal = join_refusal(_group(kind, option))
        assert refusal is not None
        assert refusal.code == ErrorCode.GROUP_NO_PERMISSION


def test_online_only_and_receipt_flags_travel_from_send_to_client_and_skip_push() -> None:
    inbound = InboundMessage(
        conversation="group:live", group_id="live", online_only=True, need_read_receipt=True
    )
    built = build_message(inbound, 5, 1_700_000_000_000, 9)
    assert (built.online_only, built.need_read_receipt) == (True, True)
    shown = message_json(built)
    assert (shown["online_only"], shown["need_receipt"]) == (True, True)
    member = Recipient("fan", is_sender=False)
    assert not pushable(built, member)
    assert pushable(Message(conversation="group:work", seq=1), member)
    assert not pushable(Message(seq=1), Recipient("host", is_sender=True))


BAD = ErrorCode.OPENIM_JSON_FIELDS


def test_send_controls_travel_from_the_rest_body_to_the_stored_message() -> None:
    controls = send_controls(
        {
            "SendMsgControl": ["NoUnread", "WithMuteNotifications", "NoLastMsg"],
            "ForbidCallbackControl": ["ForbidAfterSendMsgCallback"],
        },
        BAD,
    )
    built = build_message(controls.apply(InboundMessage(conversation="c2c:a:b")), 1, 1, 1)
    assert (built.no_unread, built.push_when_muted, built.forbid_after_callback) == (
        True,
        True,
        True,
    )
    assert not countable(built)
    # A member who asked not to be notified is pushed a message sent WithMuteNotifications.
    quiet = Recipient("fan", is_sender=False, no_push=True)
    assert pushable(built, quiet)
    assert not pushable(Message(seq=1), quiet)
    with pytest.raises(TidingsError):
        send_controls(
            {"ForbidCallbackControl": "ForbidAfterSendMsgCallback"}, ErrorCode.OPENIM_JSON_FIELDS
        )
