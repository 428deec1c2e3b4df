"""What an account id may be. Tencent's rule for a UserID is 1 to 32 bytes; Tidings also
refuses control characters, which no client can type and which would corrupt logs, CSV exports
and URLs. Every other character is allowed, `:` included: keys built from ids escape them
(services/common/keys.py), so the characters of an id never change which data it reaches."""

from __future__ import annotations

import unicodedata

MAX_USER_ID_BYTES = 32


def user_id_problem(value: object) -> str | None:
    """Why `value` cannot be a UserID, or None when it can."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value.encode()) > MAX_USER_ID_BYTES:
        return f"is longer than {MAX_USER_ID_BYTES} bytes"
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "holds a control character"
    return None
