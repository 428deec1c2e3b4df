"""An app's offline-push configuration, kept in App.settings["push"]: the vendors' credentials
and the push templates. Pure: no I/O. The admin API (/admin/apps/{id}/push) and the CLI
(`tidings push`) both change it through this module.

    App.settings["push"] = {
        "credentials": {vendor: {<the vendor's fields>, "sandbox": bool}},
        "templates": {name: {"title": [piece, ...], "content": [piece, ...]}},
    }

Credentials: one set per vendor per app, for the vendors of push_devices.VENDORS, checked
before they are stored (every field present and bounded, keys that load, a certificate that
matches its key and has not expired) and turned into the vendor adapter's own credentials
class. The fields, as each vendor's console hands them out:
- apns, token auth (a .p8 key): team_id and key_id (Apple's 10-character ids),
  private_key_pem (the .p8 file: an EC P-256 key), bundle_id;
- apns, certificate auth: cert_pem and key_pem (the provider certificate and its unencrypted
  key, PEM), bundle_id;
- fcm: the Firebase service-account key file as it is (type, project_id, private_key_id,
  private_key, client_email, token_uri; its other fields are ignored);
- huawei: app_id (the OAuth client id) and client_secret;
- xiaomi: app_secret and package_name;
- oppo: app_key and master_secret;
- vivo: app_id, app_key and app_secret;
- meizu: app_id and app_secret.
The `sandbox` flag is given apart from the fields and stored with them: APNs then uses its
sandbox endpoint and vivo sends test pushes (pushMode 1); the other vendors have no sandbox
(the flag is kept, for the operator's record). Secrets never leave in full: every view is the
credentials class's `redacted()`. Stored credentials that no longer pass the checks (a
certificate expired since) are not used, and their view says why (`unusable`).

Templates (Easemob's console): a name of 1 to 64 letters and digits, a title and a content,
each an array of pieces (a string is taken as one piece); `default` applies to every message
that names none. At most MAX_TEMPLATES per app.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common import push_credentials, push_templates
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
from services.common.push_templates import Sender, Template, TemplateError
from services.common.store.ports import App
from services.common.store.push_devices import VENDORS

SETTINGS_KEY = "push"

# Easemob documents no limit on an app's templates; 100 is more than a console shows at once.
MAX_TEMPLATES = 100
# Ids, app keys and secrets: the vendors' are 10 to 64 characters.
MAX_FIELD_CHARS = 256
# A PEM key or certificate (an RSA-4096 key is about 3.3 KB; a certificate with its chain more).
MAX_PEM_CHARS = 16 * 1024
# A whole service-account key file (about 2.4 KB).
MAX_SERVICE_ACCOUNT_CHARS = 32 * 1024

VendorCredentials: TypeAlias = (
    ApnsTokenCredentials
    | ApnsCertificateCredentials
    | FcmCredentials
    | HuaweiCredentials
    | XiaomiCredentials
    | OppoCredentials
    | VivoCredentials
    | MeizuCredentials
)

# Apple's team id and key id are 10 characters (upper-case letters and digits).
_APPLE_ID = re.compile(r"[A-Z0-9]{10}")
# A bundle id: letters, digits, hyphens and periods (an apns-topic may add .voip and such).
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_ANDROID_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
# What goes into a vendor's URL path (FCM project id, Huawei app id): no slash, no escape.
_PATH_SAFE = re.compile(r"[A-Za-z0-9._:-]+")


class PushConfigError(ValueError):
    """A refused change. `code`: invalid_argument, not_found or too_many_templates (the admin
    API's error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> PushConfigError:
    return PushConfigError("invalid_argument", message)


# ---- credentials: reading the fields ---------------------------------------------------------


def _text(fields: Mapping[str, object], name: str) -> str:
    """A required id or secret, stripped (copied keys often carry a newline)."""
    raw = fields.get(name)
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(f"{name} must be a non-empty string")
    value = raw.strip()
    if len(value) > MAX_FIELD_CHARS:
        raise _invalid(f"{name} must be at most {MAX_FIELD_CHARS} characters")
    if any(not c.isprintable() or c.isspace() for c in value):
        raise _invalid(f"{name} must not contain spaces or control characters")
    return value


def _pem(fields: Mapping[str, object], name: str) -> str:
    raw = fields.get(name)
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(f"{name} must be a non-empty PEM string")
    if len(raw) > MAX_PEM_CHARS:
        raise _invalid(f"{name} must be at most {MAX_PEM_CHARS} characters")
    return raw.strip() + "\n"


def _matching(fields: Mapping[str, object], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = _text(fields, name)
    if not pattern.fullmatch(value):
        raise _invalid(f"{name} must be {what}")
    return value


def _only(fields: Mapping[str, object], vendor: str, allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise _invalid(
            f"{vendor} credentials have unknown fields {unknown}; known: {sorted(allowed)}"
        )


def _apns(fields: Mapping[str, object], sandbox: bool) -> VendorCredentials:
    auth = fields.get("auth", "certificate" if "cert_pem" in fields else "token")
    bundle_id = _matching(fields, "bundle_id", _BUNDLE_ID, "a bundle id such as com.example.app")
    if auth == "token":
        _only(
            fields, "apns", frozenset({"auth", "team_id", "key_id", "private_key_pem", "bundle_id"})
        )
        private_key_pem = _pem(fields, "private_key_pem")
        try:
            push_credentials.load_signing_key(private_key_pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise _invalid(
                f"private_key_pem is not a usable APNs signing key (.p8): {exc}"
            ) from None
        return ApnsTokenCredentials(
            team_id=_matching(fields, "team_id", _APPLE_ID, "Apple's 10-character team id"),
            key_id=_matching(fields, "key_id", _APPLE_ID, "Apple's 10-character key id"),
            private_key_pem=private_key_pem,
            bundle_id=bundle_id,
            sandbox=sandbox,
        )
    if auth == "certificate":
        _only(fields, "apns", frozenset({"auth", "cert_pem", "key_pem", "bundle_id"}))
        cert_pem = _pem(fields, "cert_pem")
        key_pem = _pem(fields, "key_pem")
        _check_certificate(cert_pem, key_pem)
        return ApnsCertificateCredentials(cert_pem, key_pem, bundle_id, sandbox)
    raise _invalid('auth must be "token" (a .p8 key) or "certificate"')


def _check_certificate(cert_pem: str, key_pem: str) -> None:
    """The certificate loads, has not expired, and key_pem is its key."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise _invalid(f"cert_pem is not a PEM certificate: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _invalid(f"key_pem is not an unencrypted PEM private key: {exc}") from None
    spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise _invalid("key_pem is not the key of the certificate in cert_pem")
    if cert.not_valid_after_utc <= datetime.datetime.now(datetime.UTC):
        raise _invalid(f"the certificate expired on {cert.not_valid_after_utc.isoformat()}")


def _fcm(fields: Mapping[str, object], _: bool) -> VendorCredentials:
    try:
        parsed = FcmCredentials.from_service_account(fields)
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    values = {
        "project_id": parsed.project_id,
        "client_email": parsed.client_email,
        "private_key_id": parsed.private_key_id,
        "token_uri": parsed.token_uri,
    }
    credentials = FcmCredentials(
        project_id=_matching(values, "project_id", _PATH_SAFE, "a Firebase project id"),
        client_email=_text(values, "client_email"),
        private_key=_pem({"private_key": parsed.private_key}, "private_key"),
        private_key_id=_text(values, "private_key_id"),
        token_uri=_text(values, "token_uri"),
    )
    if "@" not in credentials.client_email:
        raise _invalid("client_email must be the service account's e-mail address")
    if not credentials.token_uri.startswith("https://"):
        # The signed assertion goes there: never in clear.
        raise _invalid("token_uri must be an https:// URL")
    try:
        key = serialization.load_pem_private_key(credentials.private_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _invalid(f"private_key is not a PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _invalid("private_key must be an RSA key (a service account signs RS256)")
    return credentials


def _huawei(fields: Mapping[str, object], _: bool) -> VendorCredentials:
    _only(fields, "huawei", frozenset({"app_id", "client_secret"}))
    return HuaweiCredentials(
        app_id=_matching(fields, "app_id", _PATH_SAFE, "the app id of AppGallery Connect"),
        client_secret=_text(fields, "client_secret"),
    )


def _xiaomi(fields: Mapping[str, object], _: bool) -> VendorCredentials:
    _only(fields, "xiaomi", frozenset({"app_secret", "package_name"}))
    return XiaomiCredentials(
        app_secret=_text(fields, "app_secret"),
        package_name=_matching(fields, "package_name", _ANDROID_PACKAGE, "an Android package name"),
    )


def _oppo(fields: Mapping[str, object], _: bool) -> VendorCredentials:
    _only(fields, "oppo", frozenset({"app_key", "master_secret"}))
    return OppoCredentials(
        app_key=_text(fields, "app_key"), master_secret=_text(fields, "master_secret")
    )


def _vivo(fields: Mapping[str, object], sandbox: bool) -> VendorCredentials:
    _only(fields, "vivo", frozenset({"app_id", "app_key", "app_secret"}))
    return VivoCredentials(
        app_id=_text(fields, "app_id"),
        app_key=_text(fields, "app_key"),
        app_secret=_text(fields, "app_secret"),
        sandbox=sandbox,
    )


def _meizu(fields: Mapping[str, object], _: bool) -> VendorCredentials:
    _only(fields, "meizu", frozenset({"app_id", "app_secret"}))
    return MeizuCredentials(app_id=_text(fields, "app_id"), app_secret=_text(fields, "app_secret"))


_PARSERS: dict[str, Callable[[Mapping[str, object], bool], VendorCredentials]] = {
    "apns": _apns,
    "fcm": _fcm,
    "huawei": _huawei,
    "xiaomi": _xiaomi,
    "oppo": _oppo,
    "vivo": _vivo,
    "meizu": _meizu,
}
assert set(_PARSERS) == set(VENDORS)


def _vendor(vendor: str) -> str:
    if vendor not in _PARSERS:
        raise _invalid(f"unknown push vendor {vendor!r}; known: {', '.join(VENDORS)}")
    return vendor


def _fields(raw: object) -> Mapping[str, object]:
    """The credential fields: an object, or its JSON text (a key file as it was read)."""
    if isinstance(raw, str):
        if len(raw) > MAX_SERVICE_ACCOUNT_CHARS:
            raise _invalid(f"credentials must be at most {MAX_SERVICE_ACCOUNT_CHARS} characters")
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise _invalid(f"credentials are not JSON: {exc}") from None
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise _invalid("credentials must be a JSON object")
    if "sandbox" in raw:
        raise _invalid("sandbox is not a credential field: it is given apart")
    return raw


def parse_credentials(vendor: str, raw: object, sandbox: bool) -> VendorCredentials:
    """A vendor's credentials from their fields (an object or its JSON text), checked."""
    return _PARSERS[_vendor(vendor)](_fields(raw), sandbox)


def _doc(credentials: VendorCredentials, sandbox: bool) -> dict[str, object]:
    """What is stored: the fields the credentials class holds, and the flag."""
    doc: dict[str, object] = dataclasses.asdict(credentials)
    if isinstance(credentials, ApnsTokenCredentials):
        doc["auth"] = "token"
    elif isinstance(credentials, ApnsCertificateCredentials):
        doc["auth"] = "certificate"
    return {**doc, "sandbox": sandbox}


# ---- credentials: reading and changing the app ---------------------------------------------


def _section(app: App) -> Mapping[str, object]:
    raw = app.settings.get(SETTINGS_KEY)
    return raw if isinstance(raw, Mapping) else {}


def _part(app: App, name: str) -> dict[str, Mapping[str, object]]:
    raw = _section(app).get(name)
    if not isinstance(raw, Mapping):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, Mapping)}


def _store(app: App, name: str, value: Mapping[str, object]) -> None:
    """A new section dict, never one changed in place: callers compare before and after."""
    app.settings[SETTINGS_KEY] = {**_section(app), name: dict(value)}


def stored_credentials(app: App, vendor: str) -> Mapping[str, object] | None:
    """The stored document of a vendor's credentials: what an adapter cache compares."""
    return _part(app, "credentials").get(vendor)


def _parse_stored(vendor: str, doc: Mapping[str, object]) -> VendorCredentials:
    fields = {k: v for k, v in doc.items() if k != "sandbox"}
    return parse_credentials(vendor, fields, doc.get("sandbox") is True)


def credentials_from(vendor: str, doc: Mapping[str, object]) -> VendorCredentials | None:
    """Stored credentials as the adapter's class; None when they no longer pass the checks
    (a certificate expired since, a check tightened): left out rather than failing sends."""
    try:
        return _parse_stored(vendor, doc)
    except PushConfigError:
        return None


def credentials_of(app: App) -> dict[str, VendorCredentials]:
    """Every vendor the app has usable credentials for."""
    found: dict[str, VendorCredentials] = {}
    for vendor, doc in _part(app, "credentials").items():
        credentials = credentials_from(vendor, doc)
        if credentials is not None:
            found[vendor] = credentials
    return found


def _view(vendor: str, doc: Mapping[str, object]) -> dict[str, object]:
    """Stored credentials redacted; ones that no longer pass the checks say why (the push
    service sends nothing with them)."""
    sandbox = doc.get("sandbox") is True
    try:
        credentials = _parse_stored(vendor, doc)
    except PushConfigError as err:
        return {"unusable": err.message, "sandbox": sandbox}
    return {**credentials.redacted(), "sandbox": sandbox}


def credential_view(app: App, vendor: str) -> dict[str, object]:
    """One vendor's credentials, redacted."""
    doc = stored_credentials(app, _vendor(vendor))
    if doc is None:
        raise PushConfigError("not_found", f"the app has no {vendor} credentials")
    return _view(vendor, doc)


def credentials_view(app: App) -> dict[str, dict[str, object]]:
    """Every vendor's credentials, redacted, by vendor."""
    stored = _part(app, "credentials")
    return {vendor: _view(vendor, stored[vendor]) for vendor in sorted(stored) if vendor in VENDORS}


def set_credentials(app: App, vendor: str, raw: object, sandbox: bool) -> dict[str, object]:
    """Check and store a vendor's credentials (replacing the app's earlier ones for that
    vendor); returns their redacted view."""
    credentials = parse_credentials(vendor, raw, sandbox)
    _store(app, "credentials", {**_part(app, "credentials"), vendor: _doc(credentials, sandbox)})
    return {**credentials.redacted(), "sandbox": sandbox}


def delete_credentials(app: App, vendor: str) -> None:
    stored = _part(app, "credentials")
    if _vendor(vendor) not in stored:
        raise PushConfigError("not_found", f"the app has no {vendor} credentials")
    _store(app, "credentials", {k: v for k, v in stored.items() if k != vendor})


# ---- templates ------------------------------------------------------------------------------


def _pieces(raw: object) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []


def _template(name: str, doc: Mapping[str, object]) -> Template:
    return push_templates.template_of(name, doc.get("title"), doc.get("content"))


def templates_of(app: App) -> dict[str, Template]:
    """The app's templates by name; a stored one that no longer passes the checks is left
    out."""
    found: dict[str, Template] = {}
    for name, doc in _part(app, "templates").items():
        try:
            found[name] = _template(name, doc)
        except TemplateError:
            continue
    return found


def _template_view(name: str, doc: Mapping[str, object]) -> dict[str, object]:
    return {
        "name": name,
        "title": _pieces(doc.get("title")),
        "content": _pieces(doc.get("content")),
    }


def templates_view(app: App) -> list[dict[str, object]]:
    usable = templates_of(app)
    stored = _part(app, "templates")
    return [_template_view(name, stored[name]) for name in sorted(usable)]


def template_view(app: App, name: str) -> dict[str, object]:
    doc = _part(app, "templates").get(name)
    if doc is None or name not in templates_of(app):
        raise PushConfigError("not_found", f"the app has no push template named {name!r}")
    return _template_view(name, doc)


def set_template(app: App, name: str, title: object, content: object) -> dict[str, object]:
    """Create or replace a template; returns its view."""
    try:
        push_templates.template_of(name, title, content)
    except TemplateError as exc:
        raise _invalid(str(exc)) from None
    stored = _part(app, "templates")
    if name not in stored and len(stored) >= MAX_TEMPLATES:
        raise PushConfigError(
            "too_many_templates",
            f"the app has {len(stored)} push templates, the most it may have; "
            "delete or change one instead",
        )
    doc = {"title": _pieces(title), "content": _pieces(content)}
    _store(app, "templates", {**stored, name: doc})
    return _template_view(name, doc)


def delete_template(app: App, name: str) -> None:
    stored = _part(app, "templates")
    if name not in stored:
        raise PushConfigError("not_found", f"the app has no push template named {name!r}")
    _store(app, "templates", {k: v for k, v in stored.items() if k != name})


@dataclass(frozen=True, slots=True)
class Sample:
    """A message to preview a template with."""

    sender_id: str
    msg: str
    from_nickname: str = ""
    remark: str = ""
    group_nickname: str = ""
    title_args: object = None
    content_args: object = None


def preview(app: App, name: str, sample: Sample) -> tuple[str, str]:
    """The title and content the template gives for the sample. TemplateError when the
    sample's arguments do not fit the template (the message the push service would log)."""
    template = templates_of(app).get(name)
    if template is None:
        raise PushConfigError("not_found", f"the app has no push template named {name!r}")
    args = push_templates.template_args(
        {
            "em_push_template": {
                "name": name,
                "title_args": sample.title_args,
                "content_args": sample.content_args,
            }
        }
    )
    sender = Sender(
        msg=sample.msg,
        # A sender without a push nickname is shown by its user id.
        from_nickname=sample.from_nickname or sample.sender_id,
        remark=sample.remark,
        group_nickname=sample.group_nickname,
    )
    return push_templates.render(template, sender, args)
