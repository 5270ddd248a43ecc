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


def address_refusal(address: IpAddress, allowed: tuple[IpNetwork, ...]) -> str | None:
    """Why a webhook may not be sent to `address`; None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address in network for network in allowed):
        return None
    if address.is_global and not address.is_multicast:
        return None
    if address.is_unspecified:  # 0.0.0.0 and :: reach this very host
        kind = "an unspecified"
    elif address.is_loopback:
        kind = "a loopback"
    elif address.is_link_local:
        kind = "a link-local"
    elif address.is_private:
        kind = "a private"
    elif address.is_multicast:
        kind = "a multicast"
    else:
        kind = "a reserved"
    return (
        f"{address} is {kind} address; webhooks go only to public addresses"
        " (WEBHOOK_ALLOWED_NETWORKS lists any exceptions)"
    )


def url_refusal(url: str) -> str | None:
    """Why `url` cannot take webhooks, judged from the URL alone; None when it may."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters long"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
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
