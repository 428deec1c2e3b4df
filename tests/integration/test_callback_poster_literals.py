"""The callback poster reads IP-literal hosts as the configuration check does: every numeric
spelling of a loopback address is refused at send time without a private allowance, and with
one it reaches the address the check saw (httpx alone refuses 0177.0.0.1 and 127.0.0.1.)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.callback.poster import CallbackFailure, Poster, Request
from services.common.callback_config import CallbackConfig, check_url
from tests.callback_app_server import AppServer

REQ = Request(1400000001, "C2C.CallbackAfterSendMsg", {"k": "v"})
HOSTS = ("0x7f000001", "2130706433", "127.1", "0177.0.0.1", "127.0.0.1.", "[::ffff:7f00:1]")


@pytest.fixture
async def server() -> AsyncIterator[AppServer]:
    s = AppServer()
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("host", HOSTS)
async def test_numeric_loopback_forms_are_refused_at_send_time(
    server: AppServer, host: str
) -> None:
    poster = Poster(allow_private=False)
    try:
        with pytest.raises(CallbackFailure, match="not allowed") as caught:
            await poster.post(CallbackConfig(url=f"http://{host}:{server.port}/cb"), REQ, 2.0)
    finally:
        await poster.close()
    assert caught.value.outcome == "failed"
    assert server.hits == []


@pytest.mark.parametrize("host", [h for h in HOSTS if not h.startswith("[")])
async def test_an_allowed_numeric_form_reaches_the_checked_address(
    server: AppServer, host: str
) -> None:
    # What the operator stored (allowed) is what the poster sends to.
    url = check_url(f"http://{host}:{server.port}/cb", allow_private=True)
    poster = Poster(allow_private=True)
    try:
        await poster.post(CallbackConfig(url=url), REQ, 2.0)
    finally:
        await poster.close()
    (hit,) = server.hits
    assert hit.host == f"127.0.0.1:{server.port}"
    assert hit.body == {"k": "v"}
