"""Customer risk rating (PBoC 2013 guideline) and periodic review on event time."""

from __future__ import annotations

import calendar as _cal
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from monitor.core.clock import deadline_context
from monitor.core.profile import beneficial_owner_identified
from monitor.core.rules.base import Context, Findings, window_end_ms
from monitor.core.rules.config import StageConfig
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

__all__ = ["RiskConfig", "RiskRater", "add_months"]

logger = logging.getLogger(__name__)

Rating = Literal["low", "medium", "high"]
Factor = Literal[
    "pep",
    "high_risk_country",
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
    "high_risk_occupation": 30,
    "entity_opacity": 30,
    "suspicious_alerts": 20,
    "incomplete_kyc": 10,
}
_REVIEW_MONTHS: dict[Rating, int] = {"high": 6, "medium": 12, "low": 24}


class RiskConfig(StageConfig):
    """Customer risk rating from weighted factors; the rating sets the review interval
    (the pack's top-level `risk` section)."""

    weights: dict[Factor, int] = Field(default_factory=lambda: dict(_WEIGHTS))
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
    review_months: dict[Rating, int] = Field(default_factory=lambda: dict(_REVIEW_MONTHS))

    @model_validator(mode="after")
    def _order(self) -> RiskConfig:
        if self.medium_from >= self.high_from:
            raise ValueError("medium_from must be below high_from")
        missing = {"low", "medium", "high"} - set(self.review_months)
        if missing:
            raise ValueError(f"review_months lacks {sorted(missing)}")
        return self


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

    A PEP or a watch-list match is always high. A higher rating brings the review forward;
    a lower one keeps the date already set. The rating in force is stamped on every task.

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
        self.bo_pct = rules.of("KYC_BENEFICIAL_OWNER", BeneficialOwnerConfig).ownership_above_pct
        self.mandatory = mandatory_fields(pack)
        self.review_months: dict[str, int] = {str(k): v for k, v in cfg.review_months.items()}
        self.occupations = frozenset(o.strip().lower() for o in cfg.high_risk_occupations)

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
        if p.get("occupation") in self.occupations:
            found.append("high_risk_occupation")
        if p.get("type") == "entity" and not beneficial_owner_identified(p, self.bo_pct):
            found.append("entity_opacity")
        if state.risk.get(SUSPICIOUS_ALERTS, 0):
            found.append("suspicious_alerts")
        if state.risk.get(WATCHLIST_MATCHES, 0):
            found.append("watchlist_match")
        mandatory = self.mandatory.get(p.get("type") or "", ())
        if p and not set(mandatory).issubset(p.get("present", ())):
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
