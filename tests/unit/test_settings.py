"""Runtime settings from MONITOR_* environment variables."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from monitor.core.errors import ConfigurationError
from monitor.core.pack import DEFAULT_PACK
from monitor.io.settings import load_settings

PASSWORD = "s3cret"
REDIS_WITH_PASSWORD = f"redis://:{PASSWORD}@localhost:6379/0"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No MONITOR_* variable of the surrounding shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("MONITOR_"):
            monkeypatch.delenv(name)


def refused(monkeypatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    return str(info.value)


def test_defaults():
    settings = load_settings()
    assert settings.kafka_bootstrap == "localhost:9092"
    assert settings.redis_url.get_secret_value() == "redis://localhost:6379/0"
    assert settings.rules == DEFAULT_PACK
    assert settings.partitions == 4
    assert settings.app_id == "aml-monitor"


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("MONITOR_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9093")
    monkeypatch.setenv("MONITOR_PARTITIONS", "12")
    monkeypatch.setenv("MONITOR_APP_ID", "aml-test")
    monkeypatch.setenv("MONITOR_METRICS_PORT", "0")
    settings = load_settings()
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9093"
    assert settings.partitions == 12
    assert settings.app_id == "aml-test"
    assert settings.metrics_port == 0
    assert settings.events_topic == "aml-test-events"


@pytest.mark.parametrize(
    "bootstrap", ["localhost:9092", "kafka:9092,kafka2:9092", "10.0.0.1:9092", "[::1]:9092"]
)
def test_good_kafka_bootstrap(monkeypatch, bootstrap):
    monkeypatch.setenv("MONITOR_KAFKA_BOOTSTRAP", bootstrap)
    assert load_settings().kafka_bootstrap == bootstrap


@pytest.mark.parametrize(
    "bootstrap", ["nohostport", "localhost:", ":9092", "localhost:port", "a:1,nohostport", ""]
)
def test_bad_kafka_bootstrap_names_the_variable(monkeypatch, bootstrap):
    message = refused(monkeypatch, MONITOR_KAFKA_BOOTSTRAP=bootstrap)
    assert "MONITOR_KAFKA_BOOTSTRAP" in message


def test_nohostport_message(monkeypatch):
    message = refused(monkeypatch, MONITOR_KAFKA_BOOTSTRAP="nohostport")
    assert (
        message
        == "invalid settings: MONITOR_KAFKA_BOOTSTRAP: Value error, 'nohostport' is not host:port "
        "(port 1-65535)"
    )


def test_out_of_range_kafka_port_is_refused(monkeypatch):
    message = refused(monkeypatch, MONITOR_KAFKA_BOOTSTRAP="localhost:99999")
    assert "MONITOR_KAFKA_BOOTSTRAP" in message


@pytest.mark.parametrize("partitions", ["0", "-1", "abc", "10001"])
def test_bad_partitions_names_the_variable(monkeypatch, partitions):
    message = refused(monkeypatch, MONITOR_PARTITIONS=partitions)
    assert "MONITOR_PARTITIONS" in message


def test_zero_partitions_message(monkeypatch):
    message = refused(monkeypatch, MONITOR_PARTITIONS="0")
    assert message == (
        "invalid settings: MONITOR_PARTITIONS: Input should be greater than or equal to 1"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONITOR_METRICS_PORT", "70000"),
        ("MONITOR_APP_ID", "has space"),
        ("MONITOR_STORE", "cassandra"),
        ("MONITOR_LOG_LEVEL", "TRACE"),
        ("MONITOR_RULES", "/no/such/pack.yaml"),
        ("MONITOR_REDIS_URL", "http://localhost:6379"),
    ],
)
def test_other_bad_values_name_their_variable(monkeypatch, name, value):
    assert name in refused(monkeypatch, **{name: value})


def test_every_bad_variable_is_named(monkeypatch):
    message = refused(monkeypatch, MONITOR_PARTITIONS="0", MONITOR_KAFKA_BOOTSTRAP="nohostport")
    assert "MONITOR_PARTITIONS" in message
    assert "MONITOR_KAFKA_BOOTSTRAP" in message


def test_redis_password_is_kept(monkeypatch):
    monkeypatch.setenv("MONITOR_REDIS_URL", REDIS_WITH_PASSWORD)
    assert load_settings().redis_url.get_secret_value() == REDIS_WITH_PASSWORD


def test_repr_and_str_never_contain_the_redis_password(monkeypatch):
    monkeypatch.setenv("MONITOR_REDIS_URL", REDIS_WITH_PASSWORD)
    settings = load_settings()
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)
    assert PASSWORD not in f"{settings}"
    assert PASSWORD not in repr(settings.redis_url)
    assert PASSWORD not in str(settings.redis_url)


def test_dump_never_contains_the_redis_password(monkeypatch):
    monkeypatch.setenv("MONITOR_REDIS_URL", REDIS_WITH_PASSWORD)
    settings = load_settings()
    assert PASSWORD not in settings.model_dump_json()
    assert PASSWORD not in str(settings.model_dump())


def test_errors_never_contain_the_redis_password(monkeypatch):
    message = refused(monkeypatch, MONITOR_REDIS_URL=f"http://:{PASSWORD}@localhost:6379/0")
    assert "MONITOR_REDIS_URL" in message
    assert PASSWORD not in message


def test_errors_of_other_variables_never_contain_the_redis_password(monkeypatch):
    message = refused(monkeypatch, MONITOR_REDIS_URL=REDIS_WITH_PASSWORD, MONITOR_PARTITIONS="0")
    assert PASSWORD not in message


def test_settings_are_frozen():
    settings = load_settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.partitions = 8  # type: ignore[misc]


def test_two_kinds_on_one_topic_are_refused_naming_both_variables(monkeypatch):
    message = refused(
        monkeypatch, MONITOR_TOPIC_CASH="txn.all", MONITOR_TOPIC_REMITTANCES="txn.all"
    )
    assert (
        "MONITOR_TOPIC_CASH and MONITOR_TOPIC_REMITTANCES name the same topic 'txn.all'" in message
    )


def test_an_output_on_an_input_topic_is_refused(monkeypatch):
    assert "MONITOR_TOPIC_ALERTS" in refused(monkeypatch, MONITOR_TOPIC_ALERTS="txn.cash")
