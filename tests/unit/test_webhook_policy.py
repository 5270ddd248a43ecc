"""Where webhooks may go, and when a failed one is tried again."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random

import pytest

from core.callbacks import address_refusal, url_refusal
from workers.webhooks import parse_retry_after, retry_time

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
SCHEDULE = (5, 300, 1800)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),  # an IPv4 address in IPv6 clothing
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("224.0.0.1", "multicast"),
        ("fc00::1", "private"),
        # IPv6 forms that carry an IPv4 address inside lead where that address does.
        ("::127.0.0.1", "loopback"),
        ("::ffff:0:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::", "link-local"),
    ],
)
def test_non_public_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address), ())
    assert refusal is not None and kind in refusal


def test_public_and_allowed_addresses_pass() -> None:
    assert address_refusal(ipaddress.ip_address("93.184.215.14"), ()) is None
    assert address_refusal(ipaddress.ip_address("2606:4700::1111"), ()) is None
    assert address_refusal(ipaddress.ip_address("64:ff9b::5db8:d70e"), ()) is None  # NAT64
    allowed = (ipaddress.ip_network("127.0.0.1/32"),)
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.2"), allowed) is not None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "http"),
        ("https:///nohost", "host"),
        ("https://u:p@example.com/", "password"),
        ("https://example.com:99999/", "valid URL"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com/" + "a" * 3000, "2048"),
        ("http://exa\tmple.com/", "control"),
        ("http://example.com/a b", "spaces"),
        ("http://a..b.com/", "invalid host"),
        ("http://" + "a" * 64 + ".com/", "invalid host"),
    ],
)
def test_unusable_urls_say_why(url: str, reason: str) -> None:
    refusal = url_refusal(url)
    assert refusal is not None and reason in refusal


def test_a_good_url_passes() -> None:
    assert url_refusal("https://qa.example.jp:8443/hooks?x=1") is None


def test_retries_follow_the_schedule_with_jitter_then_stop() -> None:
    rng = random.Random(1)
    for step, seconds in enumerate(SCHEDULE):
        when = retry_time(step, SCHEDULE, NOW, rng)
        assert when is not None
        assert 0.9 * seconds <= (when - NOW).total_seconds() <= 1.1 * seconds
    assert retry_time(len(SCHEDULE), SCHEDULE, NOW, rng) is None


def test_retry_after_in_seconds_or_as_a_date_is_capped_at_a_day() -> None:
    assert parse_retry_after("120", NOW) == dt.timedelta(seconds=120)
    assert parse_retry_after("Sun, 29 Nov 2026 12:10:00 GMT", NOW) == dt.timedelta(minutes=10)
    assert parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", NOW) == dt.timedelta(0)
    assert parse_retry_after("999999", NOW) == dt.timedelta(hours=24)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
