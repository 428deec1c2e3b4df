"""The pure parts of two history replies against Tencent's reference: group_msg_get_simple's page,
IsFinished and RspMsgList items (placeholders included), and admin_getroammsg's MsgList items
(IsPeerRead, MsgClientTime)."""

from __future__ import annotations

from typing import Any

from services.common.pb.tidings.v1.envelope_pb2 import Message, MsgElement
from services.gateway.rest_v4.group_messages import (
    CUT,
    CUT_ALL_EXPIRED,
    FINISHED,
    MAX_GET,
    history_page,
    is_finished,
    rsp_item,
)
from services.gateway.rest_v4.openim import roam_item

TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "Report"}}]
# Every field of an RspMsgList item in Tencent's example reply.
RSP_FIELDS = [
    "From_Account",
    "IsPlaceMsg",
    "MsgBody",
    "MsgPriority",
    "MsgRandom",
    "MsgSeq",
    "MsgTimeStamp",
]


def message(seq: int, **kw: Any) -> Message:
    return Message(
        seq=seq,
        sender="144115198339527735",
        to_user="user2",
        msg_random=235168582,
        server_time_ms=1458721797_000,
        msg_key=f"{seq}_235168582_1458721797",
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"Report"}')],
        **kw,
    )


def test_history_page_counts_down_from_the_top_and_stops_at_seq_one() -> None:
    assert history_page(7803321, 2) == ([7803321, 7803320], True)
    assert history_page(3, 20) == ([3, 2, 1], True)
    assert history_page(0, 5) == ([], True)
    # More than a reply holds: the first MAX_GET, and the range was cut.
    seqs, whole = history_page(100, 50)
    assert (seqs, whole) == (list(range(100, 100 - MAX_GET, -1)), False)
    # A huge count costs nothing: the range is never built.
    assert history_page(30, 4_294_967_295) == (list(range(30, 10, -1)), False)
    assert history_page(20, 4_294_967_295) == (list(range(20, 0, -1)), True)


def test_is_finished_is_tencents() -> None:
    m = message(5)
    assert is_finished(True, [m, None]) == FINISHED == 1
    assert is_finished(True, [None, None]) == FINISHED
    assert is_finished(False, [m, None]) == CUT == 0
    assert is_finished(False, [None, None]) == CUT_ALL_EXPIRED == 2


def test_a_message_is_tencents_example_item() -> None:
    assert rsp_item(7803320, message(7803320), with_recalled=False) == {
        "From_Account": "144115198339527735",
        "IsPlaceMsg": 0,
        "MsgBody": TEXT,
        "MsgPriority": 1,
        "MsgRandom": 235168582,
        "MsgSeq": 7803320,
        "MsgTimeStamp": 1458721797,
    }


def test_placeholders_carry_every_field() -> None:
    expired = rsp_item(9, None, with_recalled=False)
    deleted = rsp_item(9, message(9, deleted=True), with_recalled=True)
    recalled = rsp_item(9, message(9, recalled=True), with_recalled=False)
    for item in (expired, deleted, recalled):
        assert list(item) == RSP_FIELDS
        assert (item["IsPlaceMsg"], item["MsgBody"], item["MsgSeq"]) == (1, [], 9)
    assert (expired["From_Account"], expired["MsgRandom"], expired["MsgTimeStamp"]) == ("", 0, 0)
    assert (deleted["From_Account"], deleted["MsgTimeStamp"]) == ("144115198339527735", 1458721797)


def test_with_recalled_msg_returns_the_body_marked_two() -> None:
    item = rsp_item(9, message(9, recalled=True), with_recalled=True)
    assert list(item) == RSP_FIELDS
    assert (item["IsPlaceMsg"], item["MsgBody"]) == (2, TEXT)


def test_a_message_with_cloud_custom_data_carries_it_last() -> None:
    item = rsp_item(9, message(9, cloud_custom_data="cc"), with_recalled=False)
    assert list(item)[-1] == "CloudCustomData" and item["CloudCustomData"] == "cc"
    assert "CloudCustomData" not in rsp_item(9, message(9), with_recalled=False)
    hidden = rsp_item(9, message(9, recalled=True, cloud_custom_data="cc"), with_recalled=False)
    assert "CloudCustomData" not in hidden


def test_roam_item_is_tencents_example_item() -> None:
    item = roam_item(message(1456, cloud_custom_data="your cloud custom data"), {"user2": 1456})
    assert item == {
        "From_Account": "144115198339527735",
        "To_Account": "user2",
        "MsgSeq": 1456,
        "MsgRandom": 235168582,
        "MsgTimeStamp": 1458721797,
        "MsgClientTime": 1458721797,
        "MsgFlagBits": 0,
        "IsPeerRead": 1,
        "MsgKey": "1456_235168582_1458721797",
        "MsgBody": TEXT,
        "CloudCustomData": "your cloud custom data",
    }


def test_is_peer_read_follows_the_recipients_read_mark() -> None:
    m = message(10)
    assert roam_item(m, {})["IsPeerRead"] == 0
    assert roam_item(m, {"user2": 9})["IsPeerRead"] == 0
    assert roam_item(m, {"user2": 11})["IsPeerRead"] == 1
    # The sender's own read mark says nothing about the recipient.
    assert roam_item(m, {"144115198339527735": 99})["IsPeerRead"] == 0
    assert roam_item(message(10, recalled=True), {})["MsgFlagBits"] == 8
