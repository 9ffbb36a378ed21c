"""SSRF guard: keep feed fetches away from the bot's own network.

Anyone who can run ``feeds add`` chooses URLs the bot will fetch, so without a
guard they could make it read cloud metadata (169.254.169.254), admin panels on
localhost or anything else on the private network, and see the result in
``feeds list`` errors.

Two checks cooperate:

* :meth:`AddressGuard.check_url` looks at the URL itself (scheme, credentials,
  port, literal IP hosts, ``localhost`` names). The fetcher calls it for every
  redirect hop; ``feeds add`` calls it up front.
* :class:`GuardedResolver` plugs into aiohttp's connector and vets every address
  a host name resolves to. The connector then connects to exactly the address
  that was vetted, so DNS rebinding (answer public first, private second) has no
  window to slip through, and every redirect hop goes through it too.

aiohttp skips the resolver for literal IP hosts, which is why literal IPs are
checked in :meth:`AddressGuard.check_url` instead.

The address tables are spelled out here (from the IANA special-purpose
registries) rather than taken from :mod:`ipaddress` ``is_global``/``is_private``,
whose answers changed between Python patch releases.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from handlers.errors import BlockedAddressError

__all__ = [
    "ALLOW_PRIVATE_HINT",
    "MAX_URL_LENGTH",
    "AddressGuard",
    "GuardedResolver",
    "IPAddress",
    "IPNetwork",
    "Refusal",
    "check_url",
    "classify",
    "port_allowed",
]

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_PRIVATE_HINT = "set LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS=true to allow"
MAX_URL_LENGTH = 2048

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Order matters only for the word used in messages: the first match names it.
_V4_BLOCKED: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/32"), "unspecified"),
    (_V4("0.0.0.0/8"), "reserved"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)

_V6_BLOCKED: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "private"),
    (_V6("100::/64"), "reserved"),
    (_V6("2001:2::/48"), "benchmarking"),
    (_V6("2001:10::/28"), "reserved"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "reserved"),
    (_V6("fc00::/7"), "private"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "private"),
    (_V6("ff00::/8"), "multicast"),
)

# Only 2000::/3 is handed out as global unicast; anything else that is not an
# IPv4 embedding handled below is refused as reserved.
_V6_GLOBAL_UNICAST = _V6("2000::/3")
_V6_COMPAT = _V6("::/96")
_V6_NAT64 = _V6("64:ff9b::/96")
_V6_TEREDO = _V6("2001::/32")

# Legacy numeric IPv4 spellings (2130706433, 0x7f.1, 127.1, 0177.0.0.1) that
# getaddrinfo happily maps onto an address; no real feed host looks like this.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)
_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$", re.I)
_LOCAL_NAMES = ("localhost", "localhost.", "localhost.localdomain")


def port_allowed(port: int) -> bool:
    """True for 80, 443 and unprivileged ports; other low ports are mail, SSH and friends."""
    return port in (80, 443) or 1024 <= port <= 65535


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one address is refused."""

    kind: str
    address: IPAddress
    via: str | None = None

    def describe(self) -> str:
        """Human wording, e.g. ``private address 10.0.0.1 (inside 6to4 2002:a00:1::1)``."""
        text = f"{self.kind} address {self.address}"
        return f"{text} (inside {self.via})" if self.via else text


def _classify_v4(ip: ipaddress.IPv4Address) -> str | None:
    for net, kind in _V4_BLOCKED:
        if ip in net:
            return kind
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[list[ipaddress.IPv4Address], str] | None:
    """IPv4 addresses an IPv6 address smuggles, with the name of the mechanism."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped], "IPv4-mapped IPv6"
    if ip in _V6_COMPAT:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)], "IPv4-compatible IPv6"
    if ip in _V6_NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)], "NAT64 IPv6"
    if ip.sixtofour is not None:
        return [ip.sixtofour], "6to4 IPv6"
    if ip.teredo is not None:
        server, client = ip.teredo
        return [client, server], "Teredo IPv6"
    return None


def classify(address: IPAddress) -> Refusal | None:
    """Return why ``address`` is not a public unicast address, or None if it is."""
    if isinstance(address, ipaddress.IPv4Address):
        kind = _classify_v4(address)
        return Refusal(kind, address) if kind else None
    ip = ipaddress.IPv6Address(int(address))  # drops any %scope
    for net, kind in _V6_BLOCKED:
        if ip in net:
            return Refusal(kind, ip)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        inner, mechanism = embedded
        for v4 in inner:
            kind = _classify_v4(v4)
            if kind:
                return Refusal(kind, v4, via=f"{mechanism} {ip}")
        if ip in _V6_COMPAT:
            # Deprecated since 2006; nothing legitimate resolves to one.
            return Refusal("reserved", ip)
        return None
    if ip not in _V6_GLOBAL_UNICAST:
        return Refusal("reserved", ip)
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _redact(url: URL) -> str:
    """The URL as safe to show: a password never goes into a message or a log."""
    if url.password is not None:
        url = url.with_password("***")
    return str(url)


class AddressGuard:
    """Decides which URLs and addresses LaunchWatch may fetch from.

    ``allow_private`` turns the address checks off (self-hosted feeds on a LAN);
    ``allowed_networks`` punches narrower holes, e.g. one internal feed server.
    Scheme, credential and port rules always apply.
    """

    def __init__(
        self,
        allow_private: bool = False,
        *,
        allowed_networks: Iterable[str | IPNetwork] = (),
    ) -> None:
        self.allow_private = allow_private
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) if isinstance(n, str) else n
            for n in allowed_networks
        )

    def __repr__(self) -> str:
        return (
            f"AddressGuard(allow_private={self.allow_private!r}, "
            f"allowed_networks={[str(n) for n in self.allowed_networks]!r})"
        )

    def _explicitly_allowed(self, refusal: Refusal, original: IPAddress) -> bool:
        return any(
            addr.version == net.version and addr in net
            for net in self.allowed_networks
            for addr in (original, refusal.address)
        )

    def refusal(self, address: str | IPAddress) -> Refusal | None:
        """Why this guard refuses ``address``, or None when it may be fetched.

        Raises ValueError when ``address`` is a string that is not an IP address.
        """
        ip = ipaddress.ip_address(address.strip("[]")) if isinstance(address, str) else address
        if self.allow_private:
            return None
        found = classify(ip)
        if found is None or self._explicitly_allowed(found, ip):
            return None
        return found

    def is_allowed(self, address: str | IPAddress) -> bool:
        """True when ``address`` may be connected to."""
        return self.refusal(address) is None

    def check_resolved(self, host: str, address: str, *, url: str | None = None) -> None:
        """Raise BlockedAddressError if ``host``'s resolved ``address`` is refused."""
        try:
            found = self.refusal(address)
        except ValueError:
            reason = f"host resolves to {address!r}, not an IP address"
            raise _blocked(url or host, reason) from None
        if found is not None:
            raise _blocked(
                url or host, f"host resolves to {found.describe()}", host, address, hint=True
            )

    def check_url(self, url: str | URL) -> URL:
        """Validate a URL before anything is fetched from it; return it parsed.

        Refuses non-http(s) schemes, URLs without a host, embedded credentials,
        ports other than 80, 443 and 1024-65535, legacy numeric IPv4 spellings,
        and (unless allowed) literal private IPs and ``localhost`` names. Host
        names are not resolved here; :class:`GuardedResolver` does that at
        connect time.
        """
        raw = url.strip() if isinstance(url, str) else str(url)
        shown = raw if len(raw) <= 200 else raw[:200] + "…"
        if len(raw) > MAX_URL_LENGTH:
            raise _blocked(shown, f"the URL is longer than {MAX_URL_LENGTH} characters")
        try:
            parsed = url if isinstance(url, URL) else URL(raw)
        except (ValueError, TypeError) as exc:
            raise _blocked(shown, f"not a valid URL ({exc})") from None
        if parsed.user is not None or parsed.password is not None:
            raise _blocked(_redact(parsed), "URLs with a user name or password are not allowed")
        shown = str(parsed)
        if not parsed.scheme:
            raise _blocked(shown, "the URL has no scheme (start it with https://)")
        if parsed.scheme not in ("http", "https"):
            raise _blocked(shown, f"only http and https feeds are supported, not {parsed.scheme}:")
        host = parsed.raw_host
        if not host:
            raise _blocked(shown, "the URL has no host")
        try:
            port = parsed.port
        except ValueError:
            raise _blocked(shown, "the port is not a number") from None
        if port is None or not port_allowed(port):
            raise _blocked(shown, f"port {port} is not allowed (use 80, 443 or 1024-65535)")
        ip = _parse_ip(host)
        if ip is None:
            self._check_name(shown, host)
        else:
            found = self.refusal(ip)
            if found is not None:
                raise _blocked(shown, f"host is {found.describe()}", host, str(ip), hint=True)
        return parsed

    def _check_name(self, shown: str, host: str) -> None:
        if _NUMERIC_HOST.match(host):
            raise _blocked(shown, f"host {host} is an unusual numeric form of an IP address", host)
        if "%" in host or not _HOST_CHARS.match(host):
            raise _blocked(shown, f"host {host!r} is not a valid host name", host)
        lowered = host.lower()
        if not self.allow_private and (
            lowered in _LOCAL_NAMES or lowered.rstrip(".").endswith(".localhost")
        ):
            raise _blocked(shown, f"host {host} is a loopback name", host, hint=True)


def _blocked(
    url: str,
    reason: str,
    host: str | None = None,
    address: str | None = None,
    *,
    hint: bool = False,
) -> BlockedAddressError:
    if hint:
        reason = f"{reason} ({ALLOW_PRIVATE_HINT})"
    return BlockedAddressError(
        f"refused {url}: {reason}", url=url, host=host, address=address, reason=reason
    )


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Pre-validate a feed URL (for ``feeds add``) and return it in canonical form.

    Raises BlockedAddressError with a one-line reason. No DNS lookup happens.
    """
    return canonical_feed_url(str(AddressGuard(allow_private).check_url(url)))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_feed_url(url: str) -> str:
    """The one spelling of a feed URL under which it is compared and stored.

    Surrounding whitespace, the fragment (never sent to the server), a default port,
    the host's case and a trailing dot on the host do not make another feed; an empty
    path is ``/``. The path and query are kept as they are: servers may tell them apart.
    A string that is not a URL comes back stripped.
    """
    raw = url.strip()
    try:
        parsed = URL(raw)
        scheme = parsed.scheme.lower()
        host = (parsed.raw_host or "").rstrip(".").lower()
        port = parsed.explicit_port
    except (ValueError, TypeError):
        return raw
    if not scheme or not host:
        return raw
    if ":" in host:
        host = f"[{host}]"  # IPv6, given encoded
    try:
        return str(
            URL.build(
                scheme=scheme,
                user=parsed.raw_user,
                password=parsed.raw_password,
                host=host,
                port=None if port == _DEFAULT_PORTS.get(scheme) else port,
                path=parsed.raw_path or "/",
                query_string=parsed.raw_query_string,
                encoded=True,
            )
        )
    except (ValueError, TypeError):
        return raw


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses hosts resolving to any forbidden address.

    One bad address refuses the whole host: round-robin answers would otherwise
    let a rebinding attacker win on the connector's next attempt.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        # DefaultResolver needs a running loop, so build the session in async code.
        self._inner: AbstractResolver = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` with the inner resolver and vet every answer."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                self._guard.check_resolved(host, result["host"], url=f"{host}:{port}")
            except BlockedAddressError:
                log.info("refused %s: resolves to %s", host, result["host"])
                raise
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()
