"""The web console driven as a new user would, in Debian's chromium: log in, create an app,
import accounts from a file, configure a callback and see its delivery, mask a sensitive word,
change the login mode, watch the statistics chart move; a read-only sub-account sees no change
controls."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.browser.conftest import Console, new_console, root_login
from tests.callback_app_server import AppServer
from tests.conftest import AppUnderTest, admin_api, eventually, http_client
from tidings_client import Client

pytestmark = pytest.mark.stack

PAGES = [
    "groups",
    "accounts",
    "features",
    "callbacks",
    "words",
    "push",
    "security",
    "stats",
    "monitor",
    "events",
    "reports",
]


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


async def send_c2c(app: AppUnderTest, sender: str, to: str, words: str) -> None:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": sender,
            "To_Account": to,
            "MsgRandom": int(time.time() * 1000) % 2**31,
            "MsgBody": text(words),
        },
    )
    assert reply["ErrorCode"] == 0, reply


async def test_a_wrong_password_is_refused_then_the_right_one_logs_in(
    anonymous: Console,
) -> None:
    user, password = root_login(anonymous.stack)
    await anonymous.page.goto(anonymous.url)
    await anonymous.page.fill("#login-user", user)
    await anonymous.page.fill("#login-password", password + "x")
    await anonymous.page.click("#login-submit")
    await anonymous.page.wait_for_selector("#login-error:has-text('Wrong user or password.')")
    await anonymous.log_in(user, password)
    await anonymous.page.wait_for_selector("#nav a[data-page='apps']")


async def test_create_an_app_and_import_accounts_from_a_file(
    console: Console, tmp_path: Path
) -> None:
    page = console.page
    await console.open("apps")
    await page.fill("#create-app input[name=name]", "shop")
    await page.select_option("#create-app select[name=edition]", "Standard")
    await page.click("#create-app button")
    created = await page.wait_for_selector(".created-app")
    assert created is not None
    sdkappid = int((await created.inner_text()).split()[2])
    key = await page.inner_text(".created-app code")
    listed = await admin_api(console.stack, "GET", f"/apps/{sdkappid}")
    assert listed.json()["edition"] == "Standard" and listed.json()["name"] == "shop"

    # Three good rows in three forms, a header, and two bad rows named by their lines.
    upload = tmp_path / "accounts.csv"
    upload.write_text(
        "UserID,Nick,FaceUrl\n"
        "ann,Ann,\n"
        '{"UserID": "ben", "Nick": "Ben"}\n'
        "cat\n"
        '{"UserID": ""}\n'
        f"{'x' * 40}\n"
    )
    await console.open("accounts", sdkappid)
    await page.set_input_files("#import-file", str(upload))
    await page.click("#import-go")
    await page.wait_for_selector("#import-progress:has-text('Imported 3 accounts; 2 bad rows.')")
    bad = await page.inner_text("#import-bad")
    assert "5\tno UserID" in bad and "6\tUserID longer than 32 bytes" in bad

    app = AppUnderTest(sdkappid, key, console.stack)
    checked = await app.rest(
        "im_open_login_svc",
        "account_check",
        {"CheckItem": [{"UserID": u} for u in ("ann", "ben", "cat", "dan")]},
    )
    assert [r["AccountStatus"] for r in checked["ResultItem"]] == [
        "Imported",
        "Imported",
        "Imported",
        "NotImported",
    ]
    profile = await app.rest(
        "profile",
        "portrait_get",
        {"To_Account": ["ben"], "TagList": ["Tag_Profile_IM_Nick"]},
    )
    assert profile["UserProfileItem"][0]["ProfileItem"][0]["Value"] == "Ben"

    # The page finds them too.
    await page.fill("#check-ids", "ann, dan")
    await page.click("#check-go")
    await page.wait_for_selector("#check-result td:has-text('NotImported')")

    # Found by prefix, its profile opened and its nick changed.
    await page.fill("#search-prefix", "be")
    await page.click("#search-go")
    found = page.locator("#search-result tr", has_text="ben")
    await found.get_by_role("button", name="Profile").click()
    await page.fill("#profile-form input[name=Tag_Profile_IM_Nick]", "Benjamin")
    await page.click("#profile-save")
    await console.toast("Profile of ben saved")
    profile = await app.rest(
        "profile", "portrait_get", {"To_Account": ["ben"], "TagList": ["Tag_Profile_IM_Nick"]}
    )
    assert profile["UserProfileItem"][0]["ProfileItem"][0]["Value"] == "Benjamin"


@pytest.fixture
async def app_server() -> AsyncIterator[AppServer]:
    s = AppServer()
    s.start()
    yield s
    s.stop()


async def test_configure_a_callback_and_see_its_delivery(
    console: Console, app: AppUnderTest, app_server: AppServer
) -> None:
    page = console.page
    await app.import_accounts("alice", "bob")
    await console.open("callbacks", app.sdkappid)
    await page.fill("#cb-url", app_server.url)
    await page.fill("#cb-token", "console-token")
    await page.fill("#cb-commands", "C2C.CallbackAfterSendMsg")
    assert await page.is_checked("#cb-c2c-open")  # Tencent's default: still deliver
    await page.uncheck("#cb-group-open")
    await page.click("#save-callback")
    await console.toast("Callback saved")
    saved = (await admin_api(console.stack, "GET", f"/apps/{app.sdkappid}/callback")).json()
    assert saved["commands"] == ["C2C.CallbackAfterSendMsg"]
    assert saved["token"] == "console-token"
    assert (saved["c2c_msg_fail_policy"], saved["group_msg_fail_policy"]) == ("open", "closed")

    await send_c2c(app, "alice", "bob", "hello app server")

    async def hit() -> bool:
        return bool(app_server.of("C2C.CallbackAfterSendMsg", app.sdkappid))

    await eventually(hit, timeout=30)

    async def in_the_log() -> bool:
        await page.click("#refresh-deliveries")
        log = await page.inner_text("#deliveries")
        return "C2C.CallbackAfterSendMsg" in log and "delivered" in log

    await eventually(in_the_log, timeout=30, interval=0.5)


async def test_a_sensitive_word_added_in_the_console_is_masked(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    await app.import_accounts("alice", "bob")
    await console.open("words", app.sdkappid)
    await page.fill("#new-word", "zorblax")
    await page.click("#add-word")
    await page.wait_for_selector("#words-list td:has-text('zorblax')")
    # The app's own words block by default: mask them instead.
    await page.select_option("#words-custom", "mask")
    await page.click("#save-word-actions")
    await console.toast("Saved")
    doc = (await admin_api(console.stack, "GET", f"/apps/{app.sdkappid}/sensitive-words")).json()
    assert doc["custom"] == "mask"

    # "Applies within seconds": each try sends a new message and reads it back.
    async def masked() -> bool:
        await send_c2c(app, "alice", "bob", "hi zorblax there")
        last = (await app.roam("alice", "bob", max_cnt=1))[0]
        return bool(last["MsgBody"][0]["MsgContent"]["Text"] == "hi *** there")

    await eventually(masked, timeout=30, interval=0.5)


async def test_the_login_mode_set_in_the_console_kicks_a_second_device(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    await app.import_accounts("dev")
    await console.open("features", app.sdkappid)
    assert await page.input_value("#login-mode") == "4"
    await page.select_option("#login-mode", "1")
    await page.click("#save-features")
    await console.toast("Saved")
    # In effect for every login after the answer.
    phone = await app.connect("dev", platform="Android")
    web = await app.connect("dev", platform="Web")
    try:

        async def kicked(c: Client = phone) -> bool:
            return c.kicked is not None

        await eventually(kicked, timeout=10)
        assert phone.kicked is not None and phone.kicked[0] == ErrorCode.KICKED_OFFLINE
        assert web.kicked is None
    finally:
        await phone.close()
        await web.close()
    await page.reload()
    await page.wait_for_selector("#login-mode")
    assert await page.input_value("#login-mode") == "1"


async def test_the_statistics_chart_moves_after_traffic(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    await app.import_accounts("alice", "bob")
    await console.open("stats", app.sdkappid)
    await page.wait_for_selector("#stats-chart rect.bar", state="attached")
    bars = await page.query_selector_all("#stats-chart rect.bar")
    assert len(bars) == 7
    assert await bars[-1].get_attribute("data-value") == "0"

    for i in range(3):
        await send_c2c(app, "alice", "bob", f"traffic {i}")
    # The page redraws itself every 10 s; the stats agents count asynchronously.
    await page.wait_for_function(
        """() => {
            const bars = document.querySelectorAll('#stats-chart rect.bar');
            return bars.length === 7 && Number(bars[6].dataset.value) === 3;
        }""",
        timeout=120_000,
    )


async def test_every_page_draws_without_errors(console: Console, app: AppUnderTest) -> None:
    for page_id in [*PAGES, "apps", "audit", "subaccounts"]:
        await console.open(page_id, app.sdkappid)
        errors = await console.page.query_selector_all("#main .error")
        assert not errors, (page_id, [await e.inner_text() for e in errors])
    async with http_client() as http:
        r = await http.get(console.url)
    assert r.status_code == 200 and "Tidings console" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_a_read_only_sub_account_sees_but_cannot_change(
    browser: Browser, stack: Stack, app: AppUnderTest
) -> None:
    username = f"viewer{app.sdkappid}"
    made = await admin_api(
        stack,
        "POST",
        "/subaccounts",
        json={"username": username, "password": "look-but-dont-touch", "preset": "ReadOnlyAccess"},
    )
    assert made.status_code in (200, 201), made.text
    async for viewer in new_console(browser, stack):
        page = viewer.page
        await viewer.log_in(username, "look-but-dont-touch")

        await viewer.open("apps")
        assert await page.query_selector("#create-app") is None
        assert await page.query_selector("text=Rotate key") is None
        assert await page.query_selector("text=Show key") is None
        assert str(app.sdkappid) in await page.inner_text("#page-apps table")

        await viewer.open("features", app.sdkappid)
        assert await page.is_disabled("#login-mode")
        assert await page.is_disabled("#switch-community")
        assert await page.query_selector("#save-features") is None
        assert await page.is_visible("text=Read-only: your policy does not allow changes here.")

        await viewer.open("words", app.sdkappid)
        assert await page.query_selector("#add-word") is None
        await viewer.open("callbacks", app.sdkappid)
        assert await page.query_selector("#save-callback") is None
        await viewer.open("usersig", app.sdkappid)
        assert await page.query_selector("#us-generate") is None
        assert await page.is_enabled("#usv-verify")  # verifying is a read
        await viewer.open("accounts", app.sdkappid)
        assert await page.query_selector("#import-go") is None

        # The admin API refuses a change all the same, with a clear error.
        refused = await page.evaluate(
            """async (id) => {
                const me = await (await fetch('/console/api/me')).json();
                const r = await fetch(`/admin/apps/${id}/messaging`, {
                    method: 'PATCH',
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                    body: JSON.stringify({recall_window_s: 60}),
                });
                return [r.status, await r.json()];
            }""",
            app.sdkappid,
        )
        assert refused[0] == 403 and refused[1]["error"]["code"] == "forbidden", refused


async def test_a_sub_account_scoped_to_one_app_sees_no_other(
    browser: Browser, stack: Stack, app: AppUnderTest
) -> None:
    username = f"scoped{app.sdkappid}"
    made = await admin_api(
        stack,
        "POST",
        "/subaccounts",
        json={
            "username": username,
            "password": "only-this-one-app",
            "preset": "FullAccess",
            "apps": [app.sdkappid],
        },
    )
    assert made.status_code in (200, 201), made.text
    async for scoped in new_console(browser, stack):
        await scoped.log_in(username, "only-this-one-app")
        await scoped.open("apps")
        options = await scoped.page.eval_on_selector_all(
            "#app-select option", "options => options.map(o => o.value)"
        )
        assert options == [str(app.sdkappid)]
        assert await scoped.page.locator("#page-apps tbody tr").count() == 1
        assert str(app.sdkappid) in await scoped.page.inner_text("#page-apps tbody")
        # Its one app is its to change; the console's own administration is not.
        await scoped.open("features", app.sdkappid)
        assert await scoped.page.is_enabled("#login-mode")
        assert await scoped.page.query_selector("#nav a[data-page='subaccounts']") is None
        assert await scoped.page.query_selector("#nav a[data-page='audit']") is None


async def test_a_groups_members_are_muted_and_the_group_destroyed(
    console: Console, app: AppUnderTest
) -> None:
    page = console.page
    await app.import_accounts("owner", "m1")
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": "owner",
            "Type": "Public",
            "Name": "club",
            "MemberList": [{"Member_Account": "m1"}],
        },
    )
    assert created["ErrorCode"] == 0, created
    group_id = created["GroupId"]
    await console.open("groups", app.sdkappid)
    row = page.locator("#page-groups tr", has_text=group_id)
    await row.get_by_role("button", name="Members").click()
    member = page.locator("#group-members tr", has_text="m1")
    await member.get_by_role("button", name="Mute").click()
    await console.toast("m1 muted")
    info = await app.rest("group_open_http_svc", "get_group_member_info", {"GroupId": group_id})
    (m1,) = [m for m in info["MemberList"] if m["Member_Account"] == "m1"]
    assert m1["MuteUntil"] > time.time()

    await row.get_by_role("button", name="Destroy").click()
    await console.toast(f"{group_id} destroyed")
    gone = await app.rest("group_open_http_svc", "get_group_info", {"GroupIdList": [group_id]})
    assert gone["GroupInfo"][0]["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
