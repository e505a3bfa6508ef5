"""Enhanced due diligence (PBoC Order 2025 No.11): PEP, high-risk country, beneficial owner.

The rules KYC_PEP, KYC_HIGH_RISK_COUNTRY and KYC_BENEFICIAL_OWNER."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from monitor.core.profile import beneficial_owner_identified
from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import RuleConfig
from monitor.core.rules.kyc import KycConfig
from monitor.core.state import CustomerState
from schemas import AccountOpening, CustomerUpdate, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "BeneficialOwnerConfig",
    "HighRiskCountryConfig",
    "KycBeneficialOwner",
    "KycHighRiskCountry",
    "KycPep",
]

logger = logging.getLogger(__name__)


class HighRiskCountryConfig(RuleConfig):
    """High-risk jurisdictions (ISO 3166 alpha-2)."""

    countries: list[str] = Field(default_factory=lambda: ["KP", "IR", "MM"])

    @field_validator("countries")
    @classmethod
    def _alpha2(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if len(c) != 2 or not c.isalpha() or not c.isupper()]
        if bad:
            raise ValueError(f"not ISO 3166 alpha-2 codes: {bad}")
        return codes


class BeneficialOwnerConfig(RuleConfig):
    """An identified natural person must own more than `ownership_above_pct` (PRC: "more
    than 25 %"), or with `inclusive` at least that much (US 31 CFR 1010.230(d)(1): "25
    percent or more")."""

    ownership_above_pct: Decimal = Field(default=Decimal(25), ge=0, lt=100)
    inclusive: bool = False

    def share(self) -> str:
        """The share in words, as the alert summary gives it."""
        if self.inclusive:
            return f"{self.ownership_above_pct}% or more"
        return f"more than {self.ownership_above_pct}%"


class KycPep:
    """A politically exposed customer or beneficial owner: enhanced due diligence (senior
    management approval, source of funds, ongoing monitoring). Once per customer and role."""

    rule_id: ClassVar[str] = "KYC_PEP"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate)
    default: ClassVar[KycConfig] = KycConfig(severity="high")

    def __init__(self, cfg: KycConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        profile = state.profile
        if profile is None:
            return
        for role, flagged in (
            ("customer", profile.get("pep")),
            ("beneficial owner", profile.get("bo_pep")),
        ):
            key = f"pep|{role}"
            if not flagged or key in state.flags:
                continue
            state.flags[key] = state.watermark_ms
            alert = ctx.alert(
                self.rule_id,
                self.cfg,
                event.customer_id,
                (role,),
                f"politically exposed {role}: enhanced due diligence required ({event.event_id})",
                event.event_time,
                evidence=[event.event_id],
                figures={"role": role, "event_id": event.event_id},
            )
            ctx.emit_with_task(out, alert, "ENHANCED_DUE_DILIGENCE", event.event_id, ("pep", role))


class KycHighRiskCountry:
    """A customer (nationality, address country) or a transaction counterparty tied to a
    high-risk jurisdiction. Customer ties are reported once per country; every remittance
    to or from one is reported, with one enhanced-due-diligence task per country."""

    rule_id: ClassVar[str] = "KYC_HIGH_RISK_COUNTRY"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate, Remittance)
    default: ClassVar[HighRiskCountryConfig] = HighRiskCountryConfig(severity="high")

    def __init__(self, cfg: HighRiskCountryConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.countries = frozenset(cfg.countries)

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        if isinstance(event, Remittance):
            self._remittance(state, event, ctx, out)
            return
        profile = state.profile
        if profile is None:
            return
        for role in ("nationality", "address_country"):
            country = profile.get(role)
            key = f"hrc|{role}|{country}"
            if country not in self.countries or key in state.flags:
                continue
            state.flags[key] = state.watermark_ms
            label = role.replace("_", " ")
            self._raise(
                state,
                event,
                ctx,
                out,
                (role, country),
                f"customer {label} {country} is a high-risk jurisdiction",
                event.event_id,
                country,
                {"subject": role, "countries": [country], "list_size": len(self.countries)},
            )

    def _remittance(
        self, state: CustomerState, event: Remittance, ctx: Context, out: Findings
    ) -> None:
        if event.kind != "payment":
            return
        other = event.beneficiary if event.direction == "out" else event.originator
        countries = {
            (event.counterparty_country or "").upper(),
            ((other.country if other else None) or "").upper(),
        }
        hits = sorted(countries & self.countries)
        if not hits:
            return
        direction = "to" if event.direction == "out" else "from"
        self._raise(
            state,
            event,
            ctx,
            out,
            (event.txn_id,),
            f"remittance {event.txn_id} {direction} high-risk jurisdiction {', '.join(hits)}",
            event.txn_id,
            hits[0],
            {
                "subject": "remittance",
                "txn_id": event.txn_id,
                "direction": event.direction,
                "countries": hits,
                "list_size": len(self.countries),
                "amount": event.amount,
                "currency": event.currency,
            },
            amount=event.amount,
            currency=event.currency,
        )

    def _raise(
        self,
        state: CustomerState,
        event: Any,
        ctx: Context,
        out: Findings,
        facts: tuple[object, ...],
        summary: str,
        evidence: str,
        country: str,
        figures: dict[str, object] | None = None,
        **money: Any,
    ) -> None:
        alert = ctx.alert(
            self.rule_id,
            self.cfg,
            event.customer_id,
            facts,
            summary,
            event.event_time,
            evidence=[evidence],
            figures=figures,
            **money,
        )
        out.alerts.append(alert)
        key = f"hrc-task|{country}"
        if key not in state.flags:
            state.flags[key] = state.watermark_ms
            out.tasks.append(
                ctx.task(
                    "ENHANCED_DUE_DILIGENCE",
                    event.customer_id,
                    event.event_id,
                    event.event_time,
                    [alert.alert_id],
                    ("country", country),
                )
            )


class KycBeneficialOwner:
    """An entity without an identified natural person owning more than the configured share
    (default 25 %; at least it with `inclusive`): checked at opening and when beneficial
    owners change."""

    rule_id: ClassVar[str] = "KYC_BENEFICIAL_OWNER"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate)
    default: ClassVar[BeneficialOwnerConfig] = BeneficialOwnerConfig()

    def __init__(self, cfg: BeneficialOwnerConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        profile = state.profile
        if profile is None or profile.get("type") != "entity":
            return
        if isinstance(event, CustomerUpdate) and "beneficial_owners" not in ctx.touched:
            return
        cfg = self.cfg
        if beneficial_owner_identified(profile, cfg.ownership_above_pct, cfg.inclusive):
            return
        owners = profile.get("bo") or []
        out.alerts.append(
            ctx.alert(
                self.rule_id,
                self.cfg,
                event.customer_id,
                (event.event_id,),
                f"entity without an identified natural person owning {cfg.share()} "
                f"({len(owners)} owner(s) declared)",
                event.event_time,
                evidence=[event.event_id],
                figures={
                    "ownership_above_pct": self.cfg.ownership_above_pct,
                    "owners_declared": len(owners),
                    "owners_identified": 0,
                },
            )
        )
