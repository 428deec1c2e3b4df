"""Messaging settings through the admin API: validated, stored, and applied by the gateway
without a restart."""

from __future__ import annotations

from tests.conftest import AppUnderTest, admin_api, eventually
from tidings_client import Client, TidingsClientError


async def test_friend_check_switched_on_through_the_admin_api(app: AppUnderTest) -> None:
    await app.import_accounts("ann", "ben")
    path = f"/apps/{app.sdkappid}/messaging"
    shown = (await admin_api(app.stack, "GET", path)).json()
    assert shown["c2c_friend_check"] is False and shown["recall_window_s"] == 120

    bad = await admin_api(app.stack, "PATCH", path, json={"recall_window_s": 0})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_argument"
    unknown = await admin_api(app.stack, "PATCH", path, json={"colour": "red"})
    assert unknown.status_code == 422

    ann = Client(app.stack.ws_url, app.sdkappid, "ann", app.sig("ann"))
    await ann.connect()
    try:
        await ann.send(to="ben", text="before")
        r = await admin_api(app.stack, "PATCH", path, json={"c2c_friend_check": True})
        assert r.status_code == 200 and r.json()["c2c_friend_check"] is True

        async def refused() -> bool:
            try:
                await ann.send(to="ben", text="after")
            except TidingsClientError as err:
                return err.code == 20009
            return False

        assert await eventually(refused, timeout=15, interval=0.5)
    finally:
        await ann.close()
    restored = await admin_api(app.stack, "PATCH", path, json={"c2c_friend_check": None})
    assert restored.json()["c2c_friend_check"] is False
