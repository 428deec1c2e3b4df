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
from datetime import UTC, datetime

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
    _check_claims(claims, sig, sdkappid, identifier, keys, now)
    return claims


def _check_claims(
    claims: SigClaims,
    sig: str,
    sdkappid: int,
    identifier: str,
    keys: Iterable[str],
    now: int | None,
) -> None:
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


@dataclass(frozen=True, slots=True)
class SigCheck:
    """What the console's verifier shows: the outcome `verify` reaches, and what to do."""

    valid: bool
    # 0 when valid, else the login error code (SIG_*).
    error_code: int
    reason: str
    fix: str
    # None when the UserSig cannot be read at all.
    claims: SigClaims | None
    expired: bool

    @property
    def expires_at(self) -> int | None:
        return None if self.claims is None else self.claims.time + self.claims.expire


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _advice(code: int, claims: SigClaims | None, sdkappid: int, identifier: str) -> str:
    user = claims.identifier if claims else ""
    match code:
        case ErrorCode.SIG_EMPTY:
            return "paste the UserSig to check"
        case ErrorCode.SIG_UNPARSABLE:
            return "copy the whole UserSig as it was issued, with nothing added or cut off"
        case ErrorCode.SIG_SDKAPPID_MISMATCH:
            return (
                f"it was issued for SDKAppID {claims.sdkappid if claims else '?'}: check it in "
                f"that app, or generate one in app {sdkappid}"
            )
        case ErrorCode.SIG_IDENTIFIER_MISMATCH:
            return (
                f"the UserID does not match the UserSig's UserID {user!r}: enter {user!r}, or "
                f"generate a UserSig for {identifier!r}"
            )
        case ErrorCode.SIG_WRONG_KEY:
            return (
                "it was signed with another key (another app's, or one rotated out): generate "
                "a new UserSig with the app's current key"
            )
        case _:
            return (
                "generate a new UserSig and log in again; give it a validity of at least 24 hours"
            )


def check(
    usersig: str,
    sdkappid: int,
    identifier: str,
    keys: Iterable[str],
    now: int | None = None,
) -> SigCheck:
    """`verify`'s outcome as data, with the UserSig's own claims when it can be read.
    `expired` is told whatever else is wrong with it."""
    t = int(time.time()) if now is None else now
    claims: SigClaims | None = None
    try:
        claims, sig = decode(usersig)
        _check_claims(claims, sig, sdkappid, identifier, keys, t)
    except TidingsError as err:
        reason = err.info
        if err.code == ErrorCode.SIG_EXPIRED and claims is not None:
            reason = f"usersig expired at {_utc(claims.time + claims.expire)}"
        return SigCheck(
            valid=False,
            error_code=int(err.code),
            reason=reason,
            fix=_advice(int(err.code), claims, sdkappid, identifier),
            claims=claims,
            expired=claims is not None and claims.time + claims.expire < t,
        )
    return SigCheck(valid=True, error_code=0, reason="", fix="", claims=claims, expired=False)
