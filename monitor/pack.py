"""The rule pack: a typed, validated YAML file (thresholds, windows, lists, calendars).

A pack is data. `load_pack` refuses an unknown key or a bad value with a message that
names the field, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.calendar import WorkingDayCalendar, load_calendar
from monitor.errors import ConfigurationError
from monitor.fx import FxTable, load_fx_table

__all__ = [
    "DEFAULT_PACK",
    "LargeCashConfig",
    "Money",
    "Pack",
    "PackConfig",
    "RemitMissingInfoConfig",
    "KycIncompleteConfig",
    "TaskConfig",
    "load_pack",
]

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "config" / "cn-pboc.yaml"

Severity = Literal["low", "medium", "high"]
Category = Literal["large_value_report", "suspicious", "due_diligence"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(_Strict):
    """An amount in a currency, e.g. `{currency: CNY, amount: "50000"}`."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: Decimal = Field(ge=0, allow_inf_nan=False)


class TaskConfig(_Strict):
    """A re-identification task: what the branch must do and in how many working days."""

    measures: list[str] = Field(min_length=1)
    due_working_days: int = Field(ge=0, le=365)


class _RuleConfig(_Strict):
    enabled: bool = True
    severity: Severity = "medium"


class LargeCashConfig(_RuleConfig):
    """LV_CASH: cash per customer and direction, single or natural-day cumulative.

    Local-currency cash is summed against `local`; foreign-currency cash is converted
    into `foreign.currency` at the dated FX rate and summed against `foreign`. The two are
    never added together, nor are `in` and `out`."""

    category: Category = "large_value_report"
    local: Money = Money(currency="CNY", amount=Decimal(50000))
    foreign: Money = Money(currency="USD", amount=Decimal(10000))
    inclusive: bool = True


class RemitMissingInfoConfig(_RuleConfig):
    """REMIT_MISSING_INFO: required originator/beneficiary fields of a cross-border payment."""

    category: Category = "due_diligence"
    outbound_from_local: Money = Money(currency="CNY", amount=Decimal(5000))
    outbound_from_foreign: Money = Money(currency="USD", amount=Decimal(1000))
    inbound_from_local: Money = Money(currency="CNY", amount=Decimal(0))
    inbound_from_foreign: Money = Money(currency="USD", amount=Decimal(0))


_INDIVIDUAL_FIELDS = [
    "name", "gender", "nationality", "occupation", "address", "phone",
    "id_document.type", "id_document.number",
]
_ENTITY_FIELDS = [
    "name", "registration_number", "business_scope", "address",
    "legal_representative.name", "legal_representative.id_document.type",
    "legal_representative.id_document.number",
]
_KNOWN_FIELDS = frozenset(_INDIVIDUAL_FIELDS + _ENTITY_FIELDS + [
    "account_id", "branch_code", "registered_capital", "declared_annual_income",
    "id_document.expires_on", "legal_representative.id_document.expires_on",
])


class KycIncompleteConfig(_RuleConfig):
    """KYC_INCOMPLETE: mandatory identity fields per customer type (dotted paths)."""

    category: Category = "due_diligence"
    individual_fields: list[str] = Field(default_factory=lambda: list(_INDIVIDUAL_FIELDS))
    entity_fields: list[str] = Field(default_factory=lambda: list(_ENTITY_FIELDS))
    task: TaskConfig = TaskConfig(
        measures=[
            "obtain the missing identity information from the customer",
            "verify the identity document against the original or an official source",
            "restrict new business until identification is complete",
        ],
        due_working_days=10,
    )

    @field_validator("individual_fields", "entity_fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in _KNOWN_FIELDS]
        if unknown:
            raise ValueError(f"unknown identity field(s) {unknown}; known: {sorted(_KNOWN_FIELDS)}")
        return fields


class RulesConfig(_Strict):
    LV_CASH: LargeCashConfig = LargeCashConfig()
    REMIT_MISSING_INFO: RemitMissingInfoConfig = RemitMissingInfoConfig()
    KYC_INCOMPLETE: KycIncompleteConfig = KycIncompleteConfig()


class StateConfig(_Strict):
    """How much history a customer's state record keeps (event time)."""

    retention_days: int = Field(default=8, ge=1, le=400)
    max_seen_events: int = Field(default=5000, ge=10, le=1_000_000)


class PackConfig(_Strict):
    """The whole rule pack file."""

    pack: str
    timezone: str = "Asia/Shanghai"
    fx_table: str = "fx-rates.yaml"
    calendar: str | None = None
    report_due_working_days: int = Field(default=5, ge=0, le=60)
    queues: dict[Category, str] = Field(
        default_factory=lambda: {
            "large_value_report": "large_value_report",
            "suspicious": "suspicious",
            "due_diligence": "due_diligence",
        }
    )
    state: StateConfig = StateConfig()
    rules: RulesConfig = RulesConfig()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("queues")
    @classmethod
    def _all_categories(cls, queues: dict[str, str]) -> dict[str, str]:
        missing = {"large_value_report", "suspicious", "due_diligence"} - set(queues)
        if missing:
            raise ValueError(f"no queue for categories {sorted(missing)}")
        for name in queues.values():
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"queue name {name!r} must be non-empty without spaces")
        return queues


@dataclass(frozen=True, slots=True)
class Pack:
    """A loaded pack: its configuration plus the FX table, calendar and time zone."""

    config: PackConfig
    fx: FxTable
    calendar: WorkingDayCalendar
    tz: ZoneInfo
    source: Path | None = None

    @property
    def name(self) -> str:
        return self.config.pack

    def report_due(self, day: date) -> date:
        return self.calendar.add_working_days(day, self.config.report_due_working_days)


def load_pack(path: Path | str | None = None) -> Pack:
    """Read, validate and assemble a rule pack. Relative file names inside the pack are
    resolved against the pack's own directory."""
    path = Path(path) if path is not None else DEFAULT_PACK
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"rule pack {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"rule pack {path}: not valid YAML: {exc}") from None
    return pack_from_mapping(raw, base_dir=path.parent, source=path)


def pack_from_mapping(raw: object, base_dir: Path, source: Path | None = None) -> Pack:
    try:
        config = PackConfig.model_validate(raw)
    except ValidationError as exc:
        label = source or "rule pack"
        raise ConfigurationError(f"{label}: {_describe(exc)}") from None
    fx = load_fx_table(base_dir / config.fx_table)
    calendar = (
        load_calendar(base_dir / config.calendar) if config.calendar else WorkingDayCalendar()
    )
    _check_currencies(config, fx)
    return Pack(config=config, fx=fx, calendar=calendar, tz=ZoneInfo(config.timezone), source=source)


def _check_currencies(config: PackConfig, fx: FxTable) -> None:
    for rule_id, rule in config.rules:
        for field_name, value in rule:
            if isinstance(value, Money) and not fx.knows(value.currency):
                raise ConfigurationError(
                    f"rules.{rule_id}.{field_name}.currency: {value.currency} is not in the FX table"
                )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
