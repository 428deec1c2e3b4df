"""The per-group-type settings (pre-join history, live-group earlier messages) and the follow
switch: defaults, bounds, and `null` restoring the default."""

from __future__ import annotations

from typing import Any

import pytest

from services.common import live_recent
from services.common import messaging_settings as ms
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import (
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    Message,
)
from services.common.store.ports import App

NOW = 1_800_000_000


def app_with(settings: dict[str, Any]) -> App:
    return App(sdkappid=1400000001, name="t", edition="Standard", keys=[], settings=settings)


def test_pre_join_history_defaults_to_meeting_and_community_and_null_restores_it() -> None:
    app = app_with({})
    assert [
        t
        for t in ("Work", "Public", "Meeting", "Community")
        if ms.sees_history_before_join(app.settings, t)
    ] == ["Meeting", "Community"]
    ms.apply(app, {"pre_join_history_types": ["Work", "Work", "Public"]}, NOW)
    assert app.settings["pre_join_history_types"] == ["Public", "Work"]
    assert ms.sees_history_before_join(app.settings, "Work")
    assert not ms.sees_history_before_join(app.settings, "Meeting")
    with pytest.raises(ms.InvalidSetting):
        ms.apply(app, {"pre_join_history_types": ["AVChatRoom"]}, NOW)
    ms.apply(app, {"pre_join_history_types": None}, NOW)
    assert ms.view(app, NOW)["pre_join_history_types"] == ["Community", "Meeting"]


def test_follow_is_off_until_switched_on() -> None:
    with pytest.raises(TidingsError) as err:
        ms.require_feature({}, "follow", ErrorCode.SNS_INVALID_PARAM)
    assert int(err.value.code) == 30001 and "`follow`" in err.value.info
    ms.require_feature({"follow": True}, "follow", ErrorCode.SNS_INVALID_PARAM)


def test_live_group_pre_join_messages_are_bounded_and_none_by_default() -> None:
    app = app_with({})
    assert ms.view(app, NOW)["avchatroom_pre_join_msgs"] == 0
    for wrong in (-1, live_recent.MAX_KEPT + 1, 2.5, "many"):
        with pytest.raises(ms.InvalidSetting):
            ms.apply(app, {"avchatroom_pre_join_msgs": wrong}, NOW)
    ms.apply(app, {"avchatroom_pre_join_msgs": live_recent.MAX_KEPT}, NOW)
    assert ms.value(app.settings, "avchatroom_pre_join_msgs") == 20
    ms.apply(app, {"avchatroom_pre_join_msgs": None}, NOW)
    assert "avchatroom_pre_join_msgs" not in app.settings


def test_only_messages_to_one_live_group_are_kept() -> None:
    live = Message(sdkappid=1, group_id="@TGS#aX", online_only=True, kind=MESSAGE_KIND_MESSAGE)
    assert live_recent.is_live_message(live)
    for other in (
        Message(group_id="@TGS#1X", kind=MESSAGE_KIND_MESSAGE),
        Message(online_only=True, kind=MESSAGE_KIND_MESSAGE),
        Message(group_id="@TGS#aX", online_only=True, kind=MESSAGE_KIND_RECALL),
        Message(group_id="@TGS#aX", online_only=True, kind=MESSAGE_KIND_SYSTEM_NOTIFICATION),
    ):
        assert not live_recent.is_live_message(other)
