"""The callback HTTP client against a real local server: a host name is resolved, checked and
pinned (the server still sees the name), the SSRF guard refuses at send time, and failures come
back as timeout or failed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from services.callback.poster import CallbackFailure, Poster, Request
from services.common.callback_config import CallbackConfig
from tests.callback_app_server import AppServer, answer

REQ = Request(1400000001, "C2C.CallbackAfterSendMsg", {"k": "v"}, "198.51.100.1", "Web")


@pytest.fixture
async def server() -> AsyncIterator[AppServer]:
    s = AppServer()
    s.start()
    yield s
    s.stop()


async def test_a_host_name_is_pinned_and_keeps_its_host_header(server: AppServer) -> None:
    poster = Poster(allow_private=True)
    try:
        url = f"http://localhost:{server.port}/cb"
        content = await poster.post(CallbackConfig(url=url, token="t"), REQ, 2.0)
    finally:
        await poster.close()
    assert b'"ErrorCode":0' in content.replace(b" ", b"")
    (hit,) = server.hits
    assert hit.host == f"localhost:{server.port}"
    assert hit.body == {"k": "v"}
    assert (hit.query["ClientIP"], hit.query["OptPlatform"]) == ("198.51.100.1", "Web")


async def test_private_targets_are_refused_at_send_time(server: AppServer) -> None:
    poster = Poster(allow_private=False)
    try:
        for url in (f"http://localhost:{server.port}/cb", f"http://127.0.0.1:{server.port}/cb"):
            with pytest.raises(CallbackFailure, match="address") as caught:
                await poster.post(CallbackConfig(url=url), REQ, 2.0)
            assert caught.value.outcome == "failed"
    finally:
        await poster.close()
    assert server.hits == []


async def test_timeouts_and_errors(server: AppServer) -> None:
    poster = Poster(allow_private=True)
    config = CallbackConfig(url=f"http://127.0.0.1:{server.port}/cb")
    try:
        server.behaviour = lambda _: None
        started = time.monotonic()
        with pytest.raises(CallbackFailure) as caught:
            await poster.post(config, REQ, 0.3)
        assert caught.value.outcome == "timeout"
        assert 0.25 < time.monotonic() - started < 1.0

        server.behaviour = lambda _: (503, {})
        with pytest.raises(CallbackFailure, match="HTTP 503"):
            await poster.post(config, REQ, 2.0)

        server.behaviour = answer(0)
        server.stop()
        with pytest.raises(CallbackFailure) as caught:
            await poster.post(config, REQ, 2.0)
        assert caught.value.outcome == "failed"
    finally:
        await poster.close()
