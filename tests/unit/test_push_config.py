"""An app's push credentials and templates (push_config.py): the checks, the stored form, the
redacted views (no secret in any of them), templates and their preview. No I/O."""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
from typing import Any, get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from services.common import push_config, push_templates
from services.common.push_config import PushConfigError, Sample
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
from services.common.push_templates import TemplateError
from services.common.store.ports import App, AppKey
from services.common.store.push_devices import VENDORS
from services.gateway.admin.push import Vendor

# ---- realistic fake credentials -------------------------------------------------------------


def pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def p8_key(curve: ec.EllipticCurve | None = None) -> str:
    """An APNs signing key as Apple hands it out: EC P-256, PKCS#8 PEM."""
    return pem_key(ec.generate_private_key(curve or ec.SECP256R1()))


def provider_certificate(expires_in_days: int = 365) -> tuple[str, str]:
    """A self-signed stand-in for an APNs provider certificate, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.chat")]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now + datetime.timedelta(days=expires_in_days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key(key)


def service_account(key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    """A Firebase service-account key file, every field of Google's."""
    private_key = pem_key(key or rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return {
        "type": "service_account",
        "project_id": "chat-example-4f2a1",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_key,
        "client_email": "firebase-adminsdk-x1y2z@chat-example-4f2a1.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/x",
        "universe_domain": "googleapis.com",
    }


@dataclasses.dataclass
class Fake:
    """One vendor's credential fields, and which of them are secrets."""

    vendor: str
    fields: dict[str, Any]
    secret_fields: tuple[str, ...]

    @property
    def secrets(self) -> list[str]:
        return [self.fields[name] for name in self.secret_fields]


def fake_credentials() -> list[Fake]:
    """Credentials for each vendor, as its console hands them out (APNs twice: token and
    certificate auth)."""
    cert_pem, key_pem = provider_certificate()
    return [
        Fake(
            "apns",
            {
                "team_id": "ABCDE12345",
                "key_id": "KEY1234567",
                "private_key_pem": p8_key(),
                "bundle_id": "com.example.chat",
            },
            ("private_key_pem",),
        ),
        Fake(
            "apns",
            {"cert_pem": cert_pem, "key_pem": key_pem, "bundle_id": "com.example.chat"},
            ("key_pem",),
        ),
        Fake("fcm", service_account(), ("private_key",)),
        Fake(
            "huawei",
            {"app_id": "104123457", "client_secret": secrets.token_hex(32)},
            ("client_secret",),
        ),
        Fake(
            "xiaomi",
            {"app_secret": secrets.token_urlsafe(18), "package_name": "com.example.chat"},
            ("app_secret",),
        ),
        Fake(
            "oppo",
            {"app_key": secrets.token_hex(16), "master_secret": secrets.token_hex(16)},
            ("master_secret",),
        ),
        Fake(
            "vivo",
            {
                "app_id": "105123456",
                "app_key": secrets.token_hex(16),
                "app_secret": secrets.token_hex(18),
            },
            ("app_key", "app_secret"),
        ),
        Fake("meizu", {"app_id": "110123", "app_secret": secrets.token_hex(16)}, ("app_secret",)),
    ]


def leaked(text: str, secret: str) -> list[str]:
    """The pieces of `secret` beyond its first four characters (what a redacted view shows)
    that appear in `text`: the whole secret, and every 12 characters of a PEM's body."""
    if "-----BEGIN" not in secret:
        return [secret[4:]] if secret[4:] in text else []
    body = "".join(line for line in secret.splitlines() if not line.startswith("-----"))
    pieces = [body[i : i + 12] for i in range(4, len(body) - 12, 12)]
    return [p for p in [secret.strip(), *pieces] if p in text]


def new_app(**settings: Any) -> App:
    return App(1400000001, "test", "Standard", [AppKey("k")], settings=dict(settings))


# ---- credentials --------------------------------------------------------------------------


@pytest.mark.parametrize("fake", fake_credentials(), ids=lambda f: f"{f.vendor}-{len(f.fields)}")
@pytest.mark.parametrize("sandbox", [False, True])
def test_credentials_of_each_vendor_are_stored_and_shown_redacted(
    fake: Fake, sandbox: bool
) -> None:
    app = new_app(other={"kept": True})
    answered = push_config.set_credentials(app, fake.vendor, fake.fields, sandbox)

    every = push_config.credentials_view(app)
    assert answered == push_config.credential_view(app, fake.vendor) == every[fake.vendor]
    assert answered["sandbox"] is sandbox
    shown = [answered, every]
    text = json.dumps(shown)
    for secret in fake.secrets:
        assert leaked(text, secret) == []
    assert app.settings["other"] == {"kept": True}
    stored = app.settings["push"]["credentials"][fake.vendor]  # type: ignore[index]
    assert stored["sandbox"] is sandbox

    [(vendor, credentials)] = push_config.credentials_of(app).items()
    assert vendor == fake.vendor
    assert credentials == push_config.parse_credentials(fake.vendor, fake.fields, sandbox)
    # The flag reaches the credentials where the vendor has a sandbox.
    if isinstance(credentials, ApnsTokenCredentials | ApnsCertificateCredentials | VivoCredentials):
        assert credentials.sandbox is sandbox


def test_each_vendor_gets_its_own_credentials_class() -> None:
    app = new_app()
    for fake in fake_credentials():
        push_config.set_credentials(app, fake.vendor, fake.fields, False)
    found = push_config.credentials_of(app)
    # The second APNs set replaced the first: one set per vendor.
    assert {v: type(c) for v, c in found.items()} == {
        "apns": ApnsCertificateCredentials,
        "fcm": FcmCredentials,
        "huawei": HuaweiCredentials,
        "xiaomi": XiaomiCredentials,
        "oppo": OppoCredentials,
        "vivo": VivoCredentials,
        "meizu": MeizuCredentials,
    }
    assert found["apns"].redacted()["certificate_subject"] == (
        "CN=Apple Push Services: com.example.chat"
    )


def test_a_service_account_is_taken_as_the_key_file_text() -> None:
    account = service_account()
    credentials = push_config.parse_credentials("fcm", json.dumps(account), False)
    assert credentials == FcmCredentials.from_service_account(account)


def test_a_change_makes_a_new_settings_section() -> None:
    """The CLI saves only when App.settings compares different from a shallow copy."""
    app = new_app()
    fake = fake_credentials()[3]
    push_config.set_credentials(app, fake.vendor, fake.fields, False)
    before = dict(app.settings)
    push_config.delete_credentials(app, fake.vendor)
    assert app.settings != before
    assert push_config.credentials_of(app) == {}


def test_removing_credentials_the_app_lacks_is_not_found() -> None:
    with pytest.raises(PushConfigError) as caught:
        push_config.delete_credentials(new_app(), "fcm")
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "the app has no fcm credentials",
    )
    with pytest.raises(PushConfigError, match="no huawei credentials"):
        push_config.credential_view(new_app(), "huawei")


def _apns_token(**changes: Any) -> dict[str, Any]:
    fields = {
        "team_id": "ABCDE12345",
        "key_id": "KEY1234567",
        "private_key_pem": p8_key(),
        "bundle_id": "com.example.chat",
    }
    return {k: v for k, v in {**fields, **changes}.items() if v is not None}


def _bad_inputs() -> list[tuple[str, object, str]]:
    cert_pem, key_pem = provider_certificate()
    _, other_key = provider_certificate()
    expired_cert, expired_key = provider_certificate(expires_in_days=-1)
    account = service_account()
    return [
        ("pigeon", {}, "unknown push vendor 'pigeon'"),
        ("huawei", [], "credentials must be a JSON object"),
        ("huawei", "{not json", "credentials are not JSON"),
        ("huawei", "x" * 40_000, "at most 32768 characters"),
        ("huawei", {"app_id": "1"}, "client_secret must be a non-empty string"),
        ("huawei", {"app_id": "1", "client_secret": 7}, "client_secret must be a non-empty"),
        ("huawei", {"app_id": "1", "client_secret": "s" * 257}, "at most 256 characters"),
        ("huawei", {"app_id": "1", "client_secret": "a b"}, "must not contain spaces"),
        ("huawei", {"app_id": "1/2", "client_secret": "s"}, "app_id must be the app id"),
        ("huawei", {"app_id": "1", "client_secret": "s", "x": 1}, "unknown fields ['x']"),
        ("vivo", {"app_id": "1", "app_key": "k", "app_secret": "s", "sandbox": True}, "apart"),
        ("xiaomi", {"app_secret": "s", "package_name": "chat"}, "an Android package name"),
        ("apns", _apns_token(team_id="ABC"), "10-character team id"),
        ("apns", _apns_token(key_id=None), "key_id must be a non-empty string"),
        ("apns", _apns_token(bundle_id="chat"), "a bundle id"),
        ("apns", _apns_token(private_key_pem="-----BEGIN PRIVATE KEY-----\nAAAA\n"), ".p8"),
        ("apns", _apns_token(private_key_pem=p8_key(ec.SECP384R1())), "EC P-256"),
        ("apns", _apns_token(private_key_pem="k" * 20_000), "at most 16384 characters"),
        ("apns", _apns_token(auth="password"), 'auth must be "token"'),
        (
            "apns",
            {"cert_pem": "junk", "key_pem": key_pem, "bundle_id": "com.example.chat"},
            "cert_pem is not a PEM certificate",
        ),
        (
            "apns",
            {"cert_pem": cert_pem, "key_pem": other_key, "bundle_id": "com.example.chat"},
            "key_pem is not the key of the certificate",
        ),
        (
            "apns",
            {"cert_pem": expired_cert, "key_pem": expired_key, "bundle_id": "com.example.chat"},
            "the certificate expired on",
        ),
        ("fcm", {**account, "type": "authorized_user"}, "not a service-account key"),
        ("fcm", {**account, "private_key": ""}, "lacks private_key"),
        ("fcm", {**account, "private_key": "-----BEGIN PRIVATE KEY-----\nx\n"}, "not a PEM"),
        ("fcm", {**account, "private_key": p8_key()}, "must be an RSA key"),
        ("fcm", {**account, "token_uri": "http://oauth2.googleapis.com/token"}, "https://"),
        ("fcm", {**account, "client_email": "nobody"}, "e-mail address"),
        ("fcm", {**account, "project_id": "a/b"}, "a Firebase project id"),
    ]


@pytest.mark.parametrize(("vendor", "raw", "message"), _bad_inputs())
def test_bad_credentials_are_refused_with_a_clear_message(
    vendor: str, raw: object, message: str
) -> None:
    app = new_app()
    with pytest.raises(PushConfigError) as caught:
        push_config.set_credentials(app, vendor, raw, False)
    assert caught.value.code == "invalid_argument"
    assert message in caught.value.message
    assert app.settings == {}


def test_stored_credentials_that_no_longer_pass_are_left_out_and_say_why() -> None:
    expired_cert, expired_key = provider_certificate(expires_in_days=-1)
    apns = {
        "auth": "certificate",
        "cert_pem": expired_cert,
        "key_pem": expired_key,
        "bundle_id": "com.example.chat",
        "sandbox": True,
    }
    app = new_app(
        push={
            "credentials": {
                "meizu": {"app_id": "1", "app_secret": "secret-of-meizu", "sandbox": False},
                "oppo": {"app_key": "k", "sandbox": False},
                "apns": apns,
                "pigeon": {"sandbox": False},
            }
        }
    )
    assert list(push_config.credentials_of(app)) == ["meizu"]
    views = push_config.credentials_view(app)
    assert views["meizu"] == {"app_id": "1", "app_secret": "secr…", "sandbox": False}
    assert views["oppo"] == {
        "unusable": "master_secret must be a non-empty string",
        "sandbox": False,
    }
    assert str(views["apns"]["unusable"]).startswith("the certificate expired on")
    assert views["apns"]["sandbox"] is True
    assert "pigeon" not in views
    assert push_config.credential_view(app, "apns") == views["apns"]
    assert leaked(json.dumps(views), expired_key) == []


def test_the_admin_api_names_every_vendor() -> None:
    assert get_args(get_args(Vendor)[0]) == VENDORS


# ---- templates ------------------------------------------------------------------------------


def test_templates_are_stored_as_arrays_and_read_as_templates() -> None:
    app = new_app()
    view = push_config.set_template(
        app, "default", ["New message from ", "{$fromNickname}"], "{$msg}"
    )
    assert view == {
        "name": "default",
        "title": ["New message from ", "{$fromNickname}"],
        "content": ["{$msg}"],
    }
    push_config.set_template(app, "order7", ["Order {0}"], ["{0} shipped, {1}"])
    assert [t["name"] for t in push_config.templates_view(app)] == ["default", "order7"]
    assert push_config.template_view(app, "order7")["content"] == ["{0} shipped, {1}"]
    found = push_config.templates_of(app)
    assert found["default"] == push_templates.Template(
        "default", "New message from {$fromNickname}", "{$msg}"
    )
    # `default` applies by itself; a message may name another.
    assert push_templates.chosen(found, push_templates.TemplateArgs()) == found["default"]
    assert (
        push_templates.chosen(found, push_templates.TemplateArgs(name="order7")) == found["order7"]
    )

    push_config.set_template(app, "order7", ["Order"], ["replaced"])
    assert push_config.template_view(app, "order7")["content"] == ["replaced"]
    push_config.delete_template(app, "order7")
    assert list(push_config.templates_of(app)) == ["default"]
    with pytest.raises(PushConfigError, match="no push template named 'order7'"):
        push_config.delete_template(app, "order7")
    with pytest.raises(PushConfigError, match="no push template named 'order7'"):
        push_config.template_view(app, "order7")


@pytest.mark.parametrize(
    ("name", "title", "content", "message"),
    [
        ("has space", ["t"], ["c"], "1 to 64 letters"),
        ("x" * 65, ["t"], ["c"], "1 to 64 letters"),
        ("", ["t"], ["c"], "1 to 64 letters"),
        ("ok", [], ["c"], "title must be a string or a non-empty array"),
        ("ok", ["t"], [3], "every piece of content must be a string"),
        ("ok", ["t"] * 17, ["c"], "at most 16 pieces"),
        ("ok", ["t" * 1025], ["c"], "at most 1024 characters"),
        ("ok", [""], ["c"], "title must not be empty"),
    ],
)
def test_bad_templates_are_refused(name: str, title: object, content: object, message: str) -> None:
    app = new_app()
    with pytest.raises(PushConfigError, match=message) as caught:
        push_config.set_template(app, name, title, content)
    assert caught.value.code == "invalid_argument"
    assert app.settings == {}


def test_an_app_holds_at_most_max_templates() -> None:
    app = new_app()
    for i in range(push_config.MAX_TEMPLATES):
        push_config.set_template(app, f"t{i}", ["t"], ["c"])
    with pytest.raises(PushConfigError) as caught:
        push_config.set_template(app, "onemore", ["t"], ["c"])
    assert caught.value.code == "too_many_templates"
    # Replacing one is still allowed.
    push_config.set_template(app, "t0", ["new"], ["c"])
    assert len(push_config.templates_of(app)) == push_config.MAX_TEMPLATES


def test_preview_fills_every_placeholder() -> None:
    app = new_app()
    push_config.set_template(
        app,
        "welcome",
        ["{$dynamicFrom} to {0}"],
        ["{$fromNickname}: {$msg} ({0}, {1})", " {unknown}"],
    )
    sample = Sample(
        sender_id="alice",
        msg="hello {0}",
        from_nickname="Alice",
        group_nickname="Ally",
        title_args=["Tidings"],
        content_args=["first", "{$msg}"],
    )
    assert push_config.preview(app, "welcome", sample) == (
        "Ally to Tidings",
        "Alice: hello {0} (first, {$msg}) {unknown}",
    )
    remarked = dataclasses.replace(sample, remark="Mum")
    assert push_config.preview(app, "welcome", remarked)[0] == "Mum to Tidings"
    # No push nickname: the sender's id.
    plain = Sample(sender_id="alice", msg="hi", title_args=["x"], content_args=["a", "b"])
    assert push_config.preview(app, "welcome", plain) == (
        "alice to x",
        "alice: hi (a, b) {unknown}",
    )


@pytest.mark.parametrize(
    ("title_args", "content_args", "message"),
    [
        (None, ["a", "b"], "the title uses {0} but em_push_template.title_args has 0"),
        (["a"], ["a"], "the content uses {1} but em_push_template.content_args has 1"),
        ("a", ["a", "b"], "title_args must be an array of strings"),
        (["a"], ["a", 2], "content_args must be an array of strings"),
        (["a"] * 33, ["a", "b"], "at most 32 arguments"),
    ],
)
def test_preview_with_bad_arguments_says_why(
    title_args: object, content_args: object, message: str
) -> None:
    app = new_app()
    push_config.set_template(app, "order", ["Order {0}"], ["{0} {1}"])
    sample = Sample("bob", "m", title_args=title_args, content_args=content_args)
    with pytest.raises(TemplateError) as caught:
        push_config.preview(app, "order", sample)
    assert message in str(caught.value)


def test_preview_of_a_missing_template_is_not_found() -> None:
    with pytest.raises(PushConfigError) as caught:
        push_config.preview(new_app(), "nothere", Sample("bob", "m"))
    assert caught.value.code == "not_found"
