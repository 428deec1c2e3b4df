"""The query string Tencent puts on every callback, and its signature. Pure.

`POST URL?SdkAppid=&CallbackCommand=&contenttype=json&ClientIP=&OptPlatform=&Sign=&RequestTime=`
with Sign = sha256_hex(token + RequestTime) and RequestTime in unix seconds. Tencent adds Sign and
RequestTime only when the app set an auth token; receivers reject a RequestTime older than a
minute, so both are made fresh for every attempt.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlsplit, urlunsplit

# Tencent's OptPlatform values: RESTAPI, Web, Android, iOS, Windows, Mac, iPad, Unknown.
# Tidings' WebSocket platforms map onto them; Linux has no Tencent name.
_OPT_PLATFORM = {
    "Android": "Android",
    "iPhone": "iOS",
    "iOS": "iOS",
    "iPad": "iPad",
    "Windows": "Windows",
    "Mac": "Mac",
    "Web": "Web",
    "RESTAPI": "RESTAPI",
}


def sign(token: str, request_time: int) -> str:
    return hashlib.sha256(f"{token}{request_time}".encode()).hexdigest()


def opt_platform(platform: str) -> str:
    return _OPT_PLATFORM.get(platform, "Unknown")


def query_params(
    sdkappid: int,
    command: str,
    client_ip: str,
    platform: str,
    token: str,
    request_time: int,
) -> list[tuple[str, str]]:
    """Tencent's parameters, in Tencent's order."""
    params = [
        ("SdkAppid", str(sdkappid)),
        ("CallbackCommand", command),
        ("contenttype", "json"),
        ("ClientIP", client_ip),
        ("OptPlatform", opt_platform(platform)),
    ]
    if token:
        params += [("Sign", sign(token, request_time)), ("RequestTime", str(request_time))]
    return params


def callback_url(base: str, params: list[tuple[str, str]]) -> str:
    """The app's URL with the parameters appended after any query it already has."""
    parts = urlsplit(base)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
