"""The SSRF guard: which addresses and URLs LaunchWatch refuses to fetch."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from handlers.errors import BlockedAddressError, FetchError
from handlers.netguard import (
    ALLOW_PRIVATE_HINT,
    AddressGuard,
    GuardedResolver,
    check_url,
    classify,
    port_allowed,
)
from tests.feedserver import StaticResolver

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "reserved"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.10", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "reserved"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fec0::1", "private"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::127.0.0.1", "loopback"),
    ("::8.8.8.8", "reserved"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("64:ff9b:1::1", "private"),
    ("2002:7f00:1::1", "loopback"),
    ("2002:a00:1::1", "private"),
    ("2002:c0a8:101::1", "private"),
    # Teredo: the client address is stored bit-inverted (here 10.0.0.1).
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),
    ("4000::1", "reserved"),
]

ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.169.0.1",
    "2606:4700::1",
    "2a00:1450:4001:81c::200e",
    "::ffff:93.184.216.34",
    "64:ff9b::808:808",
    "2002:5db8:d822::1",
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_refused_addresses(address: str, kind: str) -> None:
    guard = AddressGuard(allow_private=False)
    refusal = guard.refusal(address)
    assert refusal is not None
    assert kind in refusal.kind
    assert not guard.is_allowed(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_allowed(address: str) -> None:
    assert AddressGuard(allow_private=False).refusal(address) is None
    assert classify(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_allow_private_allows_everything(address: str, kind: str) -> None:
    assert AddressGuard(allow_private=True).is_allowed(address)


def test_embedded_address_is_named_in_the_description() -> None:
    refusal = AddressGuard().refusal("::ffff:10.0.0.1")
    assert refusal is not None
    assert refusal.describe() == "private address 10.0.0.1 (inside IPv4-mapped IPv6 ::ffff:a00:1)"


def test_allowed_networks_punch_a_narrow_hole() -> None:
    guard = AddressGuard(allowed_networks=["10.1.0.0/16", ipaddress.ip_network("fd00::/64")])
    assert guard.is_allowed("10.1.2.3")
    assert guard.is_allowed("::ffff:10.1.2.3")
    assert guard.is_allowed("fd00::5")
    assert not guard.is_allowed("10.2.0.1")
    assert not guard.is_allowed("127.0.0.1")


def test_refusal_of_a_non_address_string_raises_value_error() -> None:
    with pytest.raises(ValueError):
        AddressGuard().refusal("not-an-ip")


@pytest.mark.parametrize(
    ("port", "allowed"),
    [
        (80, True),
        (443, True),
        (8080, True),
        (1024, True),
        (65535, True),
        (22, False),
        (25, False),
        (0, False),
        (1023, False),
        (65536, False),
    ],
)
def test_port_policy(port: int, allowed: bool) -> None:
    assert port_allowed(port) is allowed


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/feed", "no scheme"),
        ("http:///feed", "no host"),
        ("https://user:hunter2@example.com/feed", "user name or password"),
        ("https://user@example.com/feed", "user name or password"),
        ("http://example.com:22/", "port 22 is not allowed"),
        ("http://example.com:99999/", "not"),
        ("http://127.0.0.1/", "loopback address 127.0.0.1"),
        ("http://10.0.0.1:8080/feed", "private address 10.0.0.1"),
        ("http://[::1]/", "loopback address ::1"),
        ("http://[::ffff:127.0.0.1]/", "loopback address 127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://localhost/", "loopback name"),
        ("http://LOCALHOST./", "loopback name"),
        ("http://api.localhost/", "loopback name"),
        ("http://2130706433/", "numeric form"),
        ("http://0x7f.1/", "numeric form"),
        ("http://127.1/", "numeric form"),
        ("http://exa mple.com/", "not a valid host name"),
        ("https://example.com/" + "a" * 3000, "longer than 2048"),
    ],
)
def test_check_url_rejections(url: str, reason: str) -> None:
    with pytest.raises(BlockedAddressError) as info:
        check_url(url)
    message = str(info.value)
    assert reason in message
    assert message.startswith("refused ")
    assert "\n" not in message
    assert "hunter2" not in message
    assert "hunter2" not in info.value.url
    assert isinstance(info.value, FetchError)


def test_private_refusal_explains_how_to_allow_it() -> None:
    with pytest.raises(BlockedAddressError) as info:
        check_url("http://10.0.0.1/feed")
    assert str(info.value) == (
        f"refused http://10.0.0.1/feed: host is private address 10.0.0.1 ({ALLOW_PRIVATE_HINT})"
    )
    assert info.value.host == "10.0.0.1"
    assert info.value.address == "10.0.0.1"


def test_scheme_refusal_has_no_private_hint() -> None:
    with pytest.raises(BlockedAddressError) as info:
        check_url("ftp://example.com/")
    assert ALLOW_PRIVATE_HINT not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/feed.xml",
        "http://example.com:8080/rss?x=1",
        "  https://news.example.org/atom  ",
        "https://93.184.216.34/feed",
        "https://[2606:4700::1]/feed",
        "https://bücher.example/feed",
    ],
)
def test_check_url_accepts_public_http_urls(url: str) -> None:
    assert check_url(url).startswith(("http://", "https://"))


def test_allow_private_accepts_private_hosts_but_keeps_other_rules() -> None:
    assert check_url("http://localhost:8080/feed", allow_private=True)
    assert check_url("http://10.0.0.1/feed", allow_private=True)
    with pytest.raises(BlockedAddressError):
        check_url("file:///etc/passwd", allow_private=True)
    with pytest.raises(BlockedAddressError):
        check_url("http://10.0.0.1:25/", allow_private=True)


# ------------------------------------------------------------------ resolver


async def test_resolver_passes_public_answers_through() -> None:
    inner = StaticResolver({"feeds.example": ["93.184.216.34", "2606:4700::1"]})
    resolver = GuardedResolver(AddressGuard(), inner)
    result = await resolver.resolve("feeds.example", 443)
    assert [r["host"] for r in result] == ["93.184.216.34", "2606:4700::1"]


async def test_resolver_refuses_if_any_answer_is_private() -> None:
    inner = StaticResolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    resolver = GuardedResolver(AddressGuard(), inner)
    with pytest.raises(BlockedAddressError) as info:
        await resolver.resolve("mixed.example", 80)
    assert "host resolves to private address 10.0.0.7" in str(info.value)
    assert ALLOW_PRIVATE_HINT in str(info.value)
    assert info.value.host == "mixed.example"
    assert info.value.address == "10.0.0.7"


async def test_resolver_refuses_metadata_behind_a_name() -> None:
    inner = StaticResolver({"metadata.example": ["169.254.169.254"]})
    with pytest.raises(BlockedAddressError, match=r"link-local address 169\.254\.169\.254"):
        await GuardedResolver(AddressGuard(), inner).resolve("metadata.example", 80)


async def test_resolver_vets_every_lookup_so_rebinding_fails() -> None:
    inner = StaticResolver({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    resolver = GuardedResolver(AddressGuard(), inner)
    assert await resolver.resolve("rebind.example", 80)
    with pytest.raises(BlockedAddressError, match=r"loopback address 127\.0\.0\.1"):
        await resolver.resolve("rebind.example", 80)


async def test_resolver_respects_allow_private_and_closes_inner() -> None:
    inner = StaticResolver({"lan.example": ["192.168.1.20"]})
    resolver = GuardedResolver(AddressGuard(allow_private=True), inner)
    assert (await resolver.resolve("lan.example", 80))[0]["host"] == "192.168.1.20"
    await resolver.close()
    assert inner.closed


async def test_resolver_with_real_dns_refuses_localhost() -> None:
    resolver = GuardedResolver(AddressGuard())
    try:
        with pytest.raises(BlockedAddressError, match="loopback"):
            await resolver.resolve("localhost", 80, socket.AF_UNSPEC)
    finally:
        await resolver.close()
