"""An app's callback configuration: validation, the command list, the SSRF guard."""

from __future__ import annotations

import ipaddress

import pytest

from services.common import callback_config as config
from services.common.callback_config import (
    COMMANDS,
    CallbackConfig,
    check_url,
    config_of,
    ip_allowed,
    parse_config,
    update,
)
from services.common.store.ports import App, AppKey


def new_app() -> App:
    return App(sdkappid=1400000001, name="t", edition="Standard", keys=[AppKey("k")])


def test_defaults_and_doc_round_trip() -> None:
    cfg = parse_config({"url": "https://example.com/cb"}, allow_private=False)
    assert cfg == CallbackConfig(url="https://example.com/cb")
    assert (cfg.timeout_s, cfg.fail_policy, cfg.token) == (2.0, "open", "")
    assert not cfg.enabled("C2C.CallbackBeforeSendMsg")
    full = parse_config(
        {
            "url": "https://example.com/cb",
            "token": "t0k",
            "commands": ["C2C.CallbackAfterSendMsg", "Group.CallbackBeforeSendMsg"],
            "timeout_s": 1,
            "fail_policy": "closed",
        },
        allow_private=False,
    )
    assert parse_config(full.doc(), allow_private=False) == full
    assert full.enabled("Group.CallbackBeforeSendMsg")
    assert not full.enabled("C2C.CallbackBeforeSendMsg")


def test_all_enables_every_command() -> None:
    cfg = parse_config({"url": "http://example.com", "commands": "ALL"}, allow_private=False)
    assert all(cfg.enabled(c) for c in COMMANDS)
    assert cfg.doc()["commands"] == "all"


def test_command_names_are_tencents() -> None:
    assert len(COMMANDS) == len(set(COMMANDS)) == 23
    for name in ("Sns.CallbackPrevFriendAdd", "C2C.CallbackAfterMsgWithDraw", "State.StateChange"):
        assert name in COMMANDS
    cfg = parse_config(
        {"url": "http://example.com", "commands": "C2C.CallbackAfterSendMsg, State.StateChange"},
        allow_private=False,
    )
    assert cfg.commands == {"C2C.CallbackAfterSendMsg", "State.StateChange"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "url is required"),
        ({"url": "ftp://example.com"}, "http:// or https://"),
        ({"url": "http://"}, "http:// or https://"),
        ({"url": "http://example.com:99999"}, "not a valid URL"),
        ({"url": "http://example.com#x"}, "fragment"),
        ({"url": "http://exa mple.com/"}, "spaces"),
        ({"url": "http://[::1"}, "not a valid URL"),
        ({"url": "http://example.com", "commands": ["C2C.CallbackBeforeSendMessage"]}, "unknown"),
        ({"url": "http://example.com", "commands": 3}, "commands must be"),
        ({"url": "http://example.com", "timeout_s": 0}, "timeout_s"),
        ({"url": "http://example.com", "timeout_s": 11}, "timeout_s"),
        ({"url": "http://example.com", "timeout_s": True}, "timeout_s"),
        ({"url": "http://example.com", "timeout_s": "2"}, "timeout_s"),
        ({"url": "http://example.com", "fail_policy": "maybe"}, "fail_policy"),
        ({"url": "http://example.com", "token": 5}, "token"),
        ({"url": "http://example.com", "retries": 5}, "unknown fields"),
        ("http://example.com", "must be an object"),
    ],
)
def test_bad_configurations_are_refused_clearly(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_config(raw, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
        "http://api.localhost/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/cb",
        "http://192.168.1.1/cb",
        "http://172.16.0.1/cb",
        "http://100.64.0.1/cb",
        "http://[::1]/cb",
        "http://[fe80::1]/cb",
        "http://[fd00:ec2::254]/cb",
        "http://[::ffff:127.0.0.1]/cb",
    ],
)
def test_private_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(ValueError, match="TIDINGS_CALLBACK_ALLOW_PRIVATE"):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True) == url


def test_public_and_never_valid_addresses() -> None:
    assert check_url("https://8.8.8.8/cb", allow_private=False)
    assert check_url("https://im.example.com/cb", allow_private=False)
    for never in ("0.0.0.0", "224.0.0.1", "::"):
        assert not ip_allowed(ipaddress.ip_address(never), allow_private=True)


def test_update_changes_only_what_is_given() -> None:
    app = new_app()
    with pytest.raises(ValueError, match="url is required"):
        update(app, False, token="t")
    update(app, False, url="https://example.com/cb", commands="all")
    cfg = update(app, False, token="t", timeout_s=1.5, fail_policy="closed")
    assert cfg == CallbackConfig(
        url="https://example.com/cb",
        token="t",
        enable_all=True,
        timeout_s=1.5,
        fail_policy="closed",
    )
    assert config_of(app) == cfg
    update(app, False, commands=["C2C.CallbackAfterSendMsg"])
    assert app.settings[config.SETTINGS_KEY]["commands"] == ["C2C.CallbackAfterSendMsg"]  # type: ignore[index]
    # A refused change leaves the stored configuration alone.
    with pytest.raises(ValueError, match="fail_policy"):
        update(app, False, fail_policy="sometimes")
    assert config_of(app) is not None
    assert config_of(app).fail_policy == "closed"  # type: ignore[union-attr]


def test_no_or_broken_configuration_means_no_callbacks() -> None:
    app = new_app()
    assert config_of(app) is None
    app.settings[config.SETTINGS_KEY] = {"url": 5}
    assert config_of(app) is None


def test_message_fail_policies_override_the_default_for_their_command_only() -> None:
    old = parse_config({"url": "http://example.com", "fail_policy": "closed"}, False)
    # A configuration from before the split: every before-callback follows fail_policy.
    assert {
        old.fail_policy_for(c) for c in (*config.BEFORE_EVENTS, *config.MESSAGE_FAIL_POLICY_FIELDS)
    } == {"closed"}
    cfg = parse_config(
        {
            "url": "http://example.com",
            "fail_policy": "closed",
            "c2c_msg_fail_policy": "open",
            "group_msg_fail_policy": None,
        },
        False,
    )
    assert cfg.fail_policy_for(config.C2C_BEFORE_SEND) == "open"
    assert cfg.fail_policy_for(config.GROUP_BEFORE_SEND) == "closed"
    assert cfg.fail_policy_for("Sns.CallbackPrevFriendAdd") == "closed"
    assert parse_config(cfg.doc(), False) == cfg
    split = parse_config({"url": "http://example.com", "group_msg_fail_policy": "closed"}, False)
    assert split.fail_policy_for(config.C2C_BEFORE_SEND) == "open"
    assert split.fail_policy_for(config.GROUP_BEFORE_SEND) == "closed"
    with pytest.raises(ValueError, match="c2c_msg_fail_policy"):
        parse_config({"url": "http://example.com", "c2c_msg_fail_policy": "maybe"}, False)


def test_update_sets_and_drops_a_message_fail_policy() -> None:
    app = new_app()
    update(app, False, url="http://example.com", group_msg_fail_policy="closed")
    cfg = update(app, False, c2c_msg_fail_policy="closed")
    assert (cfg.c2c_msg_fail_policy, cfg.group_msg_fail_policy) == ("closed", "closed")
    cfg = update(app, False, c2c_msg_fail_policy=config.FOLLOW_DEFAULT, fail_policy="open")
    assert cfg.fail_policy_for(config.C2C_BEFORE_SEND) == "open"
    assert cfg.fail_policy_for(config.GROUP_BEFORE_SEND) == "closed"
    with pytest.raises(ValueError, match="group_msg_fail_policy"):
        update(app, False, group_msg_fail_policy="sometimes")
