"""History retention, conversation pull count, group read receipt types, the default add-friend
verification and blocklist handling: bounds, defaults, the edition's limits and Tencent's one
retention change a calendar month (a clock passed in)."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from services.audit.retention import oldest_kept_ms, retention_seconds
from services.common import messaging_settings as ms
from services.common.errors import ErrorCode
from services.common.store.groups import Group
from services.common.store.ports import App
from services.gateway.receipts import receipt_refusal

MID_MARCH = calendar.timegm((2027, 3, 15, 12, 0, 0))
LAST_SECOND_OF_MARCH = calendar.timegm((2027, 3, 31, 23, 59, 59))
FIRST_OF_APRIL = calendar.timegm((2027, 4, 1, 0, 0, 0))
MID_DECEMBER = calendar.timegm((2027, 12, 15, 0, 0, 0))


def app_of(edition: str = "Standard", **settings: Any) -> App:
    return App(sdkappid=1400000001, name="t", edition=edition, keys=[], settings=dict(settings))


def test_defaults() -> None:
    shown = ms.view(app_of(), MID_MARCH)
    assert shown["history_retention_days"] == 7
    assert shown["history_retention_next_change"] is None
    assert shown["conversation_pull_count"] == 100
    assert shown["group_receipt_types"] == []
    assert shown["default_allow_type"] == "AllowType_Type_AllowAny"
    assert shown["blocklist_keeps_friendship"] is False
    assert ms.view(app_of("Premium"), MID_MARCH)["history_retention_days"] == 30
    assert retention_seconds(None) == 7 * 86_400


@pytest.mark.parametrize(
    "changes",
    [
        {"history_retention_days": 0},
        {"history_retention_days": 361},
        {"history_retention_days": "a week"},
        {"conversation_pull_count": 0},
        {"conversation_pull_count": 501},
        {"group_receipt_types": ["AVChatRoom"]},
        {"group_receipt_types": "Work"},
        {"history_retention_changed_month": "2027-01"},
        {"default_allow_type": "AllowType_Type_Bogus"},
        {"blocklist_keeps_friendship": "maybe"},
    ],
)
def test_out_of_bounds_changes_are_refused(changes: dict[str, Any]) -> None:
    app = app_of(conversation_pull_count=50)
    with pytest.raises(ms.InvalidSetting):
        ms.apply(app, changes, MID_MARCH)
    assert app.settings == {"conversation_pull_count": 50}


def test_the_edition_bounds_retention() -> None:
    with pytest.raises(ms.InvalidSetting, match="at most 7 days"):
        ms.apply(app_of("Developer"), {"history_retention_days": 8}, MID_MARCH)
    premium = app_of("Premium")
    ms.apply(premium, {"history_retention_days": 360}, MID_MARCH)
    assert retention_seconds(premium) == 360 * 86_400
    # A smaller edition keeps no more than it allows, whatever was chosen before.
    premium.edition = "Developer"
    assert ms.retention_days(premium) == 7
    assert oldest_kept_ms(premium, 10 * 86_400_000) == 3 * 86_400_000


def test_retention_changes_once_a_calendar_month() -> None:
    app = app_of()
    ms.apply(app, {"history_retention_days": 30}, MID_MARCH)
    assert app.settings[ms.RETENTION_CHANGED_MONTH] == "2027-03"
    assert ms.view(app, MID_MARCH)["history_retention_next_change"] == "2027-04-01"
    for again in ({"history_retention_days": 60}, {"history_retention_days": None}):
        with pytest.raises(ms.RetentionChangedThisMonth, match="from 2027-04-01"):
            ms.apply(app, again, LAST_SECOND_OF_MARCH)
    assert ms.retention_days(app) == 30
    # The days in force again, with other settings: no retention change, so it is allowed.
    ms.apply(app, {"history_retention_days": 30, "conversation_pull_count": 20}, MID_MARCH)
    assert app.settings["conversation_pull_count"] == 20
    ms.apply(app, {"history_retention_days": None}, FIRST_OF_APRIL)
    assert ms.retention_days(app) == 7
    assert app.settings[ms.RETENTION_CHANGED_MONTH] == "2027-04"
    december = app_of(**{ms.RETENTION_CHANGED_MONTH: "2027-12"})
    assert ms.next_retention_change(december.settings, MID_DECEMBER) == "2028-01-01"


def test_the_conversation_pull_count_bounds_each_pull() -> None:
    settings: dict[str, Any] = {}
    assert ms.conversation_page(settings, 0) == 100
    assert ms.conversation_page(settings, 500) == 100
    app = app_of()
    ms.apply(app, {"conversation_pull_count": 500}, MID_MARCH)
    assert ms.conversation_page(app.settings, 0) == 500
    assert ms.conversation_page(app.settings, 30) == 30
    ms.apply(app, {"conversation_pull_count": None}, MID_MARCH)
    assert app.settings == {}


def test_read_receipts_follow_the_enabled_group_types() -> None:
    app = app_of()
    ms.apply(app, {"group_receipt_types": ["Public", "Work", "Work"]}, MID_MARCH)
    assert app.settings["group_receipt_types"] == ["Public", "Work"]

    def group(kind: str) -> Group:
        return Group(group_id="g", group_type=kind, name="g")

    assert receipt_refusal(app.settings, group("Work"), 200) is None
    for kind, members in (("Meeting", 2), ("Work", 201), ("AVChatRoom", 2), ("Community", 2)):
        refusal = receipt_refusal(app.settings, group(kind), members)
        assert refusal is not None and refusal.code == ErrorCode.GROUP_NO_PERMISSION
    none_enabled = receipt_refusal({}, group("Work"), 2)
    assert none_enabled is not None and "not enabled for Work groups" in str(none_enabled)
