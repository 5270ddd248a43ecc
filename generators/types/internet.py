"""Internet: IP and MAC addresses, ports, domain and host names and URLs, from Faker's
internet data per locale.

Slugs, passwords, user agents and HTTP methods and status codes live in ``web_text.py``.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.decode import unidecode
from faker.providers.internet import Provider as BaseInternet

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.types.identifiers import scatter
from generators.vectors import WeightedTable, join_by_take

MIN_DOMAIN_WORDS = 20


class Lookup:
    """Several string lists in one Arrow array, each addressed by a base index."""

    def __init__(self, segments: Mapping[str, Sequence[str]]) -> None:
        self.base: dict[str, int] = {}
        combined: list[str] = []
        for key, strings in segments.items():
            self.base[key] = len(combined)
            combined.extend(strings)
        self.strings = pa.array(combined, type=pa.string())

    def join(self, parts: Iterable[tuple[str, np.ndarray]]) -> pa.Array:
        """Return per row the concatenation of ``segment[index]`` for each (segment, index)."""
        return join_by_take(
            self.strings, [indices.astype(np.int32) + self.base[key] for key, indices in parts]
        )


# --- IPv4 -------------------------------------------------------------------------------

# Everything that is not a public unicast address (RFC 6890 special-purpose blocks,
# multicast, reserved and broadcast).
NOT_PUBLIC = (
    *("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"),
    *("172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16"),
    *("198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"),
)
PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
Ipv4Scope = Literal["any", "public", "private"]


@dataclass(frozen=True)
class AddressRanges:
    """Disjoint address ranges, numbered ``0..capacity-1`` one range after another."""

    firsts: np.ndarray  # first address of each range (uint64)
    starts: np.ndarray  # value number of each range's first address (uint64)
    capacity: int

    @classmethod
    def of(cls, ranges: Sequence[tuple[int, int]]) -> AddressRanges:
        sizes = [last - first + 1 for first, last in ranges]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.uint64)
        return cls(np.array([f for f, _ in ranges], dtype=np.uint64), starts, sum(sizes))

    def addresses(self, numbers: np.ndarray) -> np.ndarray:
        """Return the address of each value number in ``[0, capacity)``."""
        where = np.searchsorted(self.starts, numbers, side="right") - 1
        addresses: np.ndarray = self.firsts[where] + (numbers - self.starts[where])
        return addresses


@functools.cache
def ipv4_ranges(scope: Ipv4Scope) -> AddressRanges:
    """Return the address ranges of ``scope`` (built once per process)."""
    if scope == "private":
        nets = [ipaddress.IPv4Network(n) for n in PRIVATE]
        return AddressRanges.of([(int(n[0]), int(n[-1])) for n in nets])
    if scope == "any":
        return AddressRanges.of([(0, 2**32 - 1)])
    ranges, next_free = [], 0
    for net in sorted(ipaddress.IPv4Network(n) for n in NOT_PUBLIC):
        if int(net[0]) > next_free:
            ranges.append((next_free, int(net[0]) - 1))
        next_free = max(next_free, int(net[-1]) + 1)
    if next_free < 2**32:
        ranges.append((next_free, 2**32 - 1))
    return AddressRanges.of(ranges)


@functools.cache
def octets() -> Lookup:
    return Lookup({"dotted": [f"{i}." for i in range(256)], "last": [str(i) for i in range(256)]})


def dotted_quads(addresses: np.ndarray) -> pa.Array:
    """Return IPv4 addresses (uint64 < 2**32) in dotted-quad notation."""
    return octets().join(
        ("dotted" if shift else "last", (addresses >> np.uint64(shift)) & np.uint64(255))
        for shift in (24, 16, 8, 0)
    )


class Ipv4Field(FieldOptions, tag="ipv4", frozen=True):
    scope: Ipv4Scope = "any"


def ipv4_column(options: Ipv4Field, block: BlockContext) -> pa.Array:
    ranges = ipv4_ranges(options.scope)
    numbers = block.rng.integers(0, ranges.capacity, size=block.size, dtype=np.uint64)
    return dotted_quads(ranges.addresses(numbers))


def ipv4_from_index(options: Ipv4Field, block: BlockContext, k: np.ndarray) -> pa.Array:
    ranges = ipv4_ranges(options.scope)
    return dotted_quads(ranges.addresses(scatter(k, ranges.capacity)))


# --- IPv6, MAC, ports -------------------------------------------------------------------


@functools.cache
def hex_groups() -> Lookup:
    return Lookup(
        {
            "first": [f"{i:x}:" for i in range(0x2000, 0x4000)],
            "middle": [f"{i:x}:" for i in range(0x10000)],
            "last": [f"{i:x}" for i in range(0x10000)],
            "octet": [f"{i:02x}:" for i in range(256)],
            "last_octet": [f"{i:02x}" for i in range(256)],
        }
    )


class Ipv6Field(FieldOptions, tag="ipv6", frozen=True):
    pass


def ipv6_column(options: Ipv6Field, block: BlockContext) -> pa.Array:
    # Global unicast (2000::/3). Groups are never zero, so the canonical RFC 5952 text is
    # just each group without leading zeros; no "::" is ever needed.
    rng = block.rng
    groups = rng.integers(1, 0x10000, size=(7, block.size), dtype=np.int32)
    first = rng.integers(0, 0x2000, size=block.size, dtype=np.int32)
    parts = [("first", first)] + [("middle", g) for g in groups[:6]] + [("last", groups[6])]
    return hex_groups().join(parts)


class MacAddressField(FieldOptions, tag="mac_address", frozen=True):
    pass


def mac_strings(numbers: np.ndarray) -> pa.Array:
    """Return unicast MAC addresses for 47-bit numbers (the multicast bit is kept clear)."""
    first = ((numbers >> np.uint64(40)) << np.uint64(1)) & np.uint64(0xFE)
    parts = [("octet", first)] + [
        ("octet" if shift else "last_octet", (numbers >> np.uint64(shift)) & np.uint64(255))
        for shift in (32, 24, 16, 8, 0)
    ]
    return hex_groups().join(parts)


def mac_column(options: MacAddressField, block: BlockContext) -> pa.Array:
    return mac_strings(block.rng.integers(0, 2**47, size=block.size, dtype=np.uint64))


def mac_from_index(options: MacAddressField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return mac_strings(scatter(k, 2**47))


PortRange = Literal["any", "well_known", "registered", "dynamic"]
PORT_RANGES: dict[str, tuple[int, int]] = {
    "any": (1, 65535),
    "well_known": (1, 1023),
    "registered": (1024, 49151),
    "dynamic": (49152, 65535),
}


class PortField(FieldOptions, tag="port", frozen=True):
    range: PortRange = "any"


def port_capacity(options: PortField, locale: str) -> int:
    low, high = PORT_RANGES[options.range]
    return high - low + 1


def port_column(options: PortField, block: BlockContext) -> pa.Array:
    low, high = PORT_RANGES[options.range]
    values = block.rng.integers(low, high, size=block.size, dtype=np.int64, endpoint=True)
    return pa.array(values, type=pa.int64())


def port_from_index(options: PortField, block: BlockContext, k: np.ndarray) -> pa.Array:
    low = PORT_RANGES[options.range][0]
    values = scatter(k, port_capacity(options, block.locale)).astype(np.int64) + low
    return pa.array(values, type=pa.int64())


# --- names and URLs ---------------------------------------------------------------------


def _ascii_words(words: Iterable[str]) -> list[str]:
    cleaned = (
        "".join(c for c in unidecode(w).lower() if c.isascii() and c.isalnum()) for w in words
    )
    return sorted({w for w in cleaned if len(w) >= 2})


@dataclass(frozen=True)
class WebNames:
    """One locale's pieces of host names and URLs, in one lookup."""

    lookup: Lookup
    tld_table: WeightedTable
    words: int


@functools.cache
def web_names(locale: str) -> WebNames:
    """Return the locale's domain words (ASCII last names), TLDs and URL pieces."""
    person = provider_class("person", locale)
    internet = provider_class("internet", locale)
    names: Iterable[str] = getattr(person, "last_romanized_names", None) or person.last_names
    words = _ascii_words(names)
    if len(words) < MIN_DOMAIN_WORDS:
        words = _ascii_words(provider_class("person", "en_US").last_names)
    # Faker repeats a TLD to weight it; keep one entry each with its count as weight.
    tld_counts: dict[str, int] = {}
    for tld in internet.tlds:
        tld_counts[tld] = tld_counts.get(tld, 0) + 1
    paths = list(BaseInternet.uri_paths)
    pages = [
        p + e for p in BaseInternet.uri_pages for e in dict.fromkeys(BaseInternet.uri_extensions)
    ]
    lookup = Lookup(
        {
            "word": words,
            "second": ["", *(f"-{w}" for w in words)],
            "tld": [f".{t}" for t in tld_counts],
            "scheme": ["https://", "http://", "https://www.", "http://www."],
            "path": ["/", *(f"/{p}/" for p in paths)],
            "page": ["", *pages],
            "prefix": [f"{p}-" for p in BaseInternet.hostname_prefixes],
            "number": [f"{i:02d}" for i in range(100)],
            "dot": ["."],
        }
    )
    return WebNames(lookup, WeightedTable.from_weights(list(tld_counts.values())), len(words))


def _domain_parts(
    names: WebNames, rng: np.random.Generator, size: int
) -> list[tuple[str, np.ndarray]]:
    word = rng.integers(0, names.words, size=size)
    # One domain in four joins two words ("sato-tanaka.jp").
    second = np.where(rng.random(size) < 0.25, rng.integers(1, names.words + 1, size=size), 0)
    return [("word", word), ("second", second), ("tld", names.tld_table.draw(rng, size))]


class DomainNameField(FieldOptions, tag="domain_name", frozen=True):
    pass


class HostnameField(FieldOptions, tag="hostname", frozen=True):
    pass


class UrlField(FieldOptions, tag="url", frozen=True):
    pass


def domain_name_column(options: DomainNameField, block: BlockContext) -> pa.Array:
    names = web_names(block.locale)
    return names.lookup.join(_domain_parts(names, block.rng, block.size))


def hostname_column(options: HostnameField, block: BlockContext) -> pa.Array:
    names = web_names(block.locale)
    rng, size = block.rng, block.size
    prefix = rng.integers(0, len(BaseInternet.hostname_prefixes), size=size)
    number = rng.integers(0, 100, size=size)
    dot = np.zeros(size, dtype=np.int32)
    parts: list[tuple[str, np.ndarray]] = [("prefix", prefix), ("number", number), ("dot", dot)]
    return names.lookup.join([*parts, *_domain_parts(names, rng, size)])


def url_column(options: UrlField, block: BlockContext) -> pa.Array:
    names = web_names(block.locale)
    rng, size = block.rng, block.size
    scheme = WeightedTable.from_weights([45, 5, 45, 5]).draw(rng, size)
    path = rng.integers(0, len(BaseInternet.uri_paths) + 1, size=size)
    pages = len(BaseInternet.uri_pages) * len(dict.fromkeys(BaseInternet.uri_extensions))
    # The site root ("/") has no page; deeper paths name one half of the time.
    page = np.where((path > 0) & (rng.random(size) < 0.5), rng.integers(1, pages + 1, size=size), 0)
    parts = [("scheme", scheme), *_domain_parts(names, rng, size), ("path", path), ("page", page)]
    return names.lookup.join(parts)


TYPES = (
    FieldType(
        Ipv4Field,
        "internet",
        "IPv4 address; scope any, public (no private, shared, loopback, link-local, "
        "documentation, multicast or reserved block) or private (10/8, 172.16/12, 192.168/16).",
        "203.45.117.9",
        ipv4_column,
        capacity=lambda options, locale: ipv4_ranges(options.scope).capacity,
        from_index=ipv4_from_index,
    ),
    FieldType(
        Ipv6Field,
        "internet",
        "Global unicast IPv6 address (2000::/3) in canonical lowercase text.",
        "2a03:5f1:91c0:7e2:4d1:be07:3a:c4f2",
        ipv6_column,
    ),
    FieldType(
        MacAddressField,
        "internet",
        "Unicast MAC address, lowercase hex pairs separated by colons.",
        "3c:22:fb:0e:91:5a",
        mac_column,
        capacity=lambda options, locale: 2**47,
        from_index=mac_from_index,
    ),
    FieldType(
        PortField,
        "internet",
        "TCP/UDP port in range any (1-65535), well_known, registered or dynamic.",
        "8443",
        port_column,
        capacity=port_capacity,
        from_index=port_from_index,
    ),
    FieldType(
        DomainNameField,
        "internet",
        "Domain name from the locale's surnames and top-level domains.",
        "tanaka.jp",
        domain_name_column,
    ),
    FieldType(
        HostnameField,
        "internet",
        "Host name such as web-07.tanaka.jp, with Faker's host prefixes.",
        "db-42.smith.com",
        hostname_column,
    ),
    FieldType(
        UrlField,
        "internet",
        "http(s) URL with an optional www., the locale's domains, and Faker's paths and pages.",
        "https://www.sato.jp/blog/index.html",
        url_column,
    ),
)
