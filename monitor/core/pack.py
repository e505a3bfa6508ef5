"""The rule pack: a typed, validated YAML file (thresholds, windows, lists, calendars).

A pack is data. `load_pack` refuses an unknown key or a bad value with a message that
names the field, so a typo never silently falls back to a default. Each rule has its own
config model; `rules.<RULE_ID>.enabled: false` switches a rule off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.core.calendar import WorkingDayCalendar, load_calendar
from monitor.core.defaults import default_file
from monitor.core.errors import ConfigurationError
from monitor.core.fx import FxTable, load_fx_table

__all__ = [
    "DEFAULT_PACK",
    "TRIGGERS",
    "Money",
    "Pack",
    "PackConfig",
    "TaskConfig",
    "Threshold",
    "load_pack",
    "pack_from_mapping",
]

DEFAULT_PACK = default_file("cn-pboc.yaml")

Severity = Literal["low", "medium", "high"]
Category = Literal["large_value_report", "suspicious", "due_diligence"]
Rating = Literal["low", "medium", "high"]
TRIGGERS = (
    "PROFILE_CHANGE",
    "ABNORMAL_ACTIVITY",
    "WATCHLIST_MATCH",
    "SUSPECTED_ML_TF",
    "INCONSISTENT_INFO",
    "DOUBTFUL_RECORDS",
    "ID_EXPIRED",
    "PERIODIC_REVIEW",
    "INCOMPLETE_KYC",
    "ENHANCED_DUE_DILIGENCE",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(_Strict):
    """An amount in a currency, e.g. `{currency: CNY, amount: "50000"}`."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: Decimal = Field(ge=0, allow_inf_nan=False)


def _money(currency: str, amount: int | str) -> Money:
    return Money(currency=currency, amount=Decimal(amount))


class Threshold(_Strict):
    """A local-currency amount and a foreign-currency equivalent. Local-currency amounts are
    compared with `local`; any other currency is converted (dated FX table) into
    `foreign.currency` and compared with `foreign`. With `combine: true` every currency is
    converted into the local currency and compared with `local` only."""

    local: Money
    foreign: Money
    combine: bool = False


class TaskConfig(_Strict):
    """A re-identification task: what the branch must do and in how many working days."""

    measures: list[str] = Field(min_length=1)
    due_working_days: int = Field(ge=0, le=365)


class _RuleConfig(_Strict):
    enabled: bool = True
    severity: Severity = "medium"


class _ThresholdRule(_RuleConfig):
    threshold: Threshold | None = None

    @model_validator(mode="after")
    def _needs_threshold(self) -> _ThresholdRule:
        if self.enabled and self.threshold is None:
            raise ValueError("threshold is required when the rule is enabled")
        return self


class DailyThresholdConfig(_ThresholdRule):
    """Single or same-day cumulative amounts per customer and direction."""

    category: Category = "large_value_report"
    inclusive: bool = True


class SingleThresholdConfig(_ThresholdRule):
    category: Category = "due_diligence"


class RemitMissingInfoConfig(_RuleConfig):
    """Required originator/beneficiary fields of a cross-border payment, checked from
    `outbound_from` (outbound) and `inbound_from` (inbound, default any amount)."""

    category: Category = "due_diligence"
    outbound_from: Threshold = Threshold(local=_money("CNY", 5000), foreign=_money("USD", 1000))
    inbound_from: Threshold = Threshold(local=_money("CNY", 0), foreign=_money("USD", 0))


class RemitUnresolvedConfig(_RuleConfig):
    category: Category = "due_diligence"
    follow_up_working_days: int = Field(default=10, ge=1, le=120)


class StructuringConfig(_RuleConfig):
    """>= `min_count` cash transactions each in [`lower_pct`, `upper_pct`) of the
    single-transaction threshold within `window_days` (event time)."""

    category: Category = "suspicious"
    threshold: Threshold = Threshold(local=_money("CNY", 50000), foreign=_money("USD", 10000))
    lower_pct: Decimal = Field(default=Decimal(90), gt=0, lt=100)
    upper_pct: Decimal = Field(default=Decimal(100), gt=0, le=100)
    min_count: int = Field(default=3, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _band(self) -> StructuringConfig:
        if self.lower_pct >= self.upper_pct:
            raise ValueError("lower_pct must be below upper_pct")
        return self


class FrequentLargeConfig(_RuleConfig):
    """>= `min_count` transfers each >= `threshold` within `window_days` whose source of
    funds is unclear, or whose total exceeds `income_share_pct` of the declared income."""

    category: Category = "suspicious"
    threshold: Threshold = Threshold(local=_money("CNY", 50000), foreign=_money("USD", 10000))
    min_count: int = Field(default=3, ge=1, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)
    income_share_pct: Decimal = Field(default=Decimal(50), gt=0, le=1000)
    unclear_sources: list[str] = Field(
        default_factory=lambda: ["", "unknown", "n/a", "none", "unclear"]
    )


_INDIVIDUAL_FIELDS = [
    "name",
    "gender",
    "nationality",
    "occupation",
    "address",
    "phone",
    "id_document.type",
    "id_document.number",
]
_ENTITY_FIELDS = [
    "name",
    "registration_number",
    "business_scope",
    "address",
    "legal_representative.name",
    "legal_representative.id_document.type",
    "legal_representative.id_document.number",
]
_KNOWN_FIELDS = frozenset(
    _INDIVIDUAL_FIELDS
    + _ENTITY_FIELDS
    + [
        "account_id",
        "branch_code",
        "registered_capital",
        "declared_annual_income",
        "id_document.expires_on",
        "legal_representative.id_document.expires_on",
        "address_country",
    ]
)


class KycIncompleteConfig(_RuleConfig):
    """Mandatory identity fields per customer type (dotted paths)."""

    category: Category = "due_diligence"
    individual_fields: list[str] = Field(default_factory=lambda: list(_INDIVIDUAL_FIELDS))
    entity_fields: list[str] = Field(default_factory=lambda: list(_ENTITY_FIELDS))

    @field_validator("individual_fields", "entity_fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in _KNOWN_FIELDS]
        if unknown:
            raise ValueError(f"unknown identity field(s) {unknown}; known: {sorted(_KNOWN_FIELDS)}")
        return fields


class KycConfig(_RuleConfig):
    category: Category = "due_diligence"


class HighRiskCountryConfig(_RuleConfig):
    category: Category = "due_diligence"
    countries: list[str] = Field(default_factory=lambda: ["KP", "IR", "MM"])

    @field_validator("countries")
    @classmethod
    def _alpha2(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if len(c) != 2 or not c.isalpha() or not c.isupper()]
        if bad:
            raise ValueError(f"not ISO 3166 alpha-2 codes: {bad}")
        return codes


class BeneficialOwnerConfig(_RuleConfig):
    category: Category = "due_diligence"
    ownership_above_pct: Decimal = Field(default=Decimal(25), ge=0, lt=100)


class WatchlistConfig(_RuleConfig):
    category: Category = "suspicious"
    severity: Severity = "high"
    file: str = "watchlists/sample.yaml"
    threshold: float = Field(default=88.0, ge=50, le=100)
    roles: list[
        Literal[
            "customer",
            "beneficial_owner",
            "legal_representative",
            "agent",
            "conductor",
            "counterparty",
        ]
    ] = Field(
        default_factory=lambda: [
            "customer",
            "beneficial_owner",
            "legal_representative",
            "agent",
            "conductor",
            "counterparty",
        ]
    )


class RulesConfig(_Strict):
    LV_CASH: DailyThresholdConfig = DailyThresholdConfig(
        threshold=Threshold(local=_money("CNY", 50000), foreign=_money("USD", 10000))
    )
    LV_XBORDER_INDIVIDUAL: DailyThresholdConfig = DailyThresholdConfig(
        threshold=Threshold(local=_money("CNY", 200000), foreign=_money("USD", 10000))
    )
    LV_TRANSFER_ENTITY: DailyThresholdConfig = DailyThresholdConfig(
        threshold=Threshold(local=_money("CNY", 2000000), foreign=_money("USD", 200000))
    )
    CDD_ONE_OFF: SingleThresholdConfig = SingleThresholdConfig(
        threshold=Threshold(local=_money("CNY", 50000), foreign=_money("USD", 10000))
    )
    CDD_AGENT: SingleThresholdConfig = SingleThresholdConfig(
        threshold=Threshold(local=_money("CNY", 50000), foreign=_money("USD", 10000))
    )
    REMIT_MISSING_INFO: RemitMissingInfoConfig = RemitMissingInfoConfig()
    REMIT_INFO_UNRESOLVED: RemitUnresolvedConfig = RemitUnresolvedConfig()
    STRUCTURING: StructuringConfig = StructuringConfig()
    FREQUENT_LARGE_UNCLEAR_SOURCE: FrequentLargeConfig = FrequentLargeConfig()
    KYC_INCOMPLETE: KycIncompleteConfig = KycIncompleteConfig()
    KYC_ID_EXPIRED: KycConfig = KycConfig()
    KYC_PEP: KycConfig = KycConfig(severity="high")
    KYC_HIGH_RISK_COUNTRY: HighRiskCountryConfig = HighRiskCountryConfig(severity="high")
    KYC_BENEFICIAL_OWNER: BeneficialOwnerConfig = BeneficialOwnerConfig()
    WATCHLIST_MATCH: WatchlistConfig = WatchlistConfig()


def _task(due: int, *measures: str) -> TaskConfig:
    return TaskConfig(measures=list(measures), due_working_days=due)


_DEFAULT_TASKS: dict[str, TaskConfig] = {
    "INCOMPLETE_KYC": _task(
        10,
        "obtain the missing identity information from the customer",
        "verify the identity document against the original or an official source",
        "restrict new business until identification is complete",
    ),
    "ID_EXPIRED": _task(
        10,
        "obtain a valid identity document",
        "verify it with the issuing authority",
        "suspend non-essential services if not renewed in time",
    ),
    "ENHANCED_DUE_DILIGENCE": _task(
        10,
        "obtain senior management approval for the relationship",
        "establish the source of funds and of wealth",
        "apply enhanced ongoing monitoring",
    ),
    "WATCHLIST_MATCH": _task(
        1,
        "review the match against the list entry",
        "freeze or reject the transaction if the match is confirmed",
        "report to the authorities as required",
    ),
    "SUSPECTED_ML_TF": _task(
        5,
        "review the transactions and the customer profile",
        "decide on a suspicious transaction report",
        "re-identify the customer",
    ),
    "ABNORMAL_ACTIVITY": _task(
        10,
        "obtain the source of funds for the transfers",
        "check the activity against the declared income and occupation",
        "re-identify the customer",
    ),
    "PROFILE_CHANGE": _task(
        10, "verify the changed identity information", "update the customer's risk rating"
    ),
    "INCONSISTENT_INFO": _task(
        5,
        "resolve the contradiction with the customer",
        "verify the identity document with the issuing authority",
    ),
    "DOUBTFUL_RECORDS": _task(
        5,
        "verify the identity document with the issuing authority",
        "re-identify the customer in person",
    ),
    "PERIODIC_REVIEW": _task(
        20,
        "review the customer's identity information and activity",
        "confirm or change the risk rating",
    ),
}


class RiskConfig(_Strict):
    """Customer risk rating from weighted factors; the rating sets the review interval."""

    enabled: bool = True
    weights: dict[
        Literal[
            "pep",
            "high_risk_country",
            "high_risk_occupation",
            "entity_opacity",
            "suspicious_alerts",
            "watchlist_match",
            "incomplete_kyc",
        ],
        int,
    ] = Field(
        default_factory=lambda: {
            "pep": 100,
            "high_risk_country": 60,
            "watchlist_match": 100,
            "high_risk_occupation": 30,
            "entity_opacity": 30,
            "suspicious_alerts": 20,
            "incomplete_kyc": 10,
        }
    )
    medium_from: int = Field(default=30, ge=1)
    high_from: int = Field(default=60, ge=1)
    high_risk_occupations: list[str] = Field(
        default_factory=lambda: [
            "casino",
            "precious metals dealer",
            "money service business",
            "arms dealer",
            "real estate agent",
            "cash-intensive business",
        ]
    )
    review_months: dict[Rating, int] = Field(
        default_factory=lambda: {"high": 6, "medium": 12, "low": 24}
    )

    @model_validator(mode="after")
    def _order(self) -> RiskConfig:
        if self.medium_from >= self.high_from:
            raise ValueError("medium_from must be below high_from")
        missing = {"low", "medium", "high"} - set(self.review_months)
        if missing:
            raise ValueError(f"review_months lacks {sorted(missing)}")
        return self


class ProfileChecksConfig(_Strict):
    """PROFILE_CHANGE, INCONSISTENT_INFO and DOUBTFUL_RECORDS tasks from customer updates."""

    enabled: bool = True


class RouteMatch(_Strict):
    """Conditions of a route; each given list must contain the alert's value."""

    category: list[Category] | None = None
    severity: list[Severity] | None = None
    rule_id: list[str] | None = None
    branch: list[str] | None = None


class Route(_Strict):
    match: RouteMatch
    queue: str = Field(min_length=1, pattern=r"^\S+$")


class SuppressionConfig(_Strict):
    """The same rule for the same customer within `period_hours` (event time) of the first
    alert updates the open queue item (count, evidence, last seen) instead of adding one."""

    period_hours: int = Field(default=0, ge=0, le=24 * 366)
    rules: list[str] | None = None  # None: every rule


class QueueConfig(_Strict):
    """Compliance queue behaviour (Redis Streams)."""

    group: str = Field(default="analysts", min_length=1)
    max_len: int = Field(default=100_000, ge=100)  # trimmed only below what analysts acked
    suppression: SuppressionConfig = SuppressionConfig()


class StateConfig(_Strict):
    """How much history a customer's state record keeps (event time)."""

    retention_days: int = Field(default=8, ge=1, le=400)
    max_seen_events: int = Field(default=2000, ge=10, le=1_000_000)
    max_window_items: int = Field(default=500, ge=10, le=100_000)


class PackConfig(_Strict):
    """The whole rule pack file."""

    pack: str
    timezone: str = "Asia/Shanghai"
    fx_table: str = "fx-rates.yaml"
    calendar: str | None = None
    report_due_working_days: int = Field(default=5, ge=0, le=60)
    deadline_grace_hours: int = Field(default=0, ge=0, le=24 * 30)
    queues: dict[Category, str] = Field(
        default_factory=lambda: {
            "large_value_report": "large_value_report",
            "suspicious": "suspicious",
            "due_diligence": "due_diligence",
        }
    )
    routing: list[Route] = Field(default_factory=list)
    queue: QueueConfig = QueueConfig()
    state: StateConfig = StateConfig()
    rules: RulesConfig = RulesConfig()
    tasks: dict[str, TaskConfig] = Field(default_factory=lambda: dict(_DEFAULT_TASKS))
    risk: RiskConfig = RiskConfig()
    profile_checks: ProfileChecksConfig = ProfileChecksConfig()

    @model_validator(mode="after")
    def _retention_covers_windows(self) -> PackConfig:
        longest = max(
            self.rules.STRUCTURING.window_days, self.rules.FREQUENT_LARGE_UNCLEAR_SOURCE.window_days
        )
        if self.state.retention_days < longest:
            raise ValueError(
                f"state.retention_days ({self.state.retention_days}) must be at least the longest "
                f"window_days ({longest})"
            )
        return self

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

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, tasks: Any) -> Any:
        if not isinstance(tasks, dict):
            return tasks
        unknown = [t for t in tasks if t not in TRIGGERS]
        if unknown:
            raise ValueError(f"unknown trigger(s) {unknown}; known: {list(TRIGGERS)}")
        merged: dict[str, Any] = dict(_DEFAULT_TASKS)
        merged.update(tasks)
        return merged


@dataclass(frozen=True, slots=True)
class Pack:
    """A loaded pack: its configuration plus the FX table, calendar, zone and watch list."""

    config: PackConfig
    fx: FxTable
    calendar: WorkingDayCalendar
    tz: ZoneInfo
    source: Path | None = None
    base_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.pack

    def report_due(self, day: date) -> date:
        return self.calendar.add_working_days(day, self.config.report_due_working_days)

    def route(self, category: str, severity: str, rule_id: str, branch: str | None) -> str:
        """The queue of an alert: the first matching route, else the category's queue."""
        for route in self.config.routing:
            m = route.match
            if (
                (m.category is None or category in m.category)
                and (m.severity is None or severity in m.severity)
                and (m.rule_id is None or rule_id in m.rule_id)
                and (m.branch is None or branch in m.branch)
            ):
                return route.queue
        return self.config.queues[category]  # type: ignore[index]

    def resolve(self, relative: str) -> Path:
        return (self.base_dir or DEFAULT_PACK.parent) / relative


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
    from monitor.core.rules import REGISTRY

    for n, route in enumerate(config.routing):
        unknown = [r for r in route.match.rule_id or [] if r not in REGISTRY]
        if unknown:
            raise ConfigurationError(f"routing.{n}.match.rule_id: unknown rule id(s) {unknown}")
    unknown = [r for r in config.queue.suppression.rules or [] if r not in REGISTRY]
    if unknown:
        raise ConfigurationError(f"queue.suppression.rules: unknown rule id(s) {unknown}")
    pack = Pack(
        config=config,
        fx=fx,
        calendar=calendar,
        tz=ZoneInfo(config.timezone),
        source=source,
        base_dir=base_dir,
    )
    watch = config.rules.WATCHLIST_MATCH
    if watch.enabled:
        from monitor.core.screening import WatchlistMatcher

        path = base_dir / watch.file
        if not path.is_file():
            raise ConfigurationError(f"rules.WATCHLIST_MATCH.file: {path} does not exist")
        pack.extras["watchlist"] = WatchlistMatcher.from_file(path, watch.threshold)
    return pack


def _check_currencies(config: PackConfig, fx: FxTable) -> None:
    def walk(prefix: str, model: BaseModel) -> None:
        for name, value in model:
            where = f"{prefix}.{name}"
            if isinstance(value, Money):
                if not fx.knows(value.currency):
                    raise ConfigurationError(
                        f"{where}.currency: {value.currency} is not in the FX table"
                    )
            elif isinstance(value, BaseModel):
                walk(where, value)

    walk("rules", config.rules)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
