"""History deletions and the live-group broadcast, their pure parts: MsgKeyList, how far a
clear reaches, a message as a user's client pulls it, and the broadcast's MsgSeq."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message, MsgElement
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.store.msg_deletions import as_seen_by
from services.gateway.msgkeys import MsgKey
from services.gateway.rest_v4.group_broadcast import broadcast_outcome
from services.gateway.rest_v4.msg_delete import MAX_MSG_KEYS, clear_up_to, msg_key_list


def test_msg_key_list() -> None:
    keys = ["1472765512_1000001_1697790495", "1085536171_2000001_1697790694"]
    assert msg_key_list(keys + keys[:1]) == [
        MsgKey(1472765512, 1000001, 1697790495),
        MsgKey(1085536171, 2000001, 1697790694),
    ]
    too_many = [f"1_{i}_3" for i in range(1, MAX_MSG_KEYS + 2)]
    for bad in (None, [], "1_2_3", [1], too_many):
        with pytest.raises(TidingsError) as err:
            msg_key_list(bad)
        assert err.value.code == ErrorCode.OPENIM_JSON_FIELDS, bad
    assert len(msg_key_list([f"1_{i}_3" for i in range(1, MAX_MSG_KEYS + 1)])) == MAX_MSG_KEYS
    for malformed in (["abc"], ["1_2"], ["x_2_3"], ["1_2_3_4"]):
        with pytest.raises(TidingsError) as err:
            msg_key_list(malformed)
        assert err.value.code == ErrorCode.OPENIM_BAD_MSG_KEY, malformed


def test_a_clear_never_reaches_past_the_latest_message() -> None:
    assert clear_up_to(None, 40) == 40
    assert clear_up_to(7, 40) == 7
    assert clear_up_to(7803321, 40) == 40
    assert clear_up_to(None, 0) == 0


def _message(seq: int) -> Message:
    return Message(
        seq=seq,
        sender="user0",
        msg_key=f"1_{seq}_2",
        elements=[MsgElement(msg_type="TIMTextElem", content_json=b'{"Text":"hi"}')],
        cloud_custom_data="cc",
    )


def test_hidden_and_cleared_messages_come_as_deleted_placeholders() -> None:
    m = _message(5)
    assert as_seen_by(m, set(), 0) is m
    assert as_seen_by(m, {4, 6}, 4) is m
    for hidden, cleared in (({5}, 0), (set(), 5), (set(), 9)):
        seen = as_seen_by(m, hidden, cleared)
        assert (seen.seq, seen.sender, seen.msg_key, seen.deleted) == (5, "user0", "1_5_2", True)
        assert (list(seen.elements), seen.cloud_custom_data) == ([], "")
    # The stored message itself is untouched.
    assert (m.deleted, len(m.elements)) == (False, 1)


def test_broadcast_msg_seq() -> None:
    assert broadcast_outcome([]) == 0
    refused = Outcome(error_code=10010, error_info="gone")
    assert broadcast_outcome([refused, Outcome(seq=7), Outcome(seq=3)]) == 7
    with pytest.raises(TidingsError) as err:
        broadcast_outcome([refused, Outcome(error_code=10023)])
    assert err.value.code == 10010
