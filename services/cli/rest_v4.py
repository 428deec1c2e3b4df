"""REST v4 calls of the running stack as an app's admin identifier, for `tidings import` and
`tidings send`: the same requests an app server makes, so every rule the server applies holds.

The stack is found as the other commands find it: the data dir named by TIDINGS_DATA_DIR,
whose demo-app.json (written by `tidings up` / `make run`) holds `rest_url`, and the demo app's
key. Another app's key is read from the data dir's store; --url and --key override both."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer

from services.common import apps, usersig
from services.common.bus import backoff_s
from services.common.config import get_settings
from services.common.store.factory import open_stores

ADMIN_IDENTIFIER = "administrator"
# Answers worth retrying: the REST rate limit, timeouts and internal errors (Tencent's advice
# for 60007, 60008, 70169, 70500, 90994, 91000, 10002, 20005: "retry").
RETRYABLE_CODES = frozenset({60007, 60008, 70169, 70500, 90994, 91000, 10002, 20005})
RETRIES = 6


class StackUnavailable(Exception):
    """The stack did not answer (or kept answering with a retryable error)."""


@dataclass(frozen=True, slots=True)
class Target:
    rest_url: str
    sdkappid: int
    key: str
    identifier: str = ADMIN_IDENTIFIER


def demo_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "demo-app.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return doc if isinstance(doc, dict) else {}


async def _stored_key(sdkappid: int) -> str | None:
    stores = open_stores(get_settings())
    try:
        app = await stores.apps.get_app(sdkappid)
        return None if app is None else apps.current_key(app)
    finally:
        await stores.close()


def resolve_target(
    sdkappid: int, url: str | None, key: str | None, identifier: str = ADMIN_IDENTIFIER
) -> Target:
    """Where and as whom to call: --url/--key, else demo-app.json and the data dir's store."""
    demo = demo_file(get_settings().data_dir)
    rest_url = url or demo.get("rest_url")
    if not isinstance(rest_url, str) or not rest_url:
        raise typer.BadParameter(
            "no running stack found: give --url, or set TIDINGS_DATA_DIR to the data dir of "
            "`tidings up` (its demo-app.json holds rest_url)"
        )
    if key is None and demo.get("sdkappid") == sdkappid and isinstance(demo.get("key"), str):
        key = str(demo["key"])
    if key is None:
        key = asyncio.run(_stored_key(sdkappid))
    if key is None:
        raise typer.BadParameter(f"no app {sdkappid} in the data dir: give its --key")
    return Target(rest_url.rstrip("/"), sdkappid, key, identifier)


class RestClient:
    """One HTTP client for many calls; each call signs with the admin identifier's UserSig."""

    def __init__(self, target: Target, timeout: float = 30.0) -> None:
        self.target = target
        self._sig = usersig.sign(target.sdkappid, target.key, target.identifier)
        self._http = httpx.AsyncClient(base_url=target.rest_url, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, service: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """The reply of one command. Network failures, HTTP 5xx/429 and retryable ErrorCodes
        are retried with a growing pause; StackUnavailable when they persist, or at once on
        another HTTP status."""
        params: dict[str, str | int] = {
            "sdkappid": self.target.sdkappid,
            "identifier": self.target.identifier,
            "usersig": self._sig,
            "contenttype": "json",
        }
        last = ""
        for attempt in range(RETRIES):
            if attempt:
                await asyncio.sleep(backoff_s(attempt, base_s=0.2))
            params["random"] = secrets.randbelow(2**32)
            try:
                r = await self._http.post(f"/v4/{service}/{command}", params=params, json=body)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if r.status_code != 200:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                if r.status_code >= 500 or r.status_code == 429:
                    continue
                break
            reply: dict[str, Any] = r.json()
            if reply.get("ErrorCode") in RETRYABLE_CODES:
                last = f"ErrorCode {reply['ErrorCode']}: {reply.get('ErrorInfo', '')}"
                continue
            return reply
        raise StackUnavailable(f"{service}/{command}: {last}")
