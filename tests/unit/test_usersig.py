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


NOW = 1_700_000_000
OLD_KEY = "0" * 64


@pytest.mark.parametrize(
    ("sig", "user", "code", "words"),
    [
        (usersig.sign(APP, KEY, "amy", 600, NOW), "bo", ErrorCode.SIG_IDENTIFIER_MISMATCH, "'amy'"),
        (
            usersig.sign(APP + 1, KEY, "amy", 600, NOW),
            "amy",
            ErrorCode.SIG_SDKAPPID_MISMATCH,
            "1400000002",
        ),
        (
            usersig.sign(APP, "f" * 64, "amy", 600, NOW),
            "amy",
            ErrorCode.SIG_WRONG_KEY,
            "another key",
        ),
        (usersig.sign(APP, KEY, "amy", 60, NOW - 61), "amy", ErrorCode.SIG_EXPIRED, "24 hours"),
        ("not-a-sig", "amy", ErrorCode.SIG_UNPARSABLE, "whole UserSig"),
        ("", "amy", ErrorCode.SIG_EMPTY, "paste"),
    ],
)
def test_check_says_why_a_usersig_fails_and_what_to_do(
    sig: str, user: str, code: ErrorCode, words: str
) -> None:
    result = usersig.check(sig, APP, user, [KEY, OLD_KEY], NOW)
    assert (result.valid, result.error_code) == (False, code)
    assert result.reason and words in result.fix
    assert result.expired == (code == ErrorCode.SIG_EXPIRED)
    assert (result.claims is None) == (code in (ErrorCode.SIG_UNPARSABLE, ErrorCode.SIG_EMPTY))


def test_check_of_a_valid_usersig_gives_its_claims_and_accepts_a_key_in_grace() -> None:
    result = usersig.check(
        usersig.sign(APP, OLD_KEY, "amy", 600, NOW - 10), APP, "amy", [KEY, OLD_KEY], NOW
    )
    assert (result.valid, result.error_code, result.expired) == (True, 0, False)
    assert result.claims == usersig.SigClaims("amy", APP, NOW - 10, 600)
    assert result.expires_at == NOW + 590
    expired = usersig.check(usersig.sign(APP, KEY, "amy", 60, NOW - 61), APP, "amy", [KEY], NOW)
    assert expired.reason == "usersig expired at 2023-11-14 22:13:19 UTC"
