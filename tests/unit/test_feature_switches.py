"""The console feature switches (community, topics, message extensions, user status, live-group
broadcast and member list, conversation-deletion sync): off by default as Tencent's, `null`
restores the default, topics need communities, and a refusal names the switch."""

from __future__ import annotations

from typing import Any

import pytest

from services.common import messaging_settings as ms
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App

NOW = 1_800_000_000
SWITCHES = tuple(ms.FEATURE_NAMES)


def app_with(settings: dict[str, Any]) -> App:
    return App(sdkappid=1400000001, name="t", edition="Standard", keys=[], settings=settings)


def test_every_switch_is_a_setting_and_off_by_default() -> None:
    shown = ms.view(app_with({}), NOW)
    assert set(SWITCHES) <= set(ms.KEYS)
    assert {s: shown[s] for s in SWITCHES} == dict.fromkeys(SWITCHES, False)
    assert not any(ms.feature_on({}, s) for s in SWITCHES)


def test_switches_turn_on_and_null_restores_the_default() -> None:
    app = app_with({})
    ms.apply(app, dict.fromkeys(SWITCHES, True), NOW)
    assert all(ms.feature_on(app.settings, s) for s in SWITCHES)
    ms.apply(app, {"msg_extensions": None}, NOW)
    assert "msg_extensions" not in app.settings
    assert not ms.feature_on(app.settings, "msg_extensions")
    assert ms.feature_on(app.settings, "user_status")


def test_a_switch_takes_only_a_bool() -> None:
    app = app_with({"community": True})
    with pytest.raises(ms.InvalidSetting):
        ms.apply(app, {"community": "maybe", "user_status": True}, NOW)
    assert app.settings == {"community": True}


def test_topics_need_communities() -> None:
    assert not ms.feature_on({"community_topics": True}, "community_topics")
    assert ms.feature_on({"community": True, "community_topics": True}, "community_topics")
    with pytest.raises(TidingsError) as err:
        ms.require_feature(
            {"community_topics": True}, "community_topics", ErrorCode.GROUP_NO_PERMISSION
        )
    assert int(err.value.code) == 10007
    assert "`community` and `community_topics`" in err.value.info


def test_refusal_carries_the_code_and_names_the_switch() -> None:
    with pytest.raises(TidingsError) as err:
        ms.require_feature({}, "user_status", ErrorCode.USER_STATUS_DISABLED)
    assert int(err.value.code) == 72001
    assert "`user_status`" in err.value.info
    ms.require_feature({"user_status": True}, "user_status", ErrorCode.USER_STATUS_DISABLED)
