"""Metrics settings: the worker page is off until a port is given, and bad values are named."""

from __future__ import annotations

import pytest

from core.settings import Settings, SettingsError

KEYS = {"LINK_SIGNING_KEYS": "1:first-secret-0123456789"}


def test_worker_metrics_are_off_until_a_port_is_set() -> None:
    assert Settings.from_env(KEYS).metrics.worker_port is None
    metrics = Settings.from_env(KEYS | {"WORKER_METRICS_PORT": "9191"}).metrics
    assert metrics.worker_port == 9191 and metrics.worker_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"METRICS_REFRESH_SECONDS": "0"}, "METRICS_REFRESH_SECONDS"),
        ({"METRICS_REFRESH_SECONDS": "often"}, "METRICS_REFRESH_SECONDS"),
        ({"WORKER_METRICS_PORT": "ninety"}, "WORKER_METRICS_PORT"),
    ],
)
def test_a_bad_metrics_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(KEYS | env)
