"""Offline push through each of the seven vendors, end to end: a message sent on the stack to an
offline user with two devices of one vendor, one the vendor knows and one it no longer does,
reaches that vendor's stand-in (tests/push_server.py) once, authenticated the vendor's own way
and showing the message's title and body; the dead token is removed from the store; the push
service counts one sent and one token_invalid. And the stand-in refuses, as the vendor would,
an app that authenticates with credentials other than the ones it registered."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qsl

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.common import push_config
from services.embedded.stack import Stack
from services.push.adapters import make_adapter
from services.push.vendors.base import Notification, VendorError
from tests.conftest import AppUnderTest, eventually, new_app
from tests.e2e.test_push_delivery import BUNDLE, apns_key_pem, push_metrics
from tests.push_server import (
    ACCEPTED,
    REFUSED,
    TOKEN_INVALID,
    UNKNOWN_TOKEN_PREFIX,
    VENDORS,
    Delivery,
    Grant,
    LocalServer,
    vendor_endpoints,
    vendor_stand_in,
)

pytestmark = pytest.mark.stack

SENDER_NICK = "Nick sam"


def apple_id(prefix: str, tag: str) -> str:
    """A 10-character Apple team or key id, different per app."""
    return f"{prefix}{int(tag) % 10**9:09d}"


def rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def vendor_credentials(vendor: str, tag: str) -> dict[str, str]:
    """Valid fake credentials of `vendor` for one app (`tag` keeps apps apart), in the fields
    push_config.set_credentials takes (for FCM, the service-account key file)."""
    if vendor == "apns":
        return {
            "auth": "token",
            "team_id": apple_id("T", tag),
            "key_id": apple_id("K", tag),
            "private_key_pem": apns_key_pem(),
            "bundle_id": BUNDLE,
        }
    if vendor == "fcm":
        project = f"tidings-{tag}"
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": secrets.token_hex(20),
            "private_key": rsa_key_pem(),
            "client_email": f"push@{project}.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    if vendor == "huawei":
        return {"app_id": f"10{tag}", "client_secret": secrets.token_hex(32)}
    if vendor == "xiaomi":
        return {"app_secret": secrets.token_urlsafe(18), "package_name": f"com.example.t{tag}"}
    if vendor == "oppo":
        return {"app_key": secrets.token_hex(16), "master_secret": secrets.token_hex(16)}
    if vendor == "vivo":
        return {
            "app_id": tag,
            "app_key": secrets.token_hex(16),
            "app_secret": secrets.token_hex(16),
        }
    assert vendor == "meizu"
    return {"app_id": tag, "app_secret": secrets.token_hex(16)}


async def vendor_app(stack: Stack, vendor: str) -> tuple[AppUnderTest, dict[str, str], str]:
    """An app with `vendor` credentials, set before any service has read the app and registered
    with the stand-in: the app, the credentials, and the app's name at the stand-in."""
    app = await new_app(stack)
    credentials = vendor_credentials(vendor, str(app.sdkappid))
    async with app.stores() as s:
        record = await s.apps.get_app(app.sdkappid)
        assert record is not None
        push_config.set_credentials(record, vendor, credentials, sandbox=False)
        await s.apps.save_app(record)
    return app, credentials, vendor_stand_in.register(vendor, credentials)


def check_vendor_auth(vendor: str, credentials: dict[str, str], delivery: Delivery) -> None:
    """The send carried the vendor's own authentication, made from the app's credentials."""
    credential = delivery.credential
    if vendor == "apns":
        key = serialization.load_pem_private_key(credentials["private_key_pem"].encode(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        claims = jwt.decode(credential, key.public_key(), algorithms=["ES256"])
        assert claims["iss"] == credentials["team_id"]
        assert jwt.get_unverified_header(credential)["kid"] == credentials["key_id"]
    elif vendor == "xiaomi":
        assert credential == f"key={credentials['app_secret']}"
    elif vendor == "meizu":
        form = {k: v for k, v in parse_qsl(delivery.request.body.decode()) if k != "sign"}
        text = "".join(f"{k}={form[k]}" for k in sorted(form)) + credentials["app_secret"]
        assert credential == hashlib.md5(text.encode()).hexdigest()
    else:
        # An access token the vendor's auth endpoint gave this app, for what it sends.
        app, scope = {
            "fcm": ("client_email", "project_id"),
            "huawei": ("app_id", "app_id"),
            "oppo": ("app_key", "app_key"),
            "vivo": ("app_id", "app_id"),
        }[vendor]
        grant = Grant(vendor, credentials[app], True, credentials[scope])
        assert vendor_stand_in.grants[credential] == grant


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_message_reaches_the_vendor_and_the_token_it_no_longer_knows_is_dropped(
    stack: Stack, push_vendor: LocalServer, vendor: str
) -> None:
    assert push_vendor.responder is vendor_stand_in
    app, credentials, verified_as = await vendor_app(stack, vendor)
    live = f"{vendor}-{app.sdkappid}"
    dead = f"{UNKNOWN_TOKEN_PREFIX}{vendor}-{app.sdkappid}"
    await app.import_accounts("sam", "olga")
    await app.put_accounts("sam", nick_prefix="Nick ")
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "olga", vendor, live, 1)
        await s.push_devices.register(app.sdkappid, "olga", vendor, dead, 2)
    text = f"hello over {vendor}"
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "sam",
            "To_Account": "olga",
            "MsgRandom": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        },
    )
    assert sent["ErrorCode"] == 0, sent

    async def counted() -> dict[str, Any] | None:
        got = await push_metrics(stack, app.sdkappid)
        return got if sum(got["sent"].values()) >= 2 else None

    got = await eventually(counted, timeout=60)
    assert got["sent"] == {f"{vendor}:sent": 1, f"{vendor}:token_invalid": 1}

    deliveries = vendor_stand_in.deliveries_to(live, dead)
    assert sorted((d.token, d.outcome) for d in deliveries) == sorted(
        [(live, ACCEPTED), (dead, TOKEN_INVALID)]
    )
    (accepted,) = [d for d in deliveries if d.outcome == ACCEPTED]
    assert (accepted.title, accepted.body) == (SENDER_NICK, text)
    assert accepted.verified_app == verified_as
    check_vendor_auth(vendor, credentials, accepted)

    async with app.stores() as s:
        devices = await s.push_devices.devices(app.sdkappid, ["olga"])
    assert [d.token for d in devices["olga"]] == [live]


def other_credentials(vendor: str, credentials: dict[str, str]) -> dict[str, str]:
    """The same app, with a key or secret other than the one the vendor knows."""
    if vendor == "apns":
        return {**credentials, "private_key_pem": apns_key_pem()}
    if vendor == "fcm":
        return {**credentials, "private_key": rsa_key_pem()}
    field = {"huawei": "client_secret", "oppo": "master_secret"}.get(vendor, "app_secret")
    return {**credentials, field: secrets.token_hex(16)}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_stand_in_refuses_credentials_the_vendor_does_not_know(
    stack: Stack, push_vendor: LocalServer, vendor: str
) -> None:
    app, credentials, _ = await vendor_app(stack, vendor)
    wrong = push_config.parse_credentials(vendor, other_credentials(vendor, credentials), False)
    adapter = make_adapter(vendor, wrong, vendor_endpoints(push_vendor.url))
    token = f"{vendor}-refused-{app.sdkappid}"
    try:
        with pytest.raises(VendorError) as refused:
            await adapter.send(Notification(token=token, title="t", body="b", collapse_id="c"))
    finally:
        await adapter.close()
    assert not refused.value.token_invalid and not refused.value.retryable
    # Refused at the auth endpoint, or the send refused for its authentication.
    assert {d.outcome for d in vendor_stand_in.deliveries_to(token)} <= {REFUSED}
    if vendor in ("apns", "xiaomi", "meizu"):
        assert vendor_stand_in.deliveries_to(token), "no auth endpoint: the send itself refused"
