"""LOG_LEVEL, LOG_FORMAT and the choice of trace exporter, as an operator sets them."""

from __future__ import annotations

import pytest

from core.settings import AssistantSettings, ObservabilitySettings, SettingsError


def test_defaults_are_json_logs_at_info_and_no_traces() -> None:
    settings = ObservabilitySettings.from_env({})
    assert (settings.log_level, settings.log_format, settings.traces_exporter) == (
        "INFO",
        "json",
        None,
    )


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
    ],
)
def test_traces_follow_opentelemetry_s_own_variables(
    env: dict[str, str], exporter: str | None
) -> None:
    assert ObservabilitySettings.from_env(env).traces_exporter == exporter


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        ObservabilitySettings.from_env(env)


def test_the_anthropic_key_is_kept_out_of_the_settings_repr() -> None:
    settings = AssistantSettings.from_env({"ANTHROPIC_API_KEY": "sk-ant-secret"})
    assert settings.api_key == "sk-ant-secret"
    assert "sk-ant-secret" not in repr(settings)
