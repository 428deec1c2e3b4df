"""The SSRF guard reads an IP-literal host as the resolver will: numeric IPv4 forms (hex,
decimal, short, octal), IPv4-mapped IPv6, a trailing dot, upper-case hex and IDNA dots are the
address they name, refused at configuration time for Tencent-style callbacks and Easemob-style
rules alike. Names keep being checked after resolution, at send time."""

from __future__ import annotations

import ipaddress
import itertools
import socket

import pytest

from services.common.callback_config import canonical_url, check_url, host_address
from services.common.callback_rules import RuleError, parse_post_send, parse_pre_send

LOOPBACK_FORMS = [
    "http://0x7f000001/cb",
    "http://0X7F000001/cb",
    "http://2130706433/cb",
    "http://127.1/cb",
    "http://0177.0.0.1/cb",
    "http://0x7f.0.0.1/cb",
    "http://127.0.0.1./cb",
    "http://0x7f000001.:8080/cb",
    "http://[::ffff:127.0.0.1]/cb",
    "http://[::ffff:7f00:1]/cb",
    "http://[::FFFF:7F00:1]/cb",
    "http://127。0。0。1/cb",
    "http://user:pw@127.1:9000/cb",
]
OTHER_PRIVATE_FORMS = [
    "http://0xa9fea9fe/latest/meta-data",  # 169.254.169.254
    "http://2852039166/latest/meta-data",
    "http://169.254.43518/latest/meta-data",
    "http://10.1/cb",
    "http://012.0.0.1/cb",  # 10.0.0.1
    "http://0xc0.0xa8.1.1/cb",  # 192.168.1.1
    "http://[::ffff:a9fe:a9fe]/cb",
]


@pytest.mark.parametrize("url", LOOPBACK_FORMS + OTHER_PRIVATE_FORMS)
def test_numeric_forms_of_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="TIDINGS_CALLBACK_ALLOW_PRIVATE"):
        check_url(url, allow_private=False)
    # The operator may allow them; the URL is then stored as given.
    assert check_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", ["http://0/cb", "http://0x0/cb", "http://0.0/cb"])
def test_the_unspecified_address_is_never_allowed(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", LOOPBACK_FORMS)
def test_the_rules_urls_share_the_check(url: str) -> None:
    for parse in (parse_pre_send, parse_post_send):
        with pytest.raises(RuleError, match="TIDINGS_CALLBACK_ALLOW_PRIVATE"):
            parse({"name": "hook", "url": url}, False)


@pytest.mark.parametrize(
    "url",
    [
        "https://im.example.com/cb",
        "https://im.example.com./cb",
        "https://8.8.8.8/cb",
        "https://0x08080808/cb",
        "https://134744072/cb",
        "https://8.8.2056/cb",
        "https://[2001:4860:4860::8888]/cb",
        "https://[::ffff:8.8.8.8]/cb",
        "https://1.2.3.4.5/cb",  # not an address: a name, resolved and checked at send time
        "https://deadbeef/cb",
        "https://cafe.bad/cb",
    ],
)
def test_public_hosts_and_public_literals_still_pass(url: str) -> None:
    assert check_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("１２７.０.０.１", "127.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_host_address_reads_literals_like_the_resolver(host: str, address: str) -> None:
    assert host_address(host) == ipaddress.ip_address(address)


# Part spellings inet_aton takes or refuses: octal, hex, too big for their place, empty "0x".
PARTS = ["0", "00", "08", "0x", "0x7f", "0XFF", "0x100", "0177", "255", "256", "65536"]
WIDE = ["4294967295", "4294967296", "16777215", "16777216"]


def test_numeric_hosts_read_as_this_systems_inet_aton_reads_them() -> None:
    spellings = [
        ".".join(parts)
        for n in range(1, 6)
        for parts in itertools.product(PARTS + WIDE if n < 3 else PARTS, repeat=n)
        if n < 4 or len(set(parts)) < 3  # 4 and 5 parts: a sample, not all 11**5
    ]
    for host in spellings:
        try:
            expected = ipaddress.IPv4Address(socket.inet_aton(host.lower()))
        except OSError:
            expected = None
        assert host_address(host) == expected, host


@pytest.mark.parametrize(
    "host", ["example.com", "1.2.3.4.5", "08.0.0.1", "4294967296", "bücher.de"]
)
def test_names_are_not_literals(host: str) -> None:
    assert host_address(host) is None


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://0x7f000001/cb", "http://127.0.0.1/cb"),
        ("http://u:p@127.1:8080/cb?x=1", "http://u:p@127.0.0.1:8080/cb?x=1"),
        ("http://0177.0.0.1./a?b=c", "http://127.0.0.1/a?b=c"),
        ("https://8.8.8.8/cb", "https://8.8.8.8/cb"),
        ("http://[::ffff:7f00:1]:80/cb", "http://[::ffff:7f00:1]:80/cb"),
        ("https://im.example.com/cb", "https://im.example.com/cb"),
    ],
)
def test_canonical_url_writes_ipv4_literals_as_dotted_quads(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
