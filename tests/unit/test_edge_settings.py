"""The API's edge settings: rate limits, trusted proxies and CORS origins, and their errors."""

from __future__ import annotations

import ipaddress

import pytest

from core.settings import Settings, SettingsError

KEYS = {"LINK_SIGNING_KEYS": "1:first-secret-0123456789"}


def test_limits_are_on_and_count_in_the_broker_redis_by_default() -> None:
    edge = Settings.from_env(KEYS | {"REDIS_URL": "redis://r:6379/0"}).edge
    assert (edge.per_key_per_minute, edge.per_address_per_minute) == (600, 1200)
    assert edge.redis_url == "redis://r:6379/0"
    assert edge.trusted_proxies == ()
    assert edge.cors_allowed_origins == ()


def test_each_edge_setting_is_read() -> None:
    edge = Settings.from_env(
        KEYS
        | {
            "REDIS_URL": "redis://broker/0",
            "RATE_LIMIT_REDIS_URL": "redis://limits/1",
            "RATE_LIMIT_PER_KEY_PER_MINUTE": "0",
            "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "30",
            "TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32",
            "CORS_ALLOWED_ORIGINS": "https://app.example.com/, http://localhost:5173",
        }
    ).edge
    assert edge.redis_url == "redis://limits/1"
    assert (edge.per_key_per_minute, edge.per_address_per_minute) == (0, 30)
    assert edge.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert edge.cors_allowed_origins == ("https://app.example.com", "http://localhost:5173")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RATE_LIMIT_PER_KEY_PER_MINUTE": "-1"}, "RATE_LIMIT_PER_KEY_PER_MINUTE"),
        ({"RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "many"}, "RATE_LIMIT_PER_ADDRESS_PER_MINUTE"),
        ({"TRUSTED_PROXIES": "the load balancer"}, "TRUSTED_PROXIES"),
        ({"CORS_ALLOWED_ORIGINS": "app.example.com"}, "CORS_ALLOWED_ORIGINS"),
        ({"CORS_ALLOWED_ORIGINS": "https://app.example.com/login"}, "CORS_ALLOWED_ORIGINS"),
    ],
)
def test_a_bad_edge_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(KEYS | env)
