"""Runtime settings from `MONITOR_*` environment variables: typed, validated once, frozen."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.core.errors import ConfigurationError
from monitor.core.pack import DEFAULT_PACK

__all__ = ["Settings", "load_settings"]

_PREFIX = "MONITOR_"


class Settings(BaseSettings):
    """Everything the worker needs to run. Build it once with `load_settings()` and pass it in."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, frozen=True, extra="ignore")

    kafka_bootstrap: str = Field(default="localhost:9092", description="host:port[,host:port]")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle for the brokers")
    kafka_ssl_certfile: str | None = Field(default=None, description="client certificate (mTLS)")
    kafka_ssl_keyfile: str | None = None
    redis_url: SecretStr = Field(
        default=SecretStr("redis://localhost:6379/0"),
        description="redis:// or rediss:// URL, may carry a password",
    )
    rules: Path = Field(default=DEFAULT_PACK, description="rule pack YAML")
    app_id: str = Field(default="aml-monitor", pattern=r"^[A-Za-z0-9._-]+$")
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="0 disables /metrics")
    web_port: int = Field(default=0, ge=0, le=65535, description="Faust web port; 0 = a free one")
    partitions: int = Field(default=4, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    store: Literal["memory", "rocksdb"] = "rocksdb"
    data_dir: Path = Path("./monitor-data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    session_timeout_s: float = Field(default=10.0, gt=0, le=300)
    fetch_max_wait_ms: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description="how long the broker holds a fetch open when there is no data (latency)",
    )
    batch_max: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="most events applied together: one output round trip, one state write "
        "per customer and one offset commit per batch",
    )
    state_cache: int = Field(
        default=10_000,
        ge=0,
        le=10_000_000,
        description="decoded customer states kept in memory (about 6.6 KB each); 0 = none",
    )
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    queue_prefix: str = Field(default="aml:queue:", min_length=1)
    gauges_interval_s: float = Field(default=15.0, gt=0, le=3600)
    output_retention_ms: int = Field(default=90 * 86_400_000, ge=-1)
    input_idle_ms: int = Field(
        default=60_000,
        ge=0,
        le=86_400_000,
        description="wall time after which an input topic partition that brings nothing "
        "no longer holds its partition's stream time (and deadlines) back",
    )
    list_reload_interval_s: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="how often the worker checks the watch-list files for a new version "
        "(and re-screens its customers against new or changed entries)",
    )

    topic_account_openings: str = "kyc.account-openings"
    topic_customer_updates: str = "kyc.customer-updates"
    topic_cash: str = "txn.cash"
    topic_remittances: str = "txn.remittances"
    topic_transfers: str = "txn.transfers"
    topic_alerts: str = "aml.alerts"
    topic_reid_tasks: str = "aml.reid-tasks"
    topic_dead_letters: str = "aml.dead-letters"

    @field_validator("kafka_bootstrap")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{part!r} is not host:port (port 1-65535)")
        return value

    @model_validator(mode="after")
    def _sasl_complete(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                "MONITOR_KAFKA_SASL_USERNAME and MONITOR_KAFKA_SASL_PASSWORD are required "
                "with a SASL security protocol"
            )
        return self

    @model_validator(mode="after")
    def _topics_distinct(self) -> Settings:
        """Each input kind on its own topic, and no output on an input: the worker and
        replay tell the kind of an event by its topic."""
        names = {
            f"{_PREFIX}{field.upper()}": getattr(self, field)
            for field in (
                "topic_account_openings",
                "topic_customer_updates",
                "topic_cash",
                "topic_remittances",
                "topic_transfers",
                "topic_alerts",
                "topic_reid_tasks",
                "topic_dead_letters",
            )
        }
        by_topic: dict[str, list[str]] = {}
        for variable, topic in names.items():
            by_topic.setdefault(topic, []).append(variable)
        shared = [
            " and ".join(variables) + f" name the same topic {topic!r}"
            for topic, variables in by_topic.items()
            if len(variables) > 1
        ]
        if shared:
            raise ValueError("every topic must be distinct: " + "; ".join(shared))
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("rules")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"rule pack {value} does not exist")
        return value

    @property
    def input_topics(self) -> dict[str, str]:
        """kind -> topic name, kinds as in `monitor.core.decode.KINDS`."""
        return {
            "account_opening": self.topic_account_openings,
            "customer_update": self.topic_customer_updates,
            "cash": self.topic_cash,
            "remittance": self.topic_remittances,
            "transfer": self.topic_transfers,
        }

    @property
    def heartbeat_interval_s(self) -> float:
        """Every consumer group's heartbeat interval: a third of the session, at most 3 s."""
        return min(3.0, self.session_timeout_s / 3)

    @property
    def events_topic(self) -> str:
        """The internal topic that repartitions every valid input by customer id."""
        return f"{self.app_id}-events"

    @property
    def changelog_topic(self) -> str:
        return f"{self.app_id}-customer-state-changelog"

    @property
    def screening_topic(self) -> str:
        """The internal compacted topic of customers' names for re-screening (by home
        partition) and the list entries each partition was screened against."""
        return f"{self.app_id}-screening-names"


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises `ConfigurationError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            if err["loc"]:
                problems.append(f"{_PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}")
            else:
                problems.append(str(err["msg"]).removeprefix("Value error, "))
        raise ConfigurationError("invalid settings: " + "; ".join(problems)) from None
