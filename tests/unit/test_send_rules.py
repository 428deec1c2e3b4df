"""A client's send checks, answered from the directory and this node's buckets: Tencent's codes
in Tencent's order, and no store read once what they need is cached (fake stores, no I/O)."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import SOURCE_REST, InboundMessage
from services.common.store.groups import Group, Member
from services.common.store.ports import App
from services.common.store.profiles import NoSpeaking
from services.gateway.directory import Directory
from services.gateway.handlers.send import check_c2c, check_group
from services.gateway.send_rules import SendRules
from tests.directory_fakes import FakeStores

APP = 1400000001
FOREVER = 2**40


def app(**settings: object) -> App:
    return App(sdkappid=APP, name="t", edition="Standard", keys=[], settings=dict(settings))


def c2c(sender: str, to: str) -> InboundMessage:
    return InboundMessage(sdkappid=APP, sender=sender, to_user=to)


def group_msg(sender: str, group_id: str) -> InboundMessage:
    return InboundMessage(sdkappid=APP, sender=sender, group_id=group_id)


@pytest.fixture
def stores() -> FakeStores:
    s = FakeStores()
    s.accounts |= {"ann", "bob", "administrator"}
    s.group_rows["g1"] = Group("g1", "Public", "one")
    s.group_rows["live"] = Group("live", "AVChatRoom", "live")
    s.member_rows[("g1", "ann")] = Member("ann")
    s.member_rows[("live", "ann")] = Member("ann")
    return s


@pytest.fixture
def rules(stores: FakeStores) -> SendRules:
    return SendRules(Directory(stores))  # type: ignore[arg-type]


async def refused(check: object) -> int:
    with pytest.raises(TidingsError) as err:
        await check  # type: ignore[misc]
    return int(err.value.code)


async def test_c2c_from_memory_after_the_first_send(rules: SendRules, stores: FakeStores) -> None:
    a = app()
    await check_c2c(rules, a, c2c("ann", "bob"))
    reads = stores.reads.copy()
    for _ in range(5):
        await check_c2c(rules, a, c2c("ann", "bob"))
    assert stores.reads == reads


async def test_c2c_codes_in_order(rules: SendRules, stores: FakeStores) -> None:
    a = app(c2c_friend_check=True)
    assert await refused(check_c2c(rules, a, c2c("ann", "nobody"))) == ErrorCode.MSG_ACCOUNT_INVALID
    assert await refused(check_c2c(rules, a, c2c("ann", "bob"))) == ErrorCode.MSG_NOT_FRIENDS
    stores.mutes["bob"] = NoSpeaking(c2c_until=FOREVER)
    assert await refused(check_c2c(rules, a, c2c("bob", "ann"))) == ErrorCode.MSG_SENDER_MUTED
    # The app admin skips the friend check and the blocklist, not the recipient check.
    await check_c2c(rules, a, c2c("administrator", "bob"))


async def test_blocked_sender_is_silenced_or_refused(rules: SendRules, stores: FakeStores) -> None:
    stores.blocked.add(("bob", "ann"))
    m = c2c("ann", "bob")
    await check_c2c(rules, app(), m)
    assert m.silent
    assert (
        await refused(check_c2c(rules, app(blocklist_send_error=True), c2c("ann", "bob")))
        == ErrorCode.MSG_BLOCKED_BY_PEER
    )


async def test_group_codes(rules: SendRules, stores: FakeStores) -> None:
    a = app()
    assert (
        await refused(check_group(rules, a, group_msg("ann", "nope"))) == ErrorCode.GROUP_NOT_FOUND
    )
    assert await refused(check_group(rules, a, group_msg("bob", "g1"))) == (
        ErrorCode.GROUP_NO_PERMISSION
    )
    group = await check_group(rules, a, group_msg("ann", "g1"))
    assert group.group_id == "g1"
    # The app admin posts anywhere, member or not.
    await check_group(rules, a, group_msg("administrator", "g1"))
    stores.mutes["ann"] = NoSpeaking(group_until=FOREVER)
    rules.directory.no_speaking_cache.invalidate((APP, "ann"))
    assert await refused(check_group(rules, a, group_msg("ann", "g1"))) == (
        ErrorCode.GROUP_SENDER_MUTED
    )


async def test_muted_member_and_muted_group(rules: SendRules, stores: FakeStores) -> None:
    a = app()
    stores.member_rows[("g1", "ann")] = Member("ann", mute_until=FOREVER)
    assert await refused(check_group(rules, a, group_msg("ann", "g1"))) == (
        ErrorCode.GROUP_SENDER_MUTED
    )
    stores.group_rows["g2"] = Group("g2", "Public", "two", mute_all=True)
    stores.member_rows[("g2", "ann")] = Member("ann")
    stores.member_rows[("g2", "bob")] = Member("bob", role="Admin")
    assert await refused(check_group(rules, a, group_msg("ann", "g2"))) == (
        ErrorCode.GROUP_SENDER_MUTED
    )
    await check_group(rules, a, group_msg("bob", "g2"))


async def test_avchatroom_is_online_only_within_its_rate(rules: SendRules) -> None:
    a = app(avchatroom_msg_rate=2)
    sent = []
    for _ in range(3):
        m = group_msg("ann", "live")
        try:
            await check_group(rules, a, m)
        except TidingsError as err:
            sent.append(int(err.code))
        else:
            sent.append(0)
            assert m.online_only
    assert sent == [0, 0, ErrorCode.GROUP_RATE_LIMITED]


def test_sender_throttle(rules: SendRules) -> None:
    a = app()  # 2 a second by default
    rules.throttle(a, "ann", group=False)
    rules.throttle(a, "ann", group=False)
    with pytest.raises(TidingsError) as err:
        rules.throttle(a, "ann", group=False)
    assert err.value.code == ErrorCode.SENDER_THROTTLED
    with pytest.raises(TidingsError) as err:
        rules.throttle(a, "ann", group=True)
    assert err.value.code == ErrorCode.GROUP_RATE_LIMITED
    rules.throttle(a, "bob", group=False)


def test_settings_are_read_once_per_app_record(rules: SendRules) -> None:
    first = app(c2c_friend_check=True)
    assert rules.settings(first).c2c_friend_check
    assert rules.settings(first) is rules.settings(first)
    # The app cache reloaded the record: a new object, read again.
    assert not rules.settings(app()).c2c_friend_check


async def test_rest_group_sender(rules: SendRules, stores: FakeStores) -> None:
    a = app()
    await check_group(rules, a, rest(group_msg("ann", "g1")))
    await check_group(rules, a, rest(group_msg("administrator", "g1")))
    with pytest.raises(TidingsError) as err:
        await check_group(rules, a, rest(group_msg("bob", "g1")))
    assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
    # Mutes do not apply to REST sends (Tencent).
    stores.member_rows[("g1", "ann")] = Member("ann", mute_until=FOREVER)
    rules.directory.members.invalidate((APP, "g1", "ann"))
    await check_group(rules, a, rest(group_msg("ann", "g1")))


async def test_rest_c2c_checks_accounts_only(rules: SendRules) -> None:
    a = app(c2c_friend_check=True)
    await check_c2c(rules, a, rest(c2c("ann", "bob")))
    assert await refused(check_c2c(rules, a, rest(c2c("ann", "nobody")))) == (
        ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN
    )
    assert await refused(check_c2c(rules, a, rest(c2c("nobody", "bob")))) == (
        ErrorCode.MSG_ACCOUNT_INVALID
    )


def rest(m: InboundMessage) -> InboundMessage:
    m.source = SOURCE_REST
    return m
