"""The rule core: plain Python rules, registered by id and built from a pack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.rules.base import Context, Findings, Rule
from monitor.core.rules.cdd import AgentCash, OneOffService
from monitor.core.rules.kyc import (
    KycBeneficialOwner,
    KycHighRiskCountry,
    KycIdExpired,
    KycIncomplete,
    KycPep,
    ProfileChecks,
)
from monitor.core.rules.large_value import CrossBorderIndividual, EntityTransfer, LargeCash
from monitor.core.rules.remittance import RemitInfoUnresolved, RemitMissingInfo
from monitor.core.rules.velocity import FrequentLargeUnclearSource, Structuring
from monitor.core.rules.watchlist import WatchlistMatch

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["REGISTRY", "Context", "Findings", "Rule", "build_rules"]

#: rule id -> rule class; the pack's `rules.<id>` section is that class's config.
REGISTRY: dict[str, type] = {
    cls.rule_id: cls
    for cls in (
        LargeCash,
        CrossBorderIndividual,
        EntityTransfer,
        OneOffService,
        AgentCash,
        RemitMissingInfo,
        RemitInfoUnresolved,
        Structuring,
        FrequentLargeUnclearSource,
        KycIncomplete,
        KycIdExpired,
        KycPep,
        KycHighRiskCountry,
        KycBeneficialOwner,
        WatchlistMatch,
    )
}


def build_rules(pack: Pack) -> list[Rule]:
    """The enabled rules of a pack, in a fixed order (findings always come out in one order).
    Rules with no `handles` run on every event of a customer (event-time deadlines) and
    come first."""
    rules_cfg = pack.config.rules
    mandatory = {
        "individual": rules_cfg.KYC_INCOMPLETE.individual_fields,
        "entity": rules_cfg.KYC_INCOMPLETE.entity_fields,
    }
    unresolved = rules_cfg.REMIT_INFO_UNRESOLVED
    follow_up = unresolved.follow_up_working_days if unresolved.enabled else None
    built: list[Rule] = []
    for rule_id, cfg in rules_cfg:
        if not cfg.enabled:
            continue
        cls = REGISTRY[rule_id]
        if cls in (OneOffService, AgentCash):
            built.append(cls(cfg, mandatory))
        elif cls is RemitMissingInfo:
            built.append(cls(cfg, follow_up))
        elif cls is WatchlistMatch:
            built.append(cls(cfg, pack.extras["watchlist"]))
        else:
            built.append(cls(cfg))
    if pack.config.profile_checks.enabled:
        built.append(ProfileChecks())
    built.sort(key=lambda r: 0 if not r.handles else 1)
    return built
