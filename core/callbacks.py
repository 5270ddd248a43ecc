"""Where webhooks may go: public addresses only, unless a network is allowed by a setting.

Shared by the API, which refuses a URL it can already judge, and the worker, which judges the
address it is about to connect to.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from core.settings import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048


# IPv6 forms that carry an IPv4 address inside: the IPv4 address is where they lead.
_IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)


def forbidden_kind(address: IpAddress, allowed: tuple[IpNetwork, ...]) -> str | None:
    """What kind of address webhooks may not go to `address` is ("a loopback", "a private"…);
    None when they may."""
    if isinstance(address, ipaddress.IPv6Address) and not (
        address.is_loopback or address.is_unspecified
    ):
        inner = _carried_ipv4(address)
        if inner is not None:
            if any(address in network for network in allowed):
                return None
            kind = forbidden_kind(inner, allowed)
            return None if kind is None else f"{kind} (IPv4 {inner} inside)"
    if any(address in network for network in allowed):
        return None
    if address.is_global and not address.is_multicast:
        return None
    if address.is_unspecified:  # 0.0.0.0 and :: reach this very host
        return "an unspecified"
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_private:
        return "a private"
    if address.is_multicast:
        return "a multicast"
    return "a reserved"


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _IPV4_CARRIERS):
        return ipaddress.IPv4Address(address.packed[-4:])
    return None


def address_refusal(address: IpAddress, allowed: tuple[IpNetwork, ...]) -> str | None:
    """Why a webhook may not be sent to `address`; None when it may."""
    kind = forbidden_kind(address, allowed)
    if kind is None:
        return None
    return f"{address} is {kind} address; {ONLY_PUBLIC}"


ONLY_PUBLIC = "webhooks go only to public addresses (WEBHOOK_ALLOWED_NETWORKS lists any exceptions)"


def url_refusal(url: str) -> str | None:
    """Why `url` cannot take webhooks, judged from the URL alone; None when it may."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters long"
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        return "has an invalid host name (an empty label, or one over 63 characters)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password; the signature authenticates us"
    if parts.fragment:
        return "must not have a #fragment"
    if port == 0:
        return "must not use port 0"
    return None


def literal_address(host: str) -> IpAddress | None:
    """The address a URL's host names directly (an IP literal), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
