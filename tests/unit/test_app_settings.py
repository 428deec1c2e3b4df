"""Per-app REST platform settings: parsing, validation and application (pure)."""

from __future__ import annotations

import pytest

from services.common import app_settings
from services.common.app_settings import Rate
from services.common.apps import make_app


def test_rate_limits_parse_and_validate() -> None:
    rates = app_settings.parse_rate_limits(
        {"openim/sendmsg": {"limit": 500, "per_s": 1}, "openim/batchsendmsg": {"limit": 6000}}
    )
    assert rates == {"openim/sendmsg": Rate(500, 1), "openim/batchsendmsg": Rate(6000, 1)}
    for bad in (
        {"sendmsg": {"limit": 1}},
        {"openim/sendmsg": {"limit": 0}},
        {"openim/sendmsg": {"limit": True}},
        {"openim/sendmsg": {"limit": 5, "per_s": 86_401}},
        {"openim/sendmsg": {"limit": 5, "burst": 1}},
        {"openim/sendmsg": 5},
        ["openim/sendmsg"],
    ):
        with pytest.raises(ValueError):
            app_settings.parse_rate_limits(bad)


def test_cli_rate_argument() -> None:
    assert app_settings.parse_rate_arg("openim/sendmsg=500/1") == ("openim/sendmsg", Rate(500, 1))
    assert app_settings.parse_rate_arg("openim/batchsendmsg=12000/60")[1] == Rate(12000, 60)
    assert app_settings.parse_rate_arg("openim/sendmsg=7")[1] == Rate(7, 1)
    for bad in ("openim/sendmsg", "openim/sendmsg=x/1", "openim/sendmsg=5/1/2", "=5/1"):
        with pytest.raises(ValueError):
            app_settings.parse_rate_arg(bad)


def test_whitelist_is_normalised_deduplicated_and_capped() -> None:
    got = app_settings.parse_ip_whitelist(
        ["10.1.2.3/8", " 192.168.0.1 ", "192.168.0.1/32", "2001:db8::/32", "::1"]
    )
    assert got == ["10.0.0.0/8", "192.168.0.1", "2001:db8::/32", "::1"]
    assert app_settings.parse_ip_whitelist([]) == []
    with pytest.raises(ValueError, match="at most 8"):
        app_settings.parse_ip_whitelist([f"10.0.0.{i}" for i in range(9)])
    for bad in (["10.0.0.300"], ["example.com"], [7], "10.0.0.1"):
        with pytest.raises(ValueError):
            app_settings.parse_ip_whitelist(bad)


def test_admins_keep_administrator_first_and_at_most_15_more() -> None:
    assert app_settings.parse_admins(["ops", "administrator", "ops", "bot"]) == [
        "administrator",
        "ops",
        "bot",
    ]
    assert app_settings.parse_admins([f"a{i}" for i in range(15)])[-1] == "a14"
    for bad in ([f"a{i}" for i in range(16)], [""], ["x" * 33], [1], "ops"):
        with pytest.raises(ValueError):
            app_settings.parse_admins(bad)


def test_apply_validates_everything_before_changing_anything() -> None:
    app = make_app(1400000000, "x", "pro", now=1)
    app_settings.apply(app, ip_whitelist=["10.0.0.0/8"], admins=["ops"])
    with pytest.raises(ValueError):
        app_settings.apply(
            app, rate_limits={"openim/sendmsg": {"limit": 5}}, ip_whitelist=["bad"], admins=[]
        )
    assert app_settings.view(app) == {
        "rate_limits": {},
        "ip_whitelist": ["10.0.0.0/8"],
        "admins": ["administrator", "ops"],
    }
    app_settings.apply(app, rate_limits={"openim/sendmsg": {"limit": 5, "per_s": 2}})
    assert app.settings["rate_limits"] == {"openim/sendmsg": {"limit": 5, "per_s": 2}}
    assert app_settings.ip_whitelist_of(app) == ["10.0.0.0/8"]
