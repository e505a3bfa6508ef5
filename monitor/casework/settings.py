"""The inbox's own settings (`MONITOR_*` variables beside the worker's)."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.core.errors import ConfigurationError

__all__ = ["CaseworkSettings", "load_casework_settings"]

logger = logging.getLogger(__name__)


class CaseworkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MONITOR_", frozen=True, extra="ignore")

    topic_case_events: str = Field(default="aml.case-events", min_length=1)
    topic_reports: str = Field(default="aml.reports", min_length=1)
    inbox_secret: SecretStr | None = Field(
        default=None, description="signs the session cookie; random per process when unset"
    )
    inbox_group: str | None = Field(
        default=None, description="consumer group on aml.alerts (default <app_id>-inbox)"
    )
    institution_name: str = Field(default="", description="reporting institution on report records")
    institution_code: str = Field(
        default="", description="reporting institution's code (PBoC) or EIN (FinCEN)"
    )
    report_format: Literal["auto", "pboc", "fincen"] = Field(
        default="auto", description="report records: auto = FinCEN for the us-bsa pack's queues"
    )


def load_casework_settings() -> CaseworkSettings:
    try:
        return CaseworkSettings()
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        raise ConfigurationError(f"MONITOR_{str(err['loc'][0]).upper()}: {err['msg']}") from None
