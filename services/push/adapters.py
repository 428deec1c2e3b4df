"""Vendor adapters made from an app's stored credentials, and kept while those stay the same.

Endpoints (Settings.push_endpoints, env TIDINGS_PUSH_ENDPOINTS as a JSON object) replace the
vendors' production URLs, so that tests and staging aim the adapters at local servers:

    apns          APNs base URL for production credentials
    apns_sandbox  APNs base URL for sandbox credentials
    fcm           FCM base URL (…/v1/projects/<id>/messages:send is added)
    fcm_token     the OAuth token URL (else the service account's token_uri)
    huawei        Push Kit base URL
    huawei_token  Huawei's OAuth token URL
    xiaomi, oppo, vivo, meizu   the vendor's base URL (OPPO and vivo fetch their auth
                  tokens under it too)

A CA file (Settings.push_ca_file) is trusted beside the system's CAs for every vendor, for a
local TLS server (APNs certificate auth happens in the TLS handshake) or an egress proxy.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

import certifi
import httpx

from services.common import push_config
from services.common.push_config import VendorCredentials
from services.common.push_credentials import (
    ApnsCertificateCredentials,
    ApnsTokenCredentials,
    FcmCredentials,
    HuaweiCredentials,
    MeizuCredentials,
    OppoCredentials,
    VivoCredentials,
    XiaomiCredentials,
)
from services.common.store.ports import App
from services.push.vendors import apns
from services.push.vendors.apns import ApnsAdapter
from services.push.vendors.base import VendorAdapter
from services.push.vendors.fcm import FcmAdapter
from services.push.vendors.huawei import HuaweiAdapter
from services.push.vendors.meizu import MeizuAdapter
from services.push.vendors.oppo import OppoAdapter
from services.push.vendors.vivo import VivoAdapter
from services.push.vendors.xiaomi import XiaomiAdapter

ENDPOINT_KEYS = frozenset(
    {
        "apns",
        "apns_sandbox",
        "fcm",
        "fcm_token",
        "huawei",
        "huawei_token",
        "xiaomi",
        "oppo",
        "vivo",
        "meizu",
    }
)
# The vendors' clients time out after 10 s a request and a send makes at most three (a token,
# the send, one more after a refused token): an adapter replaced meanwhile is closed after
# this, so that a send still using it is not cut off.
RETIRE_AFTER_S = 60.0
HTTP_TIMEOUT_S = 10.0


def check_endpoints(endpoints: Mapping[str, str]) -> None:
    """ValueError for a key no adapter reads (a typo would send to production) or a value
    that is no http(s) URL."""
    unknown = sorted(set(endpoints) - ENDPOINT_KEYS)
    if unknown:
        raise ValueError(
            f"push endpoints have unknown keys {unknown}; known: {sorted(ENDPOINT_KEYS)}"
        )
    for key, url in endpoints.items():
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"push endpoint {key} must be an http:// or https:// URL")


def make_adapter(
    vendor: str,
    credentials: VendorCredentials,
    endpoints: Mapping[str, str],
    client: httpx.AsyncClient | None = None,
) -> VendorAdapter:
    """The vendor's adapter for these credentials, aimed at `endpoints`' URLs where they name
    one. With `client`, the adapter uses it and the caller closes it."""
    if vendor == "apns" and isinstance(
        credentials, ApnsTokenCredentials | ApnsCertificateCredentials
    ):
        key = "apns_sandbox" if credentials.sandbox else "apns"
        return ApnsAdapter(credentials, endpoints.get(key), client)
    if vendor == "fcm" and isinstance(credentials, FcmCredentials):
        return FcmAdapter(
            credentials, endpoints.get("fcm"), client, token_url=endpoints.get("fcm_token")
        )
    if vendor == "huawei" and isinstance(credentials, HuaweiCredentials):
        return HuaweiAdapter(
            credentials, endpoints.get("huawei"), client, token_url=endpoints.get("huawei_token")
        )
    if vendor == "xiaomi" and isinstance(credentials, XiaomiCredentials):
        return XiaomiAdapter(credentials, base_url=endpoints.get("xiaomi"), client=client)
    if vendor == "oppo" and isinstance(credentials, OppoCredentials):
        return OppoAdapter(credentials, base_url=endpoints.get("oppo"), client=client)
    if vendor == "vivo" and isinstance(credentials, VivoCredentials):
        return VivoAdapter(credentials, base_url=endpoints.get("vivo"), client=client)
    if vendor == "meizu" and isinstance(credentials, MeizuCredentials):
        return MeizuAdapter(credentials, base_url=endpoints.get("meizu"), client=client)
    raise ValueError(f"{type(credentials).__name__} are not credentials of vendor {vendor!r}")


def client_trusting(
    vendor: str, credentials: VendorCredentials, ca_file: str
) -> httpx.AsyncClient | None:
    """An HTTP client as the adapter would make, that also trusts the CAs in `ca_file`; None
    when APNs certificate credentials do not load (the adapter's own client then fails each
    send with BadCredentials, permanently, as it would without a CA file)."""
    if isinstance(credentials, ApnsCertificateCredentials):
        try:
            context = apns.tls_context(credentials)
        except ValueError:
            return None
    else:
        context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=ca_file)
    if vendor == "apns":
        return apns.http2_client(context)
    return httpx.AsyncClient(verify=context, timeout=HTTP_TIMEOUT_S)


class _Built:
    """An adapter, the stored credentials it was made from, and the client made for it."""

    def __init__(
        self,
        doc: Mapping[str, object],
        adapter: VendorAdapter,
        client: httpx.AsyncClient | None,
    ) -> None:
        self.doc = doc
        self.adapter = adapter
        self.client = client

    async def close(self) -> None:
        await self.adapter.close()
        if self.client is not None:
            await self.client.aclose()


class Adapters:
    """One adapter per (app, vendor), made on first use from the app's stored credentials and
    made again when they change (the old one is closed RETIRE_AFTER_S later, after the sends
    that hold it). Access tokens and HTTP/2 connections live as long as the adapter."""

    def __init__(self, endpoints: Mapping[str, str], ca_file: str = "") -> None:
        check_endpoints(endpoints)
        self._endpoints = dict(endpoints)
        self._ca_file = ca_file
        self._built: dict[tuple[int, str], _Built] = {}
        self._retiring: dict[_Built, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def get(self, app: App, vendor: str) -> VendorAdapter | None:
        """The adapter for the app's credentials of `vendor`, None when it has none (or none
        that still pass the checks)."""
        key = (app.sdkappid, vendor)
        doc = push_config.stored_credentials(app, vendor)
        built = self._built.get(key)
        if built is not None and built.doc == doc:
            return built.adapter
        if built is not None:
            del self._built[key]
            self._retire(built)
        credentials = push_config.credentials_from(vendor, doc) if doc is not None else None
        if doc is None or credentials is None:
            return None
        client = client_trusting(vendor, credentials, self._ca_file) if self._ca_file else None
        built = _Built(
            dict(doc), make_adapter(vendor, credentials, self._endpoints, client), client
        )
        self._built[key] = built
        return built.adapter

    def _retire(self, built: _Built) -> None:
        loop = asyncio.get_running_loop()
        self._retiring[built] = loop.call_later(RETIRE_AFTER_S, self._close_retired, built)

    def _close_retired(self, built: _Built) -> None:
        del self._retiring[built]
        task = asyncio.get_running_loop().create_task(built.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every adapter, the retiring ones too."""
        for handle in self._retiring.values():
            handle.cancel()
        every = [*self._built.values(), *self._retiring]
        self._built.clear()
        self._retiring.clear()
        for built in every:
            await built.close()
        if self._closing:
            await asyncio.gather(*self._closing)
