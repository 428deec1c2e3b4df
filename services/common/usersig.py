"""UserSig v2, byte-compatible with Tencent's `tls-sig-api-v2`.

- sig = base64(HMAC-SHA256(key, the lines TLS.identifier, TLS.sdkappid, TLS.time and
  TLS.expire, each "name:value\\n"));
- usersig = urlsafe(base64(zlib(json of TLS.ver, TLS.identifier, TLS.sdkappid, TLS.expire,
  TLS.time and TLS.sig))), where urlsafe maps + -> *, / -> -, = -> _.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.errors import ErrorCode, TidingsError

DEFAULT_EXPIRE_S = 180 * 86400
# A real UserSig is a few hundred characters (a user buffer adds its base64). The bounds are
# checked before any work: login frames and REST query strings come from unauthenticated
# callers, and an unbounded inflate lets one small frame allocate megabytes on the event loop.
MAX_USERSIG_CHARS = 4096
MAX_INFLATED_BYTES = 4096
_TO_URLSAFE = str.maketrans("+/=", "*-_")
_FROM_URLSAFE = str.maketrans("*-_", "+/=")


def _hmac(
    key: str, identifier: str, sdkappid: int, now: int, expire: int, userbuf: str | None = None
) -> str:
    content = (
        f"TLS.identifier:{identifier}\n"
        f"TLS.sdkappid:{sdkappid}\n"
        f"TLS.time:{now}\n"
        f"TLS.expire:{expire}\n"
    )
    if userbuf is not None:
        content += f"TLS.userbuf:{userbuf}\n"
    digest = hmac.new(key.encode(), content.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign(
    sdkappid: int,
    key: str,
    identifier: str,
    expire: int = DEFAULT_EXPIRE_S,
    now: int | None = None,
) -> str:
    t = int(time.time()) if now is None else now
    doc = {
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": sdkappid,
        "TLS.expire": expire,
        "TLS.time": t,
        "TLS.sig": _hmac(key, identifier, sdkappid, t, expire),
    }
    raw = zlib.compress(json.dumps(doc, separators=(",", ":")).encode())
    return base64.b64encode(raw).decode().translate(_TO_URLSAFE)


@dataclass(frozen=True, slots=True)
class SigClaims:
    identifier: str
    sdkappid: int
    time: int
    expire: int
    # Base64 of Tencent's optional user buffer; it is part of the signed text when present.
    userbuf: str | None = None


def _inflate(raw: bytes) -> bytes:
    """The zlib stream `raw`, refused (zlib.error) when it would inflate past the bound or is
    cut short."""
    inflater = zlib.decompressobj()
    doc = inflater.decompress(raw, MAX_INFLATED_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise zlib.error(f"not a complete zlib stream of at most {MAX_INFLATED_BYTES} bytes")
    return doc


def decode(usersig: str) -> tuple[SigClaims, str]:
    """Parse a UserSig without checking it: its claims and its signature."""
    if not usersig:
        raise TidingsError(ErrorCode.SIG_EMPTY)
    if len(usersig) > MAX_USERSIG_CHARS:
        raise TidingsError(
            ErrorCode.SIG_UNPARSABLE, f"usersig is longer than {MAX_USERSIG_CHARS} characters"
        )
    try:
        raw = base64.b64decode(usersig.translate(_FROM_URLSAFE), validate=False)
        doc = json.loads(_inflate(raw))
        claims = SigClaims(
            identifier=str(doc["TLS.identifier"]),
            sdkappid=int(doc["TLS.sdkappid"]),
            time=int(doc["TLS.time"]),
            expire=int(doc["TLS.expire"]),
            userbuf=doc.get("TLS.userbuf"),
        )
        return claims, str(doc["TLS.sig"])
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise TidingsError(ErrorCode.SIG_UNPARSABLE, f"usersig cannot be parsed: {exc}") from exc


def verify(
    usersig: str,
    sdkappid: int,
    identifier: str,
    keys: Iterable[str],
    now: int | None = None,
) -> SigClaims:
    """Check a UserSig against the app's valid keys (current, and a rotated one in grace)."""
    claims, sig = decode(usersig)
    if claims.sdkappid != sdkappid:
        raise TidingsError(ErrorCode.SIG_SDKAPPID_MISMATCH)
    if claims.identifier != identifier:
        raise TidingsError(ErrorCode.SIG_IDENTIFIER_MISMATCH)
    if not any(
        hmac.compare_digest(
            sig,
            _hmac(
                key,
                claims.identifier,
                claims.sdkappid,
                claims.time,
                claims.expire,
                claims.userbuf,
            ),
        )
        for key in keys
    ):
        raise TidingsError(ErrorCode.SIG_WRONG_KEY)
    t = int(time.time()) if now is None else now
    if claims.time + claims.expire < t:
        raise TidingsError(ErrorCode.SIG_EXPIRED)
    return claims
