"""Customer risk rating (PBoC 2013 guideline) and periodic review on event time."""

from __future__ import annotations

import calendar as _cal
import logging
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from monitor.core.business import fold_text
from monitor.core.clock import deadline_context
from monitor.core.profile import beneficial_owner_identified, present_paths
from monitor.core.rules.base import Context, Findings, window_end_ms
from monitor.core.rules.config import StageConfig, Strict
from monitor.core.rules.edd import BeneficialOwnerConfig, HighRiskCountryConfig
from monitor.core.rules.kyc import mandatory_fields
from monitor.core.state import (
    HIGH_RISK_COUNTRY_ALERTS,
    SUSPICIOUS_ALERTS,
    WATCHLIST_MATCHES,
    CustomerState,
)

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "RATINGS",
    "Intensity",
    "IntensityLevels",
    "RiskConfig",
    "RiskRater",
    "add_months",
    "intensity_levels",
]

logger = logging.getLogger(__name__)

Rating = Literal["low", "medium", "high"]
RATINGS: tuple[Rating, ...] = ("low", "medium", "high")
Factor = Literal[
    "pep",
    "high_risk_country",
    "high_risk_business",
    "high_risk_occupation",
    "entity_opacity",
    "suspicious_alerts",
    "watchlist_match",
    "incomplete_kyc",
]
_WEIGHTS: dict[Factor, int] = {
    "pep": 100,
    "high_risk_country": 60,
    "watchlist_match": 100,
    "high_risk_business": 60,
    "high_risk_occupation": 30,
    "entity_opacity": 30,
    "suspicious_alerts": 20,
    "incomplete_kyc": 10,
}
_REVIEW_MONTHS: dict[Rating, int] = {"high": 6, "medium": 12, "low": 24}
#: category -> keywords matched in an entity's business scope or an individual's occupation
_HIGH_RISK_BUSINESS: dict[str, list[str]] = {
    "jewellery": ["珠宝", "jewel"],
    "precious_metals": ["贵金属", "黄金", "precious metal", "bullion"],
    "casino": ["赌场", "博彩", "casino", "gambling"],
    "money_services": [
        "货币兑换",
        "外币兑换",
        "汇兑",
        "money service",
        "money transfer",
        "currency exchange",
    ],
    "cash_intensive": [
        "现金集中",
        "饭店",
        "餐饮",
        "娱乐场所",
        "零售店",
        "旅行社",
        "cash-intensive",
        "cash intensive",
        "restaurant",
        "nightclub",
        "retail shop",
        "retail store",
        "travel agency",
    ],
    "real_estate": ["房地产中介", "房地产经纪", "real estate agent", "real estate agency"],
    "arms_trade": ["军火", "arms dealer", "arms trade"],
}


class Intensity(Strict):
    """Factors on the suspicious-pattern thresholds for customers of one rating: amounts
    (the structuring band's lower edge, FREQUENT_LARGE_UNCLEAR_SOURCE's per-transfer amount
    and income share) and counts (`min_count` of both). At most 1: risk-based monitoring
    tightens, never loosens, the rule sections' figures. Large-value thresholds are legal
    reporting thresholds and are never scaled."""

    amount_factor: Decimal = Field(default=Decimal(1), gt=0, le=1, allow_inf_nan=False)
    count_factor: Decimal = Field(default=Decimal(1), gt=0, le=1, allow_inf_nan=False)

    @property
    def neutral(self) -> bool:
        return self.amount_factor == 1 and self.count_factor == 1

    def amount(self, value: Decimal) -> Decimal:
        return value if self.amount_factor == 1 else value * self.amount_factor

    def count(self, value: int, least: int) -> int:
        """`value` scaled and rounded half up, never below `least`."""
        scaled = (value * self.count_factor).to_integral_value(ROUND_HALF_UP)
        return max(least, int(scaled))


class IntensityLevels(Strict):
    """`risk.intensity`: the factors of each rating. A level left out keeps its default."""

    low: Intensity = Intensity()
    medium: Intensity = Intensity()
    high: Intensity = Intensity(amount_factor=Decimal("0.8"), count_factor=Decimal("0.7"))

    @model_validator(mode="after")
    def _monotonic(self) -> IntensityLevels:
        for lower, higher in (("low", "medium"), ("medium", "high")):
            for name in ("amount_factor", "count_factor"):
                low_value = getattr(getattr(self, lower), name)
                high_value = getattr(getattr(self, higher), name)
                if high_value > low_value:
                    raise ValueError(
                        f"intensity.{higher}.{name} ({high_value}) must not be above "
                        f"intensity.{lower}.{name} ({low_value}): a higher risk is "
                        f"monitored at least as closely"
                    )
        return self

    def of(self, rating: object) -> Intensity:
        """The factors of `rating` (neutral for a customer not rated yet)."""
        if rating == "high":
            return self.high
        if rating == "medium":
            return self.medium
        return self.low if rating == "low" else _NEUTRAL


_NEUTRAL = Intensity()


class RiskConfig(StageConfig):
    """Customer risk rating from weighted factors; the rating sets the review interval and
    the intensity of the suspicious-pattern rules (the pack's top-level `risk` section)."""

    weights: dict[Factor, int] = Field(default_factory=lambda: dict(_WEIGHTS))
    medium_from: int = Field(default=30, ge=1)
    high_from: int = Field(default=60, ge=1)
    high_risk_business: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in _HIGH_RISK_BUSINESS.items()},
        validate_default=True,
    )
    review_months: dict[Rating, int] = Field(default_factory=lambda: dict(_REVIEW_MONTHS))
    intensity: IntensityLevels = IntensityLevels()

    @field_validator("high_risk_business")
    @classmethod
    def _keywords(cls, categories: dict[str, list[str]]) -> dict[str, list[str]]:
        folded: dict[str, list[str]] = {}
        for name, words in categories.items():
            if not name or not name.replace("_", "").isalnum() or not name.isascii():
                raise ValueError(f"category {name!r}: use letters, digits and _")
            kept = [fold_text(w) for w in words if fold_text(w)]
            if not kept:
                raise ValueError(f"category {name!r} has no keyword")
            folded[name] = kept
        return folded

    @model_validator(mode="after")
    def _order(self) -> RiskConfig:
        if self.medium_from >= self.high_from:
            raise ValueError("medium_from must be below high_from")
        missing = {"low", "medium", "high"} - set(self.review_months)
        if missing:
            raise ValueError(f"review_months lacks {sorted(missing)}")
        return self


def intensity_levels(pack: Pack) -> IntensityLevels:
    """The pack's `risk.intensity`, or neutral factors while the risk rating is off."""
    cfg = getattr(pack.config, "risk", None)
    if isinstance(cfg, RiskConfig) and cfg.enabled:
        return cfg.intensity
    return IntensityLevels(high=_NEUTRAL)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if day.day <= 28:  # every month has that day
        return date(year, month, day.day)
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


class RiskRater:
    """Rates a customer low / medium / high from weighted factors, keeps the next periodic
    review date, and emits PERIODIC_REVIEW when event time passes it: the customer's
    watermark, or the stream time the engine's `advance` gives (`ctx.event_ms`).

    A PEP or a watch-list match is always high. A high-risk line of business (the category
    the profile matched in an entity's business scope or an individual's occupation) is the
    `high_risk_business` or `high_risk_occupation` factor. A higher rating brings the review
    forward; a lower one keeps the date already set. The rating in force is stamped on every
    task and sets the intensity of STRUCTURING and FREQUENT_LARGE_UNCLEAR_SOURCE.

    Registered as the last stage: it runs on every event and sees all of its findings. The
    countries, ownership share and mandatory fields are those of KYC_HIGH_RISK_COUNTRY,
    KYC_BENEFICIAL_OWNER and KYC_INCOMPLETE, whether those rules are on or not."""

    rule_id: ClassVar[str] = "RISK_RATING"
    handles: ClassVar[tuple[type, ...]] = ()
    default: ClassVar[RiskConfig] = RiskConfig()

    def __init__(self, cfg: RiskConfig, pack: Pack) -> None:
        rules = pack.config.rules
        self.cfg = cfg
        self.countries = frozenset(
            rules.of("KYC_HIGH_RISK_COUNTRY", HighRiskCountryConfig).countries
        )
        self.bo = rules.of("KYC_BENEFICIAL_OWNER", BeneficialOwnerConfig)
        self.mandatory = mandatory_fields(pack)
        self.review_months: dict[str, int] = {str(k): v for k, v in cfg.review_months.items()}

    def factors(self, state: CustomerState) -> list[Factor]:
        p = state.profile or {}
        found: list[Factor] = []
        if p.get("pep") or p.get("bo_pep"):
            found.append("pep")
        if (
            p.get("nationality") in self.countries
            or p.get("address_country") in self.countries
            or state.risk.get(HIGH_RISK_COUNTRY_ALERTS, 0)
        ):
            found.append("high_risk_country")
        if p.get("business"):  # a high-risk line of business (risk.high_risk_business)
            found.append(
                "high_risk_business" if p.get("type") == "entity" else "high_risk_occupation"
            )
        if p.get("type") == "entity" and not beneficial_owner_identified(
            p, self.bo.ownership_above_pct, self.bo.inclusive
        ):
            found.append("entity_opacity")
        if state.risk.get(SUSPICIOUS_ALERTS, 0):
            found.append("suspicious_alerts")
        if state.risk.get(WATCHLIST_MATCHES, 0):
            found.append("watchlist_match")
        mandatory = self.mandatory.get(p.get("type") or "", ())
        if p and not set(mandatory).issubset(present_paths(p)):
            found.append("incomplete_kyc")
        return found

    def rating(self, state: CustomerState, factors: list[Factor]) -> Rating:
        if "pep" in factors or "watchlist_match" in factors:
            return "high"
        weights = self.cfg.weights
        score = sum(
            weights.get(f, 0)
            * (min(state.risk.get(SUSPICIOUS_ALERTS, 0), 3) if f == "suspicious_alerts" else 1)
            for f in factors
        )
        if score >= self.cfg.high_from:
            return "high"
        return "medium" if score >= self.cfg.medium_from else "low"

    def apply(
        self,
        state: CustomerState,
        event: Any,
        ctx: Context,
        out: Findings,
    ) -> None:
        profile_changed = ctx.profile_meta is not None  # an opening or a customer update
        risk = state.risk
        for alert in out.alerts:
            if alert.category == "suspicious":
                risk[SUSPICIOUS_ALERTS] = risk.get(SUSPICIOUS_ALERTS, 0) + 1
            if alert.rule_id == "KYC_HIGH_RISK_COUNTRY":
                risk[HIGH_RISK_COUNTRY_ALERTS] = risk.get(HIGH_RISK_COUNTRY_ALERTS, 0) + 1
        if state.profile is None and not risk:
            return
        day = ctx.day
        if risk.get("next_review") and "due_ms" not in risk:  # records saved before due_ms
            risk["due_ms"] = self._due_ms(risk["next_review"], ctx)
        now_ms = max(state.watermark_ms, ctx.event_ms)  # the event's, or the stream time
        if risk.get("due_ms", 0) and now_ms > risk["due_ms"]:
            self._review_due(state, now_ms, ctx, out)
        if not (profile_changed or out.alerts or "rating" not in risk):
            if out.tasks:
                out.tasks[:] = [
                    t.model_copy(update={"risk_rating": risk["rating"]}) for t in out.tasks
                ]
            return
        factors = self.factors(state)
        new = self.rating(state, factors)
        old = risk.get("rating")
        if new != old:
            risk["rating"] = new
            risk["factors"] = factors
            months = self.cfg.review_months[new]
            proposed = add_months(day, months)
            current = risk.get("next_review")
            if current is None or old is None or _rank(new) > _rank(old):
                risk["next_review"] = (
                    min(proposed, date.fromisoformat(current)).isoformat()
                    if current and old is not None
                    else proposed.isoformat()
                )
            risk["changes"] = risk.get("changes", 0) + 1
            risk["due_ms"] = self._due_ms(risk["next_review"], ctx)
        if out.tasks:
            out.tasks[:] = [t.model_copy(update={"risk_rating": risk["rating"]}) for t in out.tasks]

    @staticmethod
    def _due_ms(due: str, ctx: Context) -> int:
        """When the customer's watermark must pass for review `due` to be decided."""
        return (
            window_end_ms(date.fromisoformat(due), ctx.pack.tz)
            + ctx.pack.config.deadline_grace_hours * 3_600_000
        )

    @staticmethod
    def next_due_ms(state: CustomerState, grace_ms: int) -> int | None:
        """The event time (epoch ms) after which the next review is decided (`due_ms`
        includes the grace already)."""
        due_ms = state.risk.get("due_ms")
        return int(due_ms) if due_ms else None

    def _review_due(self, state: CustomerState, now_ms: int, ctx: Context, out: Findings) -> None:
        """One PERIODIC_REVIEW per review date that `now_ms` has passed. Nothing in the task
        depends on what decided it: the source is `periodic-review:<date>` and `due_by`
        counts from the deadline (the end of the review day)."""
        risk = state.risk
        due = risk.get("next_review")
        if not due:
            return
        grace_ms = ctx.pack.config.deadline_grace_hours * 3_600_000
        task_ctx = deadline_context(ctx)
        for _ in range(12):  # a long silence may pass several review dates: one task each
            due_day = date.fromisoformat(due)
            deadline_ms = window_end_ms(due_day, ctx.pack.tz)
            if now_ms <= deadline_ms + grace_ms:
                break
            out.tasks.append(
                task_ctx.task(
                    "PERIODIC_REVIEW",
                    state.customer_id,
                    f"periodic-review:{due}",
                    datetime.fromtimestamp(deadline_ms / 1000, tz=ctx.pack.tz),
                    [],
                    (due,),
                    keyed_by_event=False,
                )
            )
            due = add_months(due_day, self.review_months[risk.get("rating", "low")]).isoformat()
            risk["next_review"] = due
            risk["due_ms"] = self._due_ms(due, ctx)


def _rank(rating: str) -> int:
    return {"low": 0, "medium": 1, "high": 2}[rating]
