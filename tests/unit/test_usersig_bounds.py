"""UserSig decoding is bounded: a sig that would inflate to megabytes (a zlib bomb sent by an
unauthenticated login) is refused with 70003 before it allocates, and a very long one before it
is even decoded."""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
import zlib

import pytest
import TLSSigAPIv2

from services.common import usersig
from services.common.errors import ErrorCode, TidingsError

APP = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
BOMB_BYTES = 5 * 1024 * 1024 // 2


def urlsafe(raw: bytes) -> str:
    return base64.b64encode(raw).decode().translate(str.maketrans("+/=", "*-_"))


def bomb(inflated: int) -> str:
    """A UserSig-shaped string: a JSON document padded with spaces to `inflated` bytes."""
    doc = json.dumps({"TLS.identifier": "x", "TLS.sdkappid": APP}).encode()
    return urlsafe(zlib.compress(doc + b" " * (inflated - len(doc)), 9))


def refusal(sig: str) -> TidingsError:
    with pytest.raises(TidingsError) as err:
        usersig.decode(sig)
    return err.value


def test_a_sig_that_inflates_to_megabytes_is_refused_quickly_without_allocating() -> None:
    sig = bomb(BOMB_BYTES)
    # Small enough to pass the length bound: the inflate bound is what refuses it.
    assert len(sig) <= usersig.MAX_USERSIG_CHARS
    tracemalloc.start()
    try:
        started = time.perf_counter()
        err = refusal(sig)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.code == ErrorCode.SIG_UNPARSABLE
    assert elapsed < 0.25
    assert peak < 256 * 1024


def test_a_sig_longer_than_the_bound_is_refused_before_decoding() -> None:
    err = refusal("A" * (usersig.MAX_USERSIG_CHARS + 1))
    assert err.code == ErrorCode.SIG_UNPARSABLE
    assert str(usersig.MAX_USERSIG_CHARS) in err.info


def test_a_cut_short_stream_is_refused() -> None:
    whole = base64.b64decode(usersig.sign(APP, KEY, "amy").translate(str.maketrans("*-_", "+/=")))
    assert refusal(urlsafe(whole[:-6])).code == ErrorCode.SIG_UNPARSABLE


def test_a_document_just_under_the_inflate_bound_still_decodes() -> None:
    # Tencent's user buffer is the one part of a sig that can be long.
    api = TLSSigAPIv2.TLSSigAPIv2(APP, KEY)
    sig = api.gen_sig_with_userbuf("gina", 3600, b"r" * 2000)
    claims = usersig.verify(sig, APP, "gina", [KEY])
    assert claims.userbuf is not None and len(claims.userbuf) > 2000
