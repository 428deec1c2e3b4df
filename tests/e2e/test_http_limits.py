"""HTTP limits on the running gateway: an unauthenticated admin call is refused from its headers
alone (the gateway does not wait for a 200 MB body), and a body over the limit is refused at
once when declared and cut off when chunked, in the admin or Tencent envelope."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import pytest

from services.common.config import Settings
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack

LIMIT = Settings().max_http_body_bytes
HUGE = 209_715_200
PROMPT_S = 5.0
CHUNK = 64 * 1024
PACE_S = 0.01


async def open_gateway(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(stack.rest_url)
    assert where.hostname and where.port
    return await asyncio.open_connection(where.hostname, where.port)


def head(target: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: gateway", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    """One HTTP/1.1 response with a Content-Length body: status, headers, JSON body."""
    status_line = await reader.readuntil(b"\r\n")
    headers: dict[str, str] = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, orjson.loads(body)


async def headers_only(
    stack: Stack, target: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    """Send a request's headers, never its body, and read the answer."""
    reader, writer = await open_gateway(stack)
    try:
        writer.write(head(target, headers))
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), PROMPT_S)
    finally:
        writer.close()


async def chunked_upload(
    stack: Stack, target: str, headers: dict[str, str], total: int
) -> tuple[tuple[int, dict[str, str], Any], int]:
    """Stream up to `total` bytes as a chunked body while reading the answer; the answer and
    how many body bytes were written before it came. Chunks are paced, so that what was written
    when the answer came is about what the gateway had read."""
    reader, writer = await open_gateway(stack)
    sent = 0
    writer.write(head(target, {**headers, "Transfer-Encoding": "chunked"}))
    answer = asyncio.create_task(read_response(reader))
    chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
    try:
        with contextlib.suppress(ConnectionError):
            while sent < total and not answer.done():
                writer.write(chunk)
                await writer.drain()
                sent += CHUNK
                await asyncio.sleep(PACE_S)
        return await asyncio.wait_for(answer, PROMPT_S), sent
    finally:
        answer.cancel()
        writer.close()


def rest_target(app: AppUnderTest) -> str:
    return f"/v4/openim/sendmsg?{urlencode(app.admin_params)}"


async def test_an_admin_call_without_the_token_is_refused_before_its_body(stack: Stack) -> None:
    status, headers, body = await headers_only(
        stack, "/admin/apps", {"Content-Type": "application/json", "Content-Length": str(HUGE)}
    )
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert headers["www-authenticate"] == "Bearer"
    # Nothing more an unauthenticated caller sends is read.
    assert headers["connection"] == "close"
    status, _, body = await headers_only(
        stack, "/admin/apps", {"Authorization": "Bearer wrong", "Content-Length": str(HUGE)}
    )
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_a_declared_body_over_the_limit_is_refused_at_once(
    stack: Stack, app: AppUnderTest
) -> None:
    operator = {"Authorization": f"Bearer {stack.admin_token}"}
    status, _, body = await headers_only(
        stack, "/admin/apps", {**operator, "Content-Length": str(LIMIT + 1)}
    )
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert body["error"]["message"] == f"request body over {LIMIT} bytes"
    status, _, body = await headers_only(stack, rest_target(app), {"Content-Length": str(HUGE)})
    assert status == 200
    assert body == {
        "ActionStatus": "FAIL",
        "ErrorCode": 60003,
        "ErrorInfo": f"request body over {LIMIT} bytes",
    }


async def test_a_chunked_body_over_the_limit_is_cut_off(stack: Stack, app: AppUnderTest) -> None:
    operator = {"Authorization": f"Bearer {stack.admin_token}"}
    total = 16 * LIMIT
    (status, _, body), sent = await chunked_upload(stack, "/admin/apps", operator, total)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    # Answered as soon as the limit was passed: the chunk over it, and one or two written
    # while the answer travelled.
    assert LIMIT < sent <= LIMIT + 3 * CHUNK
    (status, _, body), sent = await chunked_upload(stack, rest_target(app), {}, total)
    assert (status, body["ErrorCode"]) == (200, 60003)
    assert LIMIT < sent <= LIMIT + 3 * CHUNK


async def test_a_chunked_body_under_the_limit_is_served(stack: Stack, app: AppUnderTest) -> None:
    await app.import_accounts("cy", "di")
    msg = {
        "From_Account": "cy",
        "To_Account": "di",
        "MsgRandom": 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
    }
    raw = orjson.dumps(msg)
    reader, writer = await open_gateway(stack)
    try:
        writer.write(head(rest_target(app), {"Transfer-Encoding": "chunked"}))
        writer.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n")
        status, _, body = await asyncio.wait_for(read_response(reader), 30)
    finally:
        writer.close()
    assert (status, body["ErrorCode"]) == (200, 0), body
