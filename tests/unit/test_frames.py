import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway import frames
from services.gateway.msgbody import msg_body_json, parse_msg_body


def test_parse_frame_refuses_bad_input() -> None:
    for raw, code in [
        ("{nope", ErrorCode.WS_BAD_FRAME),
        ("[]", ErrorCode.WS_BAD_FRAME),
        ('{"op": 1}', ErrorCode.WS_BAD_FRAME),
        ("x" * 100, ErrorCode.WS_FRAME_TOO_LARGE),
    ]:
        with pytest.raises(TidingsError) as err:
            frames.parse_frame(raw, max_bytes=50)
        assert err.value.code == code


def test_send_frame_becomes_an_inbound_message() -> None:
    inbound = frames.parse_send(
        {"op": "send", "to": "bob", "text": "hi", "client_msg_id": "c1", "random": 5},
        1400000001,
        "alice",
        "Android",
        12 * 1024,
    )
    assert inbound.conversation == "c2c:alice:bob"
    assert inbound.client_msg_id == "c1"
    assert inbound.msg_random == 5
    assert msg_body_json(inbound.elements) == [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}
    ]


def test_a_send_without_ids_is_never_taken_for_a_retry() -> None:
    def ids(frame: dict[str, object]) -> str:
        return frames.parse_send(frame, 1, "alice", "Web", 1024).client_msg_id

    bare = {"op": "send", "to": "bob", "text": "hi"}
    assert len({ids(bare) for _ in range(1000)}) == 1000
    # A client that gives only Tencent's random retries with it.
    assert ids({**bare, "random": 7}) == ids({**bare, "random": 7}) == "r7"


def test_send_needs_exactly_one_target() -> None:
    with pytest.raises(TidingsError):
        frames.parse_send({"op": "send", "text": "x"}, 1, "a", "Web", 100)
    with pytest.raises(TidingsError):
        frames.parse_send({"op": "send", "to": "b", "group": "g", "text": "x"}, 1, "a", "Web", 100)


def test_body_limit_and_element_types() -> None:
    body = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x" * 200}}]
    with pytest.raises(TidingsError) as err:
        parse_msg_body(body, 100, ErrorCode.BODY_TOO_LARGE, ErrorCode.WS_BAD_FRAME)
    assert err.value.code == ErrorCode.BODY_TOO_LARGE
    for bad in (None, [], [1], [{"MsgType": "TIMTextElem", "MsgContent": {"Text": 3}}]):
        with pytest.raises(TidingsError):
            parse_msg_body(bad, 100, ErrorCode.BODY_TOO_LARGE, ErrorCode.WS_BAD_FRAME)


def test_a_client_cannot_pick_a_server_made_message_id() -> None:
    """Ids the server makes up hold ':' (REST sends are "rest:..."); a client's may not, so a
    user cannot take the dedupe key of an app server's future send as a retry of its own."""
    ok = frames.parse_send(
        {"op": "send", "to": "b", "text": "x", "client_msg_id": "a.b_c~d-1"}, 1, "a", "Web", 100
    )
    assert ok.client_msg_id == "a.b_c~d-1"
    for bad in ("rest:0:5:1234", "", "x" * 65, "spa ce"):
        with pytest.raises(TidingsError) as err:
            frames.parse_send(
                {"op": "send", "to": "b", "text": "x", "client_msg_id": bad}, 1, "a", "Web", 100
            )
        assert err.value.code == ErrorCode.WS_BAD_FRAME
