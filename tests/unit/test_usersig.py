import pytest
import TLSSigAPIv2

from services.common import usersig
from services.common.errors import ErrorCode, TidingsError

APP = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"


def test_verifies_a_sig_made_by_tencents_package() -> None:
    sig = TLSSigAPIv2.TLSSigAPIv2(APP, KEY).gen_sig("alice", 3600)
    claims = usersig.verify(sig, APP, "alice", [KEY])
    assert claims.identifier == "alice" and claims.expire == 3600


def test_tencents_package_and_ours_agree_on_the_hmac() -> None:
    api = TLSSigAPIv2.TLSSigAPIv2(APP, KEY)
    theirs = api._TLSSigAPIv2__hmacsha256("bob", 1_700_000_000, 600, None)
    ours = usersig._hmac(KEY, "bob", APP, 1_700_000_000, 600)
    assert theirs.decode() == ours


def test_verifies_tencents_sig_with_userbuf() -> None:
    sig = TLSSigAPIv2.TLSSigAPIv2(APP, KEY).gen_sig_with_userbuf("gina", 3600, b"room-42")
    assert usersig.verify(sig, APP, "gina", [KEY]).userbuf is not None


def test_our_sig_decodes_like_tencents() -> None:
    sig = usersig.sign(APP, KEY, "carol", expire=60, now=1_700_000_000)
    claims, _ = usersig.decode(sig)
    assert claims == usersig.SigClaims("carol", APP, 1_700_000_000, 60)
    usersig.verify(sig, APP, "carol", [KEY], now=1_700_000_030)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda s: usersig.verify(s, APP, "dave", [KEY], now=10**10), ErrorCode.SIG_EXPIRED),
        (lambda s: usersig.verify(s, APP, "dave", ["0" * 64]), ErrorCode.SIG_WRONG_KEY),
        (lambda s: usersig.verify(s, APP, "erin", [KEY]), ErrorCode.SIG_IDENTIFIER_MISMATCH),
        (lambda s: usersig.verify(s, APP + 1, "dave", [KEY]), ErrorCode.SIG_SDKAPPID_MISMATCH),
        (lambda s: usersig.verify("garbage!", APP, "dave", [KEY]), ErrorCode.SIG_UNPARSABLE),
        (lambda s: usersig.verify("", APP, "dave", [KEY]), ErrorCode.SIG_EMPTY),
    ],
)
def test_refusals_carry_tencents_codes(mutate, code) -> None:  # type: ignore[no-untyped-def]
    sig = usersig.sign(APP, KEY, "dave", expire=600)
    with pytest.raises(TidingsError) as err:
        mutate(sig)
    assert err.value.code == code


def test_a_rotated_key_in_grace_still_verifies() -> None:
    old = usersig.sign(APP, KEY, "frank")
    usersig.verify(old, APP, "frank", ["f" * 64, KEY])
