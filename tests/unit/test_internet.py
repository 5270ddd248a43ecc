"""Internet values as a user sees them: addresses in the asked scope, valid names and URLs."""

import ipaddress
import re
import string
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from faker.providers.internet import Provider as FakerInternet
from faker.providers.internet.ja_JP import Provider as JaJpInternet
from faker.providers.person.ja_JP import Provider as JaJpPerson

from tests.unit.making import made_column

PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
DOMAIN = r"[a-z0-9]+(-[a-z0-9]+)?\.[a-z]+"


def values(field: dict[str, Any], rows: int = 3000, locale: str = "en_US") -> list[Any]:
    drawn: list[Any] = made_column(field, rows=rows, seed=3, locale=locale).to_pylist()
    return drawn


def test_public_ipv4_addresses_are_global_unicast() -> None:
    for text in values({"type": "ipv4", "scope": "public"}, rows=20_000):
        address = ipaddress.IPv4Address(text)
        assert address.is_global and not address.is_multicast and not address.is_reserved, text


def test_private_ipv4_addresses_fall_in_the_rfc_1918_blocks() -> None:
    drawn = [ipaddress.IPv4Address(t) for t in values({"type": "ipv4", "scope": "private"})]
    assert all(a.is_private and any(a in net for net in PRIVATE) for a in drawn)
    # Drawn in proportion to block size: 10/8 dominates, yet all three blocks turn up.
    assert {next(n for n in PRIVATE if a in n) for a in drawn} == set(PRIVATE)


def test_any_ipv4_is_dotted_quad_and_unique_public_never_repeats() -> None:
    assert all(str(ipaddress.IPv4Address(t)) == t for t in values({"type": "ipv4"}))
    drawn = values({"type": "ipv4", "scope": "public", "unique": True}, rows=200_000)
    assert len(set(drawn)) == 200_000
    assert all(ipaddress.IPv4Address(t).is_global for t in drawn[::97])


def test_ipv6_is_canonical_global_unicast() -> None:
    for text in values({"type": "ipv6"}):
        address = ipaddress.IPv6Address(text)
        assert str(address) == text
        assert address in ipaddress.IPv6Network("2000::/3")


def test_mac_addresses_are_unicast_and_unique_when_asked() -> None:
    for text in values({"type": "mac_address"}):
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", text)
        assert int(text[:2], 16) % 2 == 0
    drawn = values({"type": "mac_address", "unique": True}, rows=200_000)
    assert len(set(drawn)) == 200_000


def test_ports_stay_in_their_range() -> None:
    assert all(49152 <= p <= 65535 for p in values({"type": "port", "range": "dynamic"}))
    well_known = values({"type": "port", "range": "well_known", "unique": True}, rows=1023)
    assert sorted(well_known) == list(range(1, 1024))


def test_japanese_domains_use_romanised_surnames_and_japanese_tlds() -> None:
    surnames = {n.lower() for n in JaJpPerson.last_romanized_names}
    drawn = values({"type": "domain_name"}, locale="ja_JP")
    for domain in drawn:
        assert re.fullmatch(DOMAIN, domain)
        name, tld = domain.rsplit(".", 1)
        assert set(name.split("-")) <= surnames and tld in JaJpInternet.tlds
    assert any(d.endswith(".jp") for d in drawn)


def test_hostnames_and_urls_are_well_formed() -> None:
    prefixes = "|".join(FakerInternet.hostname_prefixes)
    for host in values({"type": "hostname"}):
        assert re.fullmatch(rf"({prefixes})-\d\d\.{DOMAIN}", host)
    for url in values({"type": "url"}, locale="ja_JP"):
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"}
        assert re.fullmatch(rf"(www\.)?{DOMAIN}", parts.netloc)
        assert parts.path.startswith("/")


def test_user_agents_are_varied_browser_strings() -> None:
    drawn = values({"type": "user_agent"})
    assert all(ua.startswith(("Mozilla/5.0 (", "Opera/")) for ua in drawn)
    assert len(set(drawn)) > 2000
    browsers = {
        b for ua in drawn for b in ("Chrome", "Firefox", "Safari", "MSIE", "Opera") if b in ua
    }
    assert len(browsers) == 5


def test_http_methods_and_status_codes_look_like_server_logs() -> None:
    methods = Counter(values({"type": "http_method"}))
    assert set(methods) <= set(FakerInternet.http_methods)
    assert methods.most_common(1)[0][0] == "GET"
    codes = Counter(values({"type": "http_status_code"}))
    assert set(codes) <= set(FakerInternet.http_assigned_codes)
    assert codes.most_common(1)[0][0] == 200 and 404 in codes


@pytest.mark.parametrize("locale", ["en_US", "ja_JP", "de_DE"])
def test_slugs_are_lowercase_ascii_words_joined_by_hyphens(locale: str) -> None:
    drawn = values({"type": "slug", "words": 4}, locale=locale)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+){3}", s) for s in drawn)


def test_passwords_have_the_length_and_every_chosen_class() -> None:
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "!@#$%^&*()_+"]
    for password in values({"type": "password", "length": 4}):
        assert len(password) == 4
        assert all(any(c in chars for c in password) for chars in classes)
    field = {"type": "password", "length": 20, "uppercase": False, "symbols": False}
    for password in values(field):
        assert re.fullmatch(r"[a-z0-9]{20}", password)
        assert any(c.isdigit() for c in password) and any(c.isalpha() for c in password)
