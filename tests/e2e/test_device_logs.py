"""Device logs on demand against the running stack: the operator asks a connected user's clients
for their logs through the admin API; each SDK client uploads over HTTP (its own log, or the
app's from `log_provider`); the operator lists and downloads them byte for byte. Uploads that
reuse a request, carry a bad UserSig or are too large are refused before their body is read."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import pytest

from services.common import usersig
from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from services.gateway.device_logs import UPLOAD_PATH
from tests.conftest import AppUnderTest, admin_api, eventually, http_client
from tidings_client import Client

pytestmark = pytest.mark.stack

APP_LOG = "".join(f"12:00:{i % 60:02d} checkout step {i} ok\n" for i in range(500)).encode()


async def ask(app: AppUnderTest, user: str) -> Any:
    return await admin_api(app.stack, "POST", f"/apps/{app.sdkappid}/users/{user}/device-logs")


async def listed(app: AppUnderTest, **params: Any) -> list[dict[str, Any]]:
    r = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/device-logs", params=params)
    assert r.status_code == 200, r.text
    return r.json()["device_logs"]  # type: ignore[no-any-return]


async def raw_upload(stack: Stack, query: dict[str, Any], declared: int) -> tuple[int, Any]:
    """An upload that declares `declared` bytes and sends none: only an answer given before the
    body is read can come back."""
    url = urlsplit(stack.rest_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            f"POST {UPLOAD_PATH}?{urlencode(query)} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {declared}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()
    return status, orjson.loads(body)


def upload_query(app: AppUnderTest, client: Client, request_id: str, sig: str) -> dict[str, Any]:
    return {
        "sdkappid": app.sdkappid,
        "identifier": client.user_id,
        "usersig": sig,
        "request_id": request_id,
        "conn_id": client.conn_id,
    }


async def test_logs_are_asked_uploaded_and_downloaded(app: AppUnderTest) -> None:
    await app.put_accounts("alice", "bob")
    phone = Client(
        app.stack.ws_url,
        app.sdkappid,
        "alice",
        app.sig("alice"),
        platform="iPhone",
        rest_url=app.stack.rest_url,
        log_provider=lambda: APP_LOG,
    )
    web = Client(
        app.stack.ws_url,
        app.sdkappid,
        "alice",
        app.sig("alice"),
        platform="Web",
        rest_url=app.stack.rest_url,
    )
    await phone.connect()
    await web.connect()
    try:
        r = await ask(app, "alice")
        assert r.status_code == 200, r.text
        request_id = r.json()["request_id"]
        assert r.json()["sessions"] == 2

        async def both_uploaded() -> list[dict[str, Any]]:
            found = await listed(app, user="alice")
            return found if len(found) == 2 else []

        uploads = {u["conn_id"]: u for u in await eventually(both_uploaded)}
        assert set(uploads) == {phone.conn_id, web.conn_id}
        from_phone, from_web = uploads[phone.conn_id], uploads[web.conn_id]
        assert from_phone["request_id"] == from_web["request_id"] == request_id
        assert (from_phone["platform"], from_web["platform"]) == ("iPhone", "Web")
        assert from_phone["size"] == len(APP_LOG)
        assert from_phone["user"] == "alice" and from_phone["uploaded_at"] > 0

        got = await admin_api(
            app.stack, "GET", f"/apps/{app.sdkappid}/device-logs/{from_phone['upload_id']}"
        )
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/plain")
        assert got.content == APP_LOG
        own = await admin_api(
            app.stack, "GET", f"/apps/{app.sdkappid}/device-logs/{from_web['upload_id']}"
        )
        assert own.status_code == 200
        assert own.content == web.device_log.text().encode()[: from_web["size"]]
        assert f"logged in as alice at {app.stack.ws_url} (conn {web.conn_id}, Web" in own.text
        assert f"log upload {request_id} asked" in own.text
        assert await listed(app, user="bob") == []

        # The same request answered again by the same session: refused.
        async with http_client(timeout=30) as http:
            again = await http.post(
                f"{app.stack.rest_url}{UPLOAD_PATH}",
                params=upload_query(app, phone, request_id, app.sig("alice")),
                content=b"forged second log",
                headers={"Content-Type": "text/plain"},
            )
        assert again.status_code == 404
        assert again.json()["ErrorCode"] == ErrorCode.REST_RESOURCE
        assert len(await listed(app)) == 2
    finally:
        await phone.close()
        await web.close()


async def test_uploads_refused_before_the_body(app: AppUnderTest) -> None:
    await app.put_accounts("carol")
    # No rest_url: this client notes the request and uploads nothing, so the test's own
    # uploads are the only answers.
    carol = Client(app.stack.ws_url, app.sdkappid, "carol", app.sig("carol"))
    await carol.connect()
    try:
        r = await ask(app, "carol")
        assert r.status_code == 200, r.text
        request_id = r.json()["request_id"]
        limit = app.stack.settings().device_log_max_bytes

        forged = usersig.sign(app.sdkappid, "0" * 64, "carol", 86400)
        status, body = await raw_upload(
            app.stack, upload_query(app, carol, request_id, forged), limit
        )
        assert (status, body["ErrorCode"]) == (401, ErrorCode.SIG_WRONG_KEY), body
        expired = usersig.sign(app.sdkappid, app.key, "carol", -10)
        status, body = await raw_upload(
            app.stack, upload_query(app, carol, request_id, expired), limit
        )
        assert (status, body["ErrorCode"]) == (401, ErrorCode.SIG_EXPIRED), body

        status, body = await raw_upload(
            app.stack, upload_query(app, carol, request_id, app.sig("carol")), limit + 1
        )
        assert (status, body["ErrorCode"]) == (413, ErrorCode.BODY_TOO_LARGE), body
        assert await listed(app) == []

        # A chunked body past the limit is cut off too; the request stays pending.
        async def chunks() -> Any:
            for _ in range(limit // 65536 + 2):
                yield b"z" * 65536

        async with http_client(timeout=60) as http:
            cut = await http.post(
                f"{app.stack.rest_url}{UPLOAD_PATH}",
                params=upload_query(app, carol, request_id, app.sig("carol")),
                content=chunks(),
                headers={"Content-Type": "text/plain"},
            )
            assert cut.status_code == 413
            assert cut.json()["ErrorCode"] == ErrorCode.BODY_TOO_LARGE
            fits = await http.post(
                f"{app.stack.rest_url}{UPLOAD_PATH}",
                params=upload_query(app, carol, request_id, app.sig("carol")),
                content=b"c" * limit,
                headers={"Content-Type": "text/plain"},
            )
        assert fits.status_code == 200, fits.text
        (stored,) = await listed(app)
        assert (stored["upload_id"], stored["size"]) == (fits.json()["upload_id"], limit)
    finally:
        await carol.close()


async def test_asking_a_user_who_is_not_connected_is_409(app: AppUnderTest) -> None:
    await app.put_accounts("dave")
    r = await ask(app, "dave")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "not_connected"
    missing = await admin_api(app.stack, "GET", f"/apps/{app.sdkappid}/device-logs/0-none")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    unknown_app = await admin_api(app.stack, "POST", "/apps/1/users/dave/device-logs")
    assert unknown_app.status_code == 404
