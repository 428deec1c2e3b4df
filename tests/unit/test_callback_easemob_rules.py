"""Easemob-style rules: validation and limits, post-send filters (AND of ORs), the security
md5, the TIM <-> Easemob body mapping, and what a rule's answer does to a message."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from services.callback.rules_body import (
    chat_type,
    cloud_custom_data_of,
    easemob_bodies,
    ext_of,
    facts,
    msg_types,
    post_send_body,
    pre_send_body,
    security,
    signed,
    tim_elements,
)
from services.callback.rules_post import is_new_message, rule_event_id
from services.callback.rules_pre import Draft, blocked, failed, parse_rule_reply
from services.common import callback_rules
from services.common.app_cache import AppCache
from services.common.callback_records import Delivery
from services.common.callback_rules import (
    MAX_FILTER_VALUES,
    MessageFacts,
    PostSendRule,
    RuleError,
    add_rule,
    delete_rule,
    parse_post_send,
    parse_pre_send,
    replace_rule,
    rules_of,
)
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.callback_pb2 import (
    VERDICT_ALLOW,
    VERDICT_DROP,
    VERDICT_REJECT,
    BeforeSendReply,
)
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    SOURCE_REST,
    SOURCE_WS,
    InboundMessage,
    Message,
    MsgElement,
)
from services.common.store.ports import App
from services.router.moderation import Decision, Ruling
from services.router.moderator import CALL_MARGIN_S, Ask, Moderator, WordFilters
from tests.callback_fakes import Versions

URL = "https://rules.example.com/hook"


def pre(**kw: Any) -> dict[str, Any]:
    return {"name": "moderate", "url": URL, "chat_types": ["single"], "msg_types": ["txt"], **kw}


def post(**kw: Any) -> dict[str, Any]:
    return {"name": "sync", "url": URL, **kw}


def new_app() -> App:
    return App(sdkappid=1400000001, name="t", edition="Standard", keys=[])


def elem(msg_type: str, **content: Any) -> MsgElement:
    return MsgElement(msg_type=msg_type, content_json=orjson.dumps(content))


# --- validation ---------------------------------------------------------------------------


def test_pre_send_defaults_and_secret_drawn() -> None:
    rule = parse_pre_send(pre(), allow_private=False)
    assert (rule.timeout_ms, rule.on_failure, rule.report_error, rule.enabled) == (
        200,
        "pass",
        True,
        True,
    )
    assert len(rule.secret) == 32
    assert parse_pre_send(pre(chat_types=["chat"]), False).chat_types == {"single"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "x" * 33}, "at most 32"),
        ({"name": ""}, "non-empty"),
        ({"chat_types": []}, "chat_types"),
        ({"chat_types": ["channel"]}, "unknown values"),
        ({"msg_types": ["sticker"]}, "unknown values"),
        ({"timeout_ms": 10}, "timeout_ms"),
        ({"timeout_ms": 60_000}, "timeout_ms"),
        ({"timeout_ms": True}, "timeout_ms"),
        ({"on_failure": "retry"}, "on_failure"),
        ({"report_error": "yes"}, "report_error"),
        ({"url": "ftp://x"}, "http"),
        ({"url": "http://127.0.0.1/hook"}, "loopback"),
        ({"url": "http://169.254.169.254/latest"}, "loopback"),
        ({"surprise": 1}, "unknown fields"),
    ],
)
def test_pre_send_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message) as err:
        parse_pre_send(pre(**change), allow_private=False)
    assert err.value.code == "invalid_argument"


def test_chinese_pre_send_names_but_not_post_send() -> None:
    assert parse_pre_send(pre(name="内容审核"), False).name == "内容审核"
    with pytest.raises(RuleError, match="letters, digits and underscores"):
        parse_post_send(post(name="同步"), False)


def test_loopback_allowed_when_the_operator_says_so() -> None:
    assert parse_pre_send(pre(url="http://127.0.0.1:9/x"), allow_private=True).url


def test_post_send_filters_hold_at_most_50_values() -> None:
    ok = [f"u{i}" for i in range(MAX_FILTER_VALUES)]
    assert len(parse_post_send(post(from_ids=ok), False).from_ids) == 50
    for key in ("from_ids", "to_ids", "group_ids", "ext_keys"):
        with pytest.raises(RuleError, match="at most 50"):
            parse_post_send(post(**{key: [*ok, "one-more"]}), False)
    with pytest.raises(RuleError, match="stream"):
        parse_post_send(post(stream="all"), False)


def test_at_most_four_pre_send_rules_and_unique_names() -> None:
    app = new_app()
    for i in range(4):
        add_rule(app, "pre-send", pre(name=f"r{i}"), allow_private=False)
    with pytest.raises(RuleError) as err:
        add_rule(app, "pre-send", pre(name="r4"), allow_private=False)
    assert err.value.code == "too_many_rules"
    assert "4 pre-send rules" in err.value.message
    # Post-send rules are counted apart.
    add_rule(app, "post-send", post(), allow_private=False)
    with pytest.raises(RuleError) as taken:
        add_rule(app, "post-send", post(), allow_private=False)
    assert taken.value.code == "name_taken"
    assert [r.name for r in rules_of(app).pre_send] == ["r0", "r1", "r2", "r3"]


def test_replace_keeps_the_secret_and_delete() -> None:
    app = new_app()
    first = add_rule(app, "pre-send", pre(), allow_private=False)
    changed = replace_rule(app, "pre-send", "moderate", pre(timeout_ms=500), allow_private=False)
    assert changed.secret == first.secret
    assert rules_of(app).pre_send[0].timeout_ms == 500
    delete_rule(app, "pre-send", "moderate")
    assert rules_of(app).pre_send == ()
    with pytest.raises(RuleError) as err:
        delete_rule(app, "pre-send", "moderate")
    assert err.value.code == "not_found"


def test_stored_rules_round_trip_through_app_settings() -> None:
    app = new_app()
    add_rule(app, "post-send", post(stream="offline", ext_keys=["k"]), allow_private=False)
    stored = orjson.loads(orjson.dumps(app.settings))
    again = App(sdkappid=1, name="t", edition="Standard", keys=[], settings=stored)
    assert rules_of(again) == rules_of(app)
    assert callback_rules.SETTINGS_KEY in stored


# --- filters --------------------------------------------------------------------------------


def facts_of(**kw: Any) -> MessageFacts:
    base: dict[str, Any] = {
        "sender": "alice",
        "to_user": "bob",
        "group_id": "",
        "ext_keys": frozenset(),
        "via_rest": False,
    }
    return MessageFacts(**{**base, **kw})


def test_empty_filters_match_everything() -> None:
    rule = PostSendRule(name="all", url=URL, secret="s")
    assert rule.matches(facts_of())
    assert rule.matches(facts_of(to_user="", group_id="g1", via_rest=True))


def test_filters_combine_with_and() -> None:
    rule = PostSendRule(
        name="f",
        url=URL,
        secret="s",
        from_ids=frozenset({"alice", "carol"}),
        to_ids=frozenset({"bob"}),
        ext_keys=frozenset({"order", "vip"}),
    )
    assert rule.matches(facts_of(ext_keys=frozenset({"vip", "other"})))
    assert not rule.matches(facts_of(sender="dave", ext_keys=frozenset({"vip"})))
    assert not rule.matches(facts_of(to_user="erin", ext_keys=frozenset({"vip"})))
    assert not rule.matches(facts_of(ext_keys=frozenset({"other"})))


def test_group_filter_and_the_to_filter_on_group_messages() -> None:
    by_group = PostSendRule(name="g", url=URL, secret="s", group_ids=frozenset({"g1"}))
    assert by_group.matches(facts_of(to_user="", group_id="g1"))
    assert not by_group.matches(facts_of())  # a C2C message is in no group
    # To is the receiving user: a group message in the chat stream has none.
    by_to = PostSendRule(name="t", url=URL, secret="s", to_ids=frozenset({"bob"}))
    assert not by_to.matches(facts_of(to_user="", group_id="g1"))
    assert by_to.matches(facts_of(to_user="bob", group_id="g1"))  # an offline member


def test_rest_flag_and_enabled_flag() -> None:
    no_rest = PostSendRule(name="r", url=URL, secret="s", include_rest=False)
    assert not no_rest.matches(facts_of(via_rest=True))
    assert no_rest.matches(facts_of())
    assert not PostSendRule(name="d", url=URL, secret="s", enabled=False).matches(facts_of())


def test_pre_send_rule_applies_by_chat_type_and_any_element_type() -> None:
    rule = parse_pre_send(pre(chat_types=["group", "chatroom"], msg_types=["img"]), False)
    assert rule.applies("chatroom", {"txt", "img"})
    assert not rule.applies("single", {"img"})
    assert not rule.applies("group", {"txt"})


# --- security and bodies ----------------------------------------------------------------------


def test_security_is_md5_of_call_id_secret_and_timestamp() -> None:
    expected = hashlib.md5(b"app#x_123" + b"s3cret" + b"1600060847294").hexdigest()
    assert security("app#x_123", "s3cret", 1600060847294) == expected
    body = signed({"callId": "app#x_123", "timestamp": 1600060847294}, "s3cret")
    assert body["security"] == expected


def test_chat_types_from_tencent_group_types() -> None:
    assert chat_type(CHAT_TYPE_C2C, "") == "single"
    assert chat_type(CHAT_TYPE_GROUP, "Public") == "group"
    assert chat_type(CHAT_TYPE_GROUP, "AVChatRoom") == "chatroom"
    assert chat_type(CHAT_TYPE_GROUP, "ChatRoom") == "chatroom"


def test_every_tim_element_maps_to_an_easemob_body() -> None:
    elements = [
        elem("TIMTextElem", Text="hi"),
        elem(
            "TIMImageElem",
            UUID="img1",
            ImageFormat=1,
            ImageInfoArray=[
                {"Type": 3, "Size": 10, "Width": 10, "Height": 10, "URL": "https://x/t"},
                {"Type": 1, "Size": 99, "Width": 640, "Height": 480, "URL": "https://x/o"},
            ],
        ),
        elem("TIMLocationElem", Desc="Beijing", Latitude=39.9, Longitude=116.3),
        elem("TIMSoundElem", Url="https://x/s", UUID="s1", Size=10, Second=3),
        elem(
            "TIMVideoFileElem",
            VideoUrl="https://x/v",
            VideoUUID="v1",
            VideoSize=100,
            VideoSecond=5,
            ThumbUrl="https://x/vt",
        ),
        elem("TIMFileElem", Url="https://x/f", FileName="a.pdf", FileSize=7),
        elem("TIMCustomElem", Data="order", Desc="d", Ext="", Sound=""),
        elem("TIMFaceElem", Index=3, Data="smile"),
    ]
    assert easemob_bodies(elements) == [
        {"type": "txt", "msg": "hi"},
        {
            "type": "img",
            "url": "https://x/o",
            "filename": "img1",
            "size": {"width": 640, "height": 480},
            "file_length": 99,
        },
        {"type": "loc", "addr": "Beijing", "lat": 39.9, "lng": 116.3},
        {"type": "audio", "url": "https://x/s", "filename": "s1", "length": 3, "file_length": 10},
        {
            "type": "video",
            "url": "https://x/v",
            "filename": "v1",
            "length": 5,
            "file_length": 100,
            "thumb": "https://x/vt",
        },
        {"type": "file", "url": "https://x/f", "filename": "a.pdf", "file_length": 7},
        {"type": "custom", "customEvent": "order", "customExts": {"Desc": "d"}},
        {"type": "custom", "customEvent": "smile", "customExts": {"Index": 3}},
    ]
    assert msg_types(elements) == {"txt", "img", "loc", "audio", "video", "file", "custom"}


def test_answer_bodies_lay_over_the_elements_at_their_place() -> None:
    image = elem(
        "TIMImageElem",
        UUID="img1",
        ImageFormat=1,
        ImageInfoArray=[
            {"Type": 1, "Size": 99, "Width": 640, "Height": 480, "URL": "https://x/o"},
            {"Type": 3, "Size": 10, "Width": 10, "Height": 10, "URL": "https://x/t"},
        ],
    )
    originals = [elem("TIMTextElem", Text="bad word"), image]
    back = tim_elements(
        [{"type": "txt", "msg": "***"}, {"type": "img", "url": "https://x/blurred"}],
        originals,
        12_000,
    )
    assert back[0] == elem("TIMTextElem", Text="***")
    content = orjson.loads(back[1].content_json)
    assert content["UUID"] == "img1"
    assert content["ImageInfoArray"][0]["URL"] == "https://x/blurred"
    assert content["ImageInfoArray"][0]["Width"] == 640
    assert content["ImageInfoArray"][1]["URL"] == "https://x/t"  # the thumbnail is kept
    # A type that stood nowhere becomes a new element; cmd becomes a custom element.
    added = tim_elements([{"type": "cmd", "action": "refresh"}], [], 12_000)
    assert added == [elem("TIMCustomElem", Data="refresh")]
    for bad in ([], [{"type": "sticker"}], "txt", [{"type": "txt", "msg": 5}]):
        with pytest.raises(ValueError, match="bodies"):
            tim_elements(bad, originals, 12_000)
    with pytest.raises(ValueError, match="bytes"):
        tim_elements([{"type": "txt", "msg": "x" * 20_000}], originals, 12_000)


def test_ext_is_cloud_custom_data() -> None:
    assert ext_of("") == {}
    assert ext_of('{"order": 1}') == {"order": 1}
    assert ext_of("plain") == {"CloudCustomData": "plain"}
    assert cloud_custom_data_of({"CloudCustomData": "plain"}, "plain") == "plain"
    assert cloud_custom_data_of({"order": 2}, "plain") == '{"order":2}'
    assert cloud_custom_data_of({}, "plain") == ""
    assert cloud_custom_data_of(ext_of('{"a": 1}'), '{"a": 1}') == '{"a": 1}'


def test_pre_send_body_shape() -> None:
    body = pre_send_body(
        call_id="org#app_u1",
        app_key="org#app",
        chat="chatroom",
        sender="alice",
        to="room1",
        group_id="room1",
        elements=[elem("TIMTextElem", Text="hi")],
        cloud_custom_data='{"k": "v"}',
        timestamp=1600060847294,
    )
    assert body == {
        "callId": "org#app_u1",
        "eventType": "chat",
        "timestamp": 1600060847294,
        "chat_type": "chatroom",
        "group_id": "room1",
        "from": "alice",
        "to": "room1",
        "payload": {"bodies": [{"type": "txt", "msg": "hi"}], "ext": {"k": "v"}},
        "appkey": "org#app",
        "host": "tidings",
    }


def message(**kw: Any) -> Message:
    base: dict[str, Any] = {
        "schema_version": 1,
        "sdkappid": 1400000001,
        "conversation": "c2c:alice:bob",
        "chat_type": CHAT_TYPE_C2C,
        "seq": 7,
        "server_time_ms": 1600060847294,
        "sender": "alice",
        "to_user": "bob",
        "msg_key": "42_7_1600060847",
        "elements": [elem("TIMTextElem", Text="hi")],
        "cloud_custom_data": '{"vip": true}',
    }
    return Message(**{**base, **kw})


def test_post_send_bodies_chat_and_offline() -> None:
    m = message()
    body = post_send_body(m, app_key="org#app", chat="single", offline_user=None, event_id="e")
    assert {k: body[k] for k in ("callId", "eventType", "chat_type", "from", "to", "msg_id")} == {
        "callId": "org#app_42_7_1600060847",
        "eventType": "chat",
        "chat_type": "chat",
        "from": "alice",
        "to": "bob",
        "msg_id": "42_7_1600060847",
    }
    assert body["content_type"] == "chat:user:text"
    assert body["payload"]["ext"] == {"vip": True}
    g = message(conversation="group:g1", chat_type=CHAT_TYPE_GROUP, to_user="", group_id="g1")
    off = post_send_body(g, app_key="org#app", chat="group", offline_user="carol", event_id="e")
    assert (off["eventType"], off["chat_type"], off["to"], off["group_id"]) == (
        "chat_offline",
        "groupchat",
        "carol",
        "g1",
    )
    assert off["callId"].endswith("_carol")
    assert facts(g, "carol").to_user == "carol"
    assert facts(message(source=SOURCE_REST), "bob").via_rest
    assert facts(m, "bob").ext_keys == {"vip"}


def test_post_send_event_ids_and_which_messages() -> None:
    m = message()
    assert rule_event_id(m, "sync", None) == "1400000001:c2c:alice:bob:7:rule:sync"
    assert rule_event_id(m, "sync", "bob").endswith(":rule:sync:bob")
    assert is_new_message(m)
    assert not is_new_message(message(kind=MESSAGE_KIND_RECALL))
    assert not is_new_message(message(silent=True))


def test_rule_deliveries_keep_their_rule_on_the_retry_topic() -> None:
    d = Delivery(sdkappid=1, event_id="1:c:1:rule:r", command="Easemob.PostSend", body={}, rule="r")
    assert Delivery.decode(d.encode()).rule == "r"
    plain = Delivery(sdkappid=1, event_id="e", command="C2C.CallbackAfterSendMsg", body={})
    assert Delivery.decode(plain.encode()).rule == ""


# --- answers --------------------------------------------------------------------------------


def test_rule_replies_parsed() -> None:
    reply = parse_rule_reply(b'{"valid": false, "code": "HX:10001", "payload": {}}')
    assert (reply.valid, reply.code) == (False, "HX:10001")
    for bad in (b"", b"[]", b'{"valid": "no"}', b'{"code": "x"}'):
        with pytest.raises(ValueError, match=r"JSON|valid"):
            parse_rule_reply(bad)


def test_blocked_with_and_without_report_error() -> None:
    rule = parse_pre_send(pre(), False)
    c2c = blocked(rule, CHAT_TYPE_C2C, "HX:10001")
    assert (c2c.verdict, c2c.error_code) == (VERDICT_REJECT, ErrorCode.MSG_CALLBACK_REJECTED)
    assert "moderate" in c2c.error_info and "HX:10001" in c2c.error_info
    group = blocked(rule, CHAT_TYPE_GROUP, "")
    assert group.error_code == ErrorCode.GROUP_CALLBACK_REJECTED
    quiet = parse_pre_send(pre(report_error=False), False)
    assert blocked(quiet, CHAT_TYPE_C2C, "x").verdict == VERDICT_DROP


def test_failure_follows_the_rule_policy() -> None:
    assert failed(parse_pre_send(pre(), False), "timeout") is None
    block = failed(parse_pre_send(pre(on_failure="block"), False), "timeout")
    assert block is not None
    assert (block.verdict, block.error_code) == (VERDICT_REJECT, ErrorCode.CALLBACK_UNAVAILABLE)
    quiet = failed(parse_pre_send(pre(on_failure="block", report_error=False), False), "x")
    assert quiet is not None and quiet.verdict == VERDICT_DROP


def test_draft_rewrites_only_what_changed() -> None:
    draft = Draft([elem("TIMTextElem", Text="hi")], "plain")
    draft.apply(
        {"bodies": [{"type": "txt", "msg": "hi"}], "ext": {"CloudCustomData": "plain"}}, 12_000
    )
    assert not draft.reply().replaced_elements
    assert not draft.reply().replaced_cloud_custom_data
    draft.apply({"bodies": [{"type": "txt", "msg": "bye"}], "ext": {"k": 1}}, 12_000)
    reply = draft.reply()
    assert reply.replaced_elements and list(reply.elements) == [elem("TIMTextElem", Text="bye")]
    assert reply.replaced_cloud_custom_data and reply.cloud_custom_data == '{"k":1}'


# --- the router's before-send call ---------------------------------------------------------


class OneApp:
    """An AppStore holding one app."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def get_app(self, sdkappid: int) -> App | None:
        return self.app if sdkappid == self.app.sdkappid else None


class NoCustomWords:
    async def list_words(self, sdkappid: int) -> list[str]:
        return []


async def asked_deadlines(
    app: App, msg: InboundMessage, retry: bool = False, words: Sequence[str] = ()
) -> tuple[list[float], list[Decision]]:
    """The deadlines the router's moderator calls BeforeSend with for `msg`, and its rulings;
    `retry` says the message's dedupe entry exists."""
    apps = AppCache(OneApp(app))  # type: ignore[arg-type]
    filters = WordFilters(words, NoCustomWords(), apps)  # type: ignore[arg-type]
    deadlines: list[float] = []

    async def before_send(m: InboundMessage, deadline_s: float, version: int) -> BeforeSendReply:
        deadlines.append(deadline_s)
        return BeforeSendReply(verdict=VERDICT_ALLOW)

    async def is_retry(messages: Sequence[InboundMessage]) -> list[bool]:
        return [retry] * len(messages)

    moderator = Moderator(apps, filters, before_send, Versions())  # type: ignore[arg-type]
    decisions = [
        d if isinstance(d, Decision) else await moderator.ask(d)
        for d in await moderator.prepare([msg], is_retry)
    ]
    return deadlines, decisions


async def test_a_retry_keeps_its_first_ruling() -> None:
    """A retry of an accepted send is neither sent to the app server again nor refused by a
    word added since; a fresh send with the word is."""
    app = new_app()
    app.settings["callback"] = {"url": URL, "commands": "all", "timeout_s": 2.0}
    app.settings["sensitive_words"] = {"builtin": "block", "custom": "block"}
    msg = ws_inbound(elements=[elem("TIMTextElem", Text="buy pills")])
    asked, (fresh,) = await asked_deadlines(app, msg, words=["pills"])
    assert asked == [] and fresh.ruling is Ruling.REJECT
    asked, (again,) = await asked_deadlines(app, msg, retry=True, words=["pills"])
    assert asked == [] and again.ruling is Ruling.ACCEPT
    asked, (clean,) = await asked_deadlines(app, ws_inbound(), retry=True)
    assert asked == [] and clean.ruling is Ruling.ACCEPT
    asked, _ = await asked_deadlines(app, ws_inbound())
    assert len(asked) == 1


class CustomWords:
    def __init__(self) -> None:
        self.words: list[str] = []

    async def list_words(self, sdkappid: int) -> list[str]:
        return list(self.words)


async def test_a_word_added_applies_to_the_next_message_once_its_version_moved() -> None:
    """The filter is cached (no im.config record arrives here); the bumped configuration
    version alone makes the next batch build it again, and the version goes on to BeforeSend."""
    app = new_app()
    app.settings["sensitive_words"] = {"builtin": "off", "custom": "block"}
    app.settings["callback"] = {"url": URL, "commands": "all", "timeout_s": 2.0}
    words, versions = CustomWords(), Versions()
    apps = AppCache(OneApp(app))  # type: ignore[arg-type]
    versions_sent: list[int] = []

    async def before_send(m: InboundMessage, deadline_s: float, version: int) -> BeforeSendReply:
        versions_sent.append(version)
        return BeforeSendReply(verdict=VERDICT_ALLOW)

    async def never_retried(messages: Sequence[InboundMessage]) -> list[bool]:
        return [False] * len(messages)

    moderator = Moderator(
        apps,
        WordFilters([], words, apps),  # type: ignore[arg-type]
        before_send,
        versions,  # type: ignore[arg-type]
    )
    msg = ws_inbound(elements=[elem("TIMTextElem", Text="buy pills")])
    (first,) = await moderator.prepare([msg], never_retried)
    assert isinstance(first, Ask)
    await moderator.ask(first)
    words.words.append("pills")
    await versions.bump(app.sdkappid)
    (second,) = await moderator.prepare([msg], never_retried)
    assert isinstance(second, Decision) and second.ruling is Ruling.REJECT
    (clean,) = await moderator.prepare([ws_inbound()], never_retried)
    assert isinstance(clean, Ask)
    await moderator.ask(clean)
    assert versions_sent == [0, 1]


def ws_inbound(**kw: Any) -> InboundMessage:
    base: dict[str, Any] = {
        "schema_version": 1,
        "sdkappid": 1400000001,
        "conversation": "c2c:alice:bob",
        "chat_type": CHAT_TYPE_C2C,
        "sender": "alice",
        "to_user": "bob",
        "elements": [elem("TIMTextElem", Text="hi")],
        "source": SOURCE_WS,
    }
    return InboundMessage(**{**base, **kw})


async def test_router_asks_apps_with_rules_only_and_waits_for_them() -> None:
    app = new_app()
    assert (await asked_deadlines(app, ws_inbound()))[0] == []
    add_rule(app, "pre-send", pre(name="a", timeout_ms=300), allow_private=False)
    add_rule(app, "pre-send", pre(name="b", timeout_ms=500), allow_private=False)
    add_rule(app, "pre-send", pre(name="off", timeout_ms=900, enabled=False), allow_private=False)
    (rules_only,), _ = await asked_deadlines(app, ws_inbound())
    assert rules_only == pytest.approx(0.8 + CALL_MARGIN_S)
    # REST sends skip the rules, so nothing is asked for them.
    assert (await asked_deadlines(app, ws_inbound(source=SOURCE_REST)))[0] == []
    app.settings["callback"] = {"url": URL, "commands": "all", "timeout_s": 2.0}
    (both,), _ = await asked_deadlines(app, ws_inbound())
    assert both == pytest.approx(2.0 + 0.8 + CALL_MARGIN_S)
