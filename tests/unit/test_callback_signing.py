"""Tencent's callback query string and Sign."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from services.callback.signing import callback_url, opt_platform, query_params, sign


def test_sign_matches_tencents_documented_example() -> None:
    # Tencent's 第三方回调简介: Token=xxxxyyyy, RequestTime=1669872112.
    assert sign("xxxxyyyy", 1669872112) == (
        "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
    )


def test_query_has_tencents_parameters_in_order() -> None:
    params = query_params(1400000001, "C2C.CallbackBeforeSendMsg", "1.2.3.4", "iPhone", "tok", 7)
    assert params == [
        ("SdkAppid", "1400000001"),
        ("CallbackCommand", "C2C.CallbackBeforeSendMsg"),
        ("contenttype", "json"),
        ("ClientIP", "1.2.3.4"),
        ("OptPlatform", "iOS"),
        ("Sign", sign("tok", 7)),
        ("RequestTime", "7"),
    ]


def test_no_token_means_no_sign() -> None:
    names = [k for k, _ in query_params(1, "State.StateChange", "", "RESTAPI", "", 7)]
    assert names == ["SdkAppid", "CallbackCommand", "contenttype", "ClientIP", "OptPlatform"]


def test_platforms_map_to_tencents_names() -> None:
    assert [opt_platform(p) for p in ("RESTAPI", "Web", "Android", "iPhone", "iPad")] == [
        "RESTAPI",
        "Web",
        "Android",
        "iOS",
        "iPad",
    ]
    assert opt_platform("Linux") == "Unknown"
    assert opt_platform("") == "Unknown"


def test_url_keeps_the_apps_own_query() -> None:
    url = callback_url("https://example.com/im/cb?tenant=a b", [("SdkAppid", "1"), ("x", "&=")])
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "example.com", "/im/cb")
    assert parse_qsl(parts.query) == [("tenant", "a b"), ("SdkAppid", "1"), ("x", "&=")]
    assert callback_url("http://example.com", [("a", "1")]) == "http://example.com/?a=1"
