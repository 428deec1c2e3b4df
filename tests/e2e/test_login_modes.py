"""Multi-device login modes: a new login keeps or kicks exactly what the app's mode says."""

from __future__ import annotations

import pytest

from services.common.config_versions import ConfigVersions
from services.common.errors import ErrorCode
from services.common.redis_state import connect
from tests.conftest import AppUnderTest, eventually, new_app
from tidings_client import Client

pytestmark = pytest.mark.stack


async def app_with_mode(stack, mode: int) -> AppUnderTest:  # type: ignore[no-untyped-def]
    app = await new_app(stack, login={"mode": mode})
    await app.import_accounts("dev")
    return app


async def login(app: AppUnderTest, platform: str) -> Client:
    c = Client(app.stack.ws_url, app.sdkappid, "dev", app.sig("dev"), platform=platform)
    await c.connect()
    return c


async def kicked(c: Client) -> bool:
    return c.kicked is not None


async def no_kick_pending(c: Client) -> None:
    """A round trip on `c`'s own socket. A login makes its Kick call, which writes "kicked" at
    once, before it replies; so a reply asked for after every login's reply follows any kick
    frame meant for `c`."""
    assert (await c.request({"op": "ping"}))["op"] == "pong"


@pytest.mark.parametrize(
    ("mode", "first", "second", "first_kicked"),
    [
        (1, "Android", "Web", True),
        (2, "iPhone", "Android", True),
        (2, "iPhone", "Windows", False),
        (3, "Android", "Android", True),
        (3, "Android", "Web", False),
        (4, "Android", "Android", False),
    ],
)
async def test_second_login_keeps_or_kicks(
    stack,
    mode: int,
    first: str,
    second: str,
    first_kicked: bool,  # type: ignore[no-untyped-def]
) -> None:
    app = await app_with_mode(stack, mode)
    a = await login(app, first)
    b = await login(app, second)
    try:
        if first_kicked:
            assert await eventually(lambda: kicked(a), timeout=10)
            assert a.kicked is not None
            assert a.kicked[0] == ErrorCode.KICKED_OFFLINE
        else:
            await no_kick_pending(a)
            assert a.kicked is None
            # The kept session still works.
            await app.import_accounts("peer")
            assert (await a.send(to="peer", text="still here")).seq >= 1
        assert b.kicked is None
        assert (await b.send(to="dev", text="note to self")).seq >= 1
    finally:
        await a.close()
        await b.close()


async def test_mode_4_fourth_android_kicks_the_oldest(stack) -> None:  # type: ignore[no-untyped-def]
    app = await app_with_mode(stack, 4)
    clients = [await login(app, "Android") for _ in range(4)]
    try:
        assert await eventually(lambda: kicked(clients[0]), timeout=10)
        for c in clients[1:]:
            await no_kick_pending(c)
        assert [c.kicked is None for c in clients] == [False, True, True, True]
    finally:
        for c in clients:
            await c.close()


async def test_a_login_mode_changed_applies_to_the_very_next_login(stack) -> None:  # type: ignore[no-untyped-def]
    """The gateway has the app cached with mode 4 (a login just read it). The change is made
    as a writer that publishes nothing on im.config would make it (the store, then the app's
    configuration version), so only the version a login reads can make the next login follow
    mode 1 within the cache's lifetime."""
    app = await app_with_mode(stack, 4)
    first = await login(app, "Android")
    try:
        async with app.stores() as stores:
            record = await stores.apps.get_app(app.sdkappid)
            assert record is not None
            record.settings["login"] = {"mode": 1}
            await stores.apps.save_app(record)
        redis = connect(stack.redis_url)
        try:
            await ConfigVersions(redis).bump(app.sdkappid)
        finally:
            await redis.aclose()
        second = await login(app, "Web")
        try:
            assert await eventually(lambda: kicked(first), timeout=10)
            await no_kick_pending(second)
            assert second.kicked is None
        finally:
            await second.close()
    finally:
        await first.close()
