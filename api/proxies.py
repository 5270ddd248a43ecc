"""Who sent a request, and over what: the socket peer, or what a trusted proxy says it saw.

`X-Forwarded-For` and `X-Forwarded-Proto` are anyone's to write; they count only when the
request arrives from one of the configured trusted proxies (`TRUSTED_PROXIES`), and then only
the hops those proxies appended: the client is the right-most address that is not a proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.types import Scope

from core.settings import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_address(raw: str) -> IpAddress | None:
    """`203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`; None if none."""
    text = raw.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _header_values(scope: Scope, name: bytes) -> list[str]:
    """Every comma-separated item of every `name` header, in the order the hops added them."""
    items: list[str] = []
    for key, value in scope["headers"]:
        if key == name:
            items += value.decode("latin-1").split(",")
    return [item.strip() for item in items]


class TrustedProxies:
    """Reads client addresses and schemes, believing forwarded headers only from `networks`."""

    def __init__(self, networks: Iterable[IpNetwork]) -> None:
        self._networks = tuple(networks)

    def _trusted(self, address: IpAddress | None) -> bool:
        return address is not None and any(address in network for network in self._networks)

    def _peer(self, scope: Scope) -> IpAddress | None:
        client = scope.get("client")
        return _parse_address(client[0]) if client else None

    def client_address(self, scope: Scope) -> IpAddress | None:
        """The client's address: the peer's, or the right-most untrusted X-Forwarded-For hop
        when the peer is a trusted proxy. A hop that is not an address ends the walk: what lies
        left of it cannot be trusted, so the last proxy before it is taken as the client."""
        client = self._peer(scope)
        if not self._trusted(client):
            return client
        for hop in reversed(_header_values(scope, b"x-forwarded-for")):
            address = _parse_address(hop)
            if address is None:
                return client
            client = address
            if not self._trusted(address):
                return address
        return client

    def served_over_tls(self, scope: Scope) -> bool:
        """True when the client reached us over HTTPS: directly, or through a trusted proxy
        whose X-Forwarded-Proto (the last value, the one it wrote) says so."""
        if scope.get("scheme") == "https":
            return True
        if not self._networks or not self._trusted(self._peer(scope)):
            return False
        forwarded = _header_values(scope, b"x-forwarded-proto")
        return bool(forwarded) and forwarded[-1].lower() == "https"
