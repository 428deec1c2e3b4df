"""Messaging settings: validation before storing, defaults that match what each reader uses."""

from __future__ import annotations

from typing import Any

import pytest

from services.common import messaging_settings as ms
from services.common.store.ports import App
from services.gateway import avchatroom, login_modes, throttle, ws_ops
from services.gateway.quotas import has_member_addon

NOW = 1_800_000_000


def app_with(settings: dict[str, Any]) -> App:
    return App(sdkappid=1400000001, name="t", edition="Standard", keys=[], settings=settings)


def test_defaults_are_the_readers_defaults() -> None:
    shown = ms.view(app_with({}), NOW)
    app = app_with({})
    policy = login_modes.policy_from_settings({})
    assert shown["login"] == {
        "mode": policy.mode,
        "per_platform": policy.per_platform,
        "web": policy.web,
    }
    assert shown["recall_window_s"] == ws_ops.recall_window_s(app)
    rate = throttle.send_rate(app)
    assert shown["send_rate"] == {"limit": rate.limit, "per_s": rate.per_s}
    assert shown["avchatroom_msg_rate"] == avchatroom.msg_rate(app).limit
    assert shown["group_member_addon"] is has_member_addon({})
    assert shown["c2c_friend_check"] is False
    assert shown["blocklist_send_error"] is False


def test_stored_values_reach_the_readers() -> None:
    settings: dict[str, Any] = {}
    ms.apply(
        app_with(settings),
        {
            "login": {"mode": 2},
            "recall_window_s": 600,
            "send_rate": {"limit": 5},
            "avchatroom_msg_rate": 5,
            "group_member_addon": True,
        },
        NOW,
    )
    app = app_with(settings)
    assert login_modes.policy_from_settings(settings).mode == 2
    assert ws_ops.recall_window_s(app) == 600
    assert throttle.send_rate(app).limit == 5
    assert avchatroom.msg_rate(app).limit == 5
    assert has_member_addon(settings)


@pytest.mark.parametrize(
    "changes",
    [
        {"recall_window_s": 0},
        {"recall_window_s": 8 * 86400},
        {"avchatroom_msg_rate": 6},
        {"login": {"mode": 5}},
        {"login": {"mode": 1, "colour": "red"}},
        {"send_rate": {"per_s": 1}},
        {"c2c_friend_check": "maybe"},
        {"no_such_setting": 1},
    ],
)
def test_invalid_changes_are_refused_and_nothing_is_stored(changes: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"recall_window_s": 300}
    with pytest.raises(ms.InvalidSetting):
        ms.apply(app_with(settings), {"c2c_friend_check": True, **changes}, NOW)
    assert settings == {"recall_window_s": 300}


def test_null_restores_the_default_and_other_keys_are_kept() -> None:
    settings: dict[str, Any] = {"recall_window_s": 300, "callback": {"url": "x"}}
    ms.apply(app_with(settings), {"recall_window_s": None}, NOW)
    assert settings == {"callback": {"url": "x"}}
    assert ms.view(app_with(settings), NOW)["recall_window_s"] == 120
