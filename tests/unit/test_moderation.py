"""The pure parts of ingest moderation and of the im.config feed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from services.callback.before import before_command
from services.common.config_feed import ConfigState, config_change, config_key
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.callback_pb2 import (
    VERDICT_ALLOW,
    VERDICT_DROP,
    VERDICT_REJECT,
    BeforeSendReply,
)
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    InboundMessage,
    MsgElement,
)
from services.common.store.ports import App
from services.common.word_settings import WordActions, actions_of, parse_actions
from services.router.moderation import (
    Ruling,
    apply_reply,
    needs_moderation,
    on_unreachable,
    screen,
    select_lists,
)
from services.router.moderator import builtin_words
from services.router.words import Action, WordFilter, WordList


def element(msg_type: str, **content: object) -> MsgElement:
    return MsgElement(msg_type=msg_type, content_json=orjson.dumps(content))


def message(*elements: MsgElement, **kw: object) -> InboundMessage:
    return InboundMessage(
        sdkappid=1,
        conversation="c2c:a:b",
        chat_type=CHAT_TYPE_C2C,
        sender="a",
        to_user="b",
        client_msg_id="m1",
        elements=list(elements),
        **kw,  # type: ignore[arg-type]
    )


def contents(msg: InboundMessage) -> list[tuple[str, dict[str, object]]]:
    return [(e.msg_type, orjson.loads(e.content_json)) for e in msg.elements]


# --- im.config state ---------------------------------------------------------------------------


def test_config_state_reports_news_only() -> None:
    state = ConfigState()
    first = config_change(7, "app", {"changed": "settings"}, version=100)
    assert state.apply(first)
    assert not state.apply(first)  # replayed
    assert state.apply(config_change(7, "app", {"changed": "callback"}, version=100))
    assert not state.apply(config_change(7, "app", {"changed": "key"}, version=99))  # older
    assert state.apply(config_change(7, "dirty_words", {"changed": "add"}, version=1))
    assert state.apply(config_change(8, "app", {"changed": "settings"}, version=1))
    assert orjson.loads(state.value(7, "app") or b"") == {"changed": "callback"}
    assert state.value(9, "app") is None


def test_config_change_names_known_sections() -> None:
    assert config_key(7, "dirty_words") == b"7:dirty_words"
    with pytest.raises(ValueError, match=r"unknown im\.config section"):
        config_change(7, "nope", {}, version=1)


# --- word settings and list selection ----------------------------------------------------------


def test_word_actions_defaults_parse_and_fallback() -> None:
    assert actions_of(None) == WordActions("mask", "block")
    app = App(sdkappid=1, name="a", edition="Standard", keys=[])
    assert actions_of(app) == WordActions()
    app.settings["sensitive_words"] = {"builtin": "off", "custom": "mask"}
    assert actions_of(app) == WordActions("off", "mask")
    assert parse_actions({"custom": "mask"}, WordActions("block", "block")) == WordActions(
        "block", "mask"
    )
    with pytest.raises(ValueError, match="builtin must be one of"):
        parse_actions({"builtin": "hide"})
    with pytest.raises(ValueError, match="unknown fields"):
        parse_actions({"other": "mask"})
    app.settings["sensitive_words"] = {"builtin": 3}
    assert actions_of(app) == WordActions()


def test_select_lists_builds_only_lists_that_are_on() -> None:
    built: list[tuple[str, Action]] = []

    def make(name: str) -> Callable[[Action], WordList]:
        def build(action: Action) -> WordList:
            built.append((name, action))
            return WordList([name], action)

        return build

    lists = select_lists(WordActions("off", "mask"), make("builtin"), make("custom"))
    assert [wl.action for wl in lists] == [Action.MASK]
    assert built == [("custom", Action.MASK)]
    built.clear()
    select_lists(WordActions("block", "mask"), make("builtin"), make("custom"))
    assert built == [("builtin", Action.BLOCK), ("custom", Action.MASK)]


def test_builtin_list_is_shipped_and_extended_by_the_operator_file(tmp_path: Path) -> None:
    extra = tmp_path / "words.txt"
    extra.write_text("# operator list\n\nOperatorWord\n", encoding="utf-8")
    words = builtin_words(str(extra))
    assert "傻逼" in words and "OperatorWord" in words
    assert not any(w.startswith("#") for w in words)


# --- screening ---------------------------------------------------------------------------------


MASKING = WordFilter([WordList(["darn", "敏感"], Action.MASK)])
BLOCKING = WordFilter([WordList(["darn"], Action.MASK), WordList(["forbidden"], Action.BLOCK)])


def test_screen_masks_user_visible_text_only() -> None:
    msg = message(
        element("TIMTextElem", Text="DARN it, 很敏感"),
        element("TIMCustomElem", Data="darn", Desc="darn push", Ext="darn"),
        element("TIMLocationElem", Desc="darn place", Latitude=1.0, Longitude=2.0),
        element("TIMFaceElem", Index=1, Data="darn"),
    )
    decision = screen(msg, MASKING)
    assert decision.ruling is Ruling.ACCEPT
    assert contents(decision.message) == [
        ("TIMTextElem", {"Text": "*** it, 很***"}),
        ("TIMCustomElem", {"Data": "darn", "Desc": "*** push", "Ext": "darn"}),
        ("TIMLocationElem", {"Desc": "*** place", "Latitude": 1.0, "Longitude": 2.0}),
        ("TIMFaceElem", {"Index": 1, "Data": "darn"}),
    ]
    # The original is left as it was (it may be retried or logged).
    assert contents(msg)[0] == ("TIMTextElem", {"Text": "DARN it, 很敏感"})


def test_screen_blocks_with_80001_and_passes_clean_messages_unchanged() -> None:
    blocked = screen(
        message(element("TIMTextElem", Text="darn"), element("TIMTextElem", Text="FORBIDDEN")),
        BLOCKING,
    )
    assert (blocked.ruling, blocked.error_code) == (Ruling.REJECT, ErrorCode.DIRTY_WORDS)
    clean = message(element("TIMTextElem", Text="hello"))
    assert screen(clean, BLOCKING).message is clean


def test_only_new_live_messages_are_moderated() -> None:
    imported = message(client_time_ms=1_600_000_000_000)
    assert before_command(imported) is None
    assert before_command(message()) == "C2C.CallbackBeforeSendMsg"
    assert needs_moderation(message())
    assert needs_moderation(message(kind=MESSAGE_KIND_MESSAGE))
    assert not needs_moderation(message(kind=MESSAGE_KIND_RECALL))
    assert not needs_moderation(message(kind=MESSAGE_KIND_MODIFY))
    assert not needs_moderation(message(silent=True))
    assert not needs_moderation(message(client_time_ms=1_600_000_000_000))


# --- callback replies --------------------------------------------------------------------------


def test_apply_reply_maps_every_verdict() -> None:
    msg = message(element("TIMTextElem", Text="hi"), cloud_custom_data="ccd")
    assert apply_reply(msg, BeforeSendReply(verdict=VERDICT_ALLOW)).message is msg
    rejected = apply_reply(
        msg, BeforeSendReply(verdict=VERDICT_REJECT, error_code=120001, error_info="mine")
    )
    assert (rejected.ruling, rejected.error_code, rejected.error_info) == (
        Ruling.REJECT,
        120001,
        "mine",
    )
    assert apply_reply(msg, BeforeSendReply(verdict=VERDICT_DROP)).ruling is Ruling.DROP

    rewritten = BeforeSendReply(verdict=VERDICT_ALLOW, replaced_elements=True)
    rewritten.elements.append(element("TIMTextElem", Text="[redacted]"))
    out = apply_reply(msg, rewritten)
    assert out.ruling is Ruling.ACCEPT
    assert contents(out.message) == [("TIMTextElem", {"Text": "[redacted]"})]
    assert out.message.cloud_custom_data == "ccd"

    only_ccd = BeforeSendReply(
        verdict=VERDICT_ALLOW, replaced_cloud_custom_data=True, cloud_custom_data="checked"
    )
    out = apply_reply(msg, only_ccd)
    assert out.message.cloud_custom_data == "checked"
    assert contents(out.message) == [("TIMTextElem", {"Text": "hi"})]
    assert msg.cloud_custom_data == "ccd"


def test_unreachable_callback_service_follows_the_fail_policy() -> None:
    msg = message()
    assert on_unreachable(msg, "open", "deadline").ruling is Ruling.ACCEPT
    closed = on_unreachable(msg, "closed", "deadline")
    assert (closed.ruling, closed.error_code) == (Ruling.REJECT, ErrorCode.CALLBACK_UNAVAILABLE)
    assert "fail-closed" in closed.error_info
