"""Settings: defaults that work, and errors that name the variable to fix."""

from __future__ import annotations

import pytest

from core.settings import Settings, SettingsError

KEYS = {"LINK_SIGNING_KEYS": "1:first-secret-0123456789"}


def test_defaults_need_only_a_link_key() -> None:
    settings = Settings.from_env(KEYS)
    assert settings.links.ttl_seconds == 30 * 24 * 3600  # the cap; plans set less
    assert settings.storage.s3_bucket is None  # files on the local disk
    assert settings.storage.presign_seconds <= 300
    assert settings.api.public_url == "http://127.0.0.1:8000"
    assert settings.broker.url is None and settings.database.url is None


def test_broker_url_wins_over_redis_url() -> None:
    env = KEYS | {"REDIS_URL": "redis://r:6379/0", "BROKER_URL": "amqp://guest:guest@q:5672/"}
    assert Settings.from_env(env).broker.url == "amqp://guest:guest@q:5672/"
    assert Settings.from_env(KEYS | {"REDIS_URL": "redis://r/1"}).broker.url == "redis://r/1"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "LINK_SIGNING_KEYS"),
        ({"LINK_SIGNING_KEYS": "short"}, "LINK_SIGNING_KEYS"),
        ({"LINK_SIGNING_KEYS": "x:0123456789abcdefgh"}, "LINK_SIGNING_KEYS"),
        (KEYS | {"API_PORT": "eighty"}, "API_PORT"),
        (KEYS | {"JOB_LEASE_SECONDS": "soon"}, "JOB_LEASE_SECONDS"),
        (KEYS | {"S3_PART_SIZE": "1024"}, "S3_PART_SIZE"),
        (KEYS | {"PRESIGN_SECONDS": "3600"}, "PRESIGN_SECONDS"),
        (KEYS | {"SHARD_TARGET_BYTES": str(5 * 1024 * 1024)}, "SHARD_TARGET_BYTES"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)
