"""The REST platform's pure rules: IP whitelist matching, rate-limit selection, OpenAPI paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.common import app_settings
from services.common.app_settings import Rate
from services.common.apps import make_app
from services.common.errors import ErrorCode, TidingsError
from services.gateway import ipwhitelist, ratelimit
from services.gateway.openapi_routes import rest_v4_paths
from services.gateway.rest_v4 import all_member_push, openim_dirty_words
from tests.unit.test_import_rules import imported_modules

ROOT = Path(__file__).resolve().parents[2]


def test_empty_whitelist_allows_everyone() -> None:
    assert ipwhitelist.allowed([], "203.0.113.9")
    assert ipwhitelist.allowed([], "")


def test_whitelist_matches_ips_and_cidrs_v4_and_v6() -> None:
    entries = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
    assert ipwhitelist.allowed(entries, "10.200.3.4")
    assert ipwhitelist.allowed(entries, "192.168.1.7")
    assert not ipwhitelist.allowed(entries, "192.168.1.8")
    assert ipwhitelist.allowed(entries, "2001:db8::42")
    assert not ipwhitelist.allowed(entries, "2001:db9::1")
    # A dual-stack socket's IPv4-mapped form counts as the IPv4 address.
    assert ipwhitelist.allowed(entries, "::ffff:10.1.1.1")
    # Unknown or unreadable callers are refused by a non-empty list.
    assert not ipwhitelist.allowed(entries, "")
    assert not ipwhitelist.allowed(entries, "testclient")
    # An unreadable stored entry matches nothing but keeps the list closed.
    assert not ipwhitelist.allowed(["garbage"], "10.0.0.1")


def test_whitelist_refusal_names_the_caller() -> None:
    app = make_app(1400000000, "x", "pro", now=1)
    app_settings.apply(app, ip_whitelist=["10.0.0.0/8"])
    ipwhitelist.check(app, "10.0.0.1")
    with pytest.raises(TidingsError) as refused:
        ipwhitelist.check(app, "198.51.100.7")
    assert refused.value.code == ErrorCode.REST_IP_NOT_ALLOWED
    assert "198.51.100.7" in refused.value.info


def test_rate_defaults_and_overrides() -> None:
    app = make_app(1400000000, "x", "pro", now=1)
    assert ratelimit.rate_for(app, "openim/sendmsg") == Rate(200, 1)
    assert ratelimit.rate_for(app, "openim/batchsendmsg") == Rate(12_000, 60)
    assert ratelimit.rate_for(app, "im_open_login_svc/account_check") == Rate(100, 1)
    app_settings.apply(app, rate_limits={"openim/batchsendmsg": {"limit": 6000, "per_s": 60}})
    assert ratelimit.rate_for(app, "openim/batchsendmsg") == Rate(6000, 60)
    assert ratelimit.rate_for(app, "openim/sendmsg") == Rate(200, 1)


def test_bucket_keys_carry_the_app_in_the_hash_tag() -> None:
    assert ratelimit.bucket_key(1400000001, "openim/sendmsg") == "rl:{1400000001}:openim/sendmsg"


def test_every_command_gets_a_documented_path() -> None:
    services: dict[str, Any] = {
        "all_member_push": all_member_push.COMMANDS,
        "openim_dirty_words": openim_dirty_words.COMMANDS,
        "other": {"cmd": lambda ctx, body: None},
    }
    paths, components = rest_v4_paths(services)
    assert "/v4/all_member_push/im_set_attr" in paths
    assert "/v4/openim_dirty_words/add" in paths
    op = paths["/v4/openim_dirty_words/add"]["post"]
    assert {p["name"] for p in op["parameters"]} >= {"sdkappid", "identifier", "usersig"}
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert components[ref.rsplit("/", 1)[1]]["properties"]["DirtyWordsList"]["type"] == "array"
    assert paths["/v4/other/cmd"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"type": "object"}
    assert components["RestV4Reply"]["required"] == ["ActionStatus", "ErrorCode", "ErrorInfo"]


def test_pure_platform_modules_do_no_io() -> None:
    io_modules = ("aiokafka", "redis", "grpc", "sqlite3", "cassandra", "httpx", "socket")
    for path in ("services/common/app_settings.py", "services/gateway/ipwhitelist.py"):
        for mod in imported_modules(ROOT / path):
            assert not mod.startswith(io_modules), (path, mod)
