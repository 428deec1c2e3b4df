"""The push vendors' credentials, as an app keeps them: one frozen class per vendor (and two
for APNs, token or certificate authentication), each with `redacted()`, the only form in which
it ever leaves the server (a secret's first four characters). Pure data, shared by the push
service's adapters (services/push/vendors/), which use them, and by push_config, the admin API
and the CLI, which check and show them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def redact(secret: str) -> str:
    """A secret as credentials' `redacted()` shows it: its first 4 characters."""
    return f"{secret[:4]}…" if secret else ""


def pem_body(pem: str) -> str:
    """The base64 of a PEM block without its armour lines: what to show the first
    characters of (the armour is the same for every key)."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


@dataclass(frozen=True)
class ApnsTokenCredentials:
    """Token-based authentication: the .p8 signing key, its key id and the team id."""

    team_id: str
    key_id: str
    private_key_pem: str
    bundle_id: str
    sandbox: bool = False

    def redacted(self) -> dict[str, Any]:
        return {
            "auth": "token",
            "team_id": self.team_id,
            "key_id": self.key_id,
            "private_key_pem": redact(pem_body(self.private_key_pem)),
            "bundle_id": self.bundle_id,
            "sandbox": self.sandbox,
        }


@dataclass(frozen=True)
class ApnsCertificateCredentials:
    """Certificate-based authentication: the provider certificate and its private key."""

    cert_pem: str
    key_pem: str
    bundle_id: str
    sandbox: bool = False

    def redacted(self) -> dict[str, Any]:
        # The certificate is public; its subject and expiry are what an operator needs.
        try:
            cert = x509.load_pem_x509_certificate(self.cert_pem.encode())
            subject, expires = cert.subject.rfc4514_string(), cert.not_valid_after_utc.isoformat()
        except ValueError:
            subject, expires = "(not a PEM certificate)", ""
        return {
            "auth": "certificate",
            "certificate_subject": subject,
            "certificate_expires": expires,
            "key_pem": redact(pem_body(self.key_pem)),
            "bundle_id": self.bundle_id,
            "sandbox": self.sandbox,
        }


ApnsCredentials = ApnsTokenCredentials | ApnsCertificateCredentials


def load_signing_key(private_key_pem: str) -> ec.EllipticCurvePrivateKey:
    """The .p8 key (PKCS#8 PEM); ValueError unless it is an EC P-256 private key."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("an APNs signing key is an EC P-256 private key")
    return key


@dataclass(frozen=True, slots=True)
class FcmCredentials:
    """The fields of a Firebase service-account JSON key that sending needs."""

    project_id: str
    client_email: str
    private_key: str = field(repr=False)
    private_key_id: str
    token_uri: str = GOOGLE_TOKEN_URI

    @classmethod
    def from_service_account(cls, key: str | Mapping[str, Any]) -> FcmCredentials:
        """From the service-account key file's JSON text (or its parsed form)."""
        doc = json.loads(key) if isinstance(key, str) else key
        if doc.get("type", "service_account") != "service_account":
            raise ValueError(f"not a service-account key: type {doc.get('type')!r}")
        missing = [
            name
            for name in ("project_id", "client_email", "private_key", "private_key_id")
            if not isinstance(doc.get(name), str) or not doc[name]
        ]
        if missing:
            raise ValueError(f"service-account key lacks {', '.join(missing)}")
        return cls(
            project_id=doc["project_id"],
            client_email=doc["client_email"],
            private_key=doc["private_key"],
            private_key_id=doc["private_key_id"],
            token_uri=doc.get("token_uri") or GOOGLE_TOKEN_URI,
        )

    def redacted(self) -> dict[str, str]:
        return {
            "project_id": self.project_id,
            "client_email": self.client_email,
            "private_key_id": self.private_key_id,
            "private_key": redact(self.private_key),
            "token_uri": self.token_uri,
        }


@dataclass(frozen=True, slots=True)
class HuaweiCredentials:
    """The app's OAuth 2.0 client: its app id (client id) and client secret from AppGallery
    Connect."""

    app_id: str
    client_secret: str = field(repr=False)

    def redacted(self) -> dict[str, str]:
        return {"app_id": self.app_id, "client_secret": redact(self.client_secret)}


@dataclass(frozen=True, slots=True)
class MeizuCredentials:
    app_id: str
    app_secret: str

    def redacted(self) -> dict[str, str]:
        return {"app_id": self.app_id, "app_secret": redact(self.app_secret)}


@dataclass(frozen=True, slots=True)
class OppoCredentials:
    app_key: str
    master_secret: str

    def redacted(self) -> dict[str, str]:
        return {"app_key": self.app_key, "master_secret": redact(self.master_secret)}


@dataclass(frozen=True, slots=True)
class VivoCredentials:
    app_id: str
    app_key: str
    app_secret: str
    # vivo's test push (pushMode 1): only to the test devices entered on its console.
    sandbox: bool = False

    def redacted(self) -> dict[str, str | bool]:
        return {
            "app_id": self.app_id,
            "app_key": redact(self.app_key),
            "app_secret": redact(self.app_secret),
            "sandbox": self.sandbox,
        }


@dataclass(frozen=True, slots=True)
class XiaomiCredentials:
    app_secret: str
    package_name: str

    def redacted(self) -> dict[str, str]:
        return {"app_secret": redact(self.app_secret), "package_name": self.package_name}
