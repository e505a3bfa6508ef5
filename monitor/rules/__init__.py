"""The rule core: plain Python rules, registered by id and built from a pack."""

from monitor.rules.base import Context, Findings, Rule
from monitor.rules.kyc import KycIncomplete
from monitor.rules.large_value import LargeCash
from monitor.rules.remittance import RemitMissingInfo

__all__ = ["REGISTRY", "Context", "Findings", "Rule", "build_rules"]

#: rule id -> rule class; the pack's `rules.<id>` section is that class's config.
REGISTRY: dict[str, type] = {
    LargeCash.rule_id: LargeCash,
    RemitMissingInfo.rule_id: RemitMissingInfo,
    KycIncomplete.rule_id: KycIncomplete,
}


def build_rules(pack) -> list[Rule]:  # noqa: ANN001 - Pack, imported lazily by callers
    """The enabled rules of a pack, in a fixed order (so findings come out in one order)."""
    rules: list[Rule] = []
    for rule_id, cfg in pack.config.rules:
        if cfg.enabled:
            rules.append(REGISTRY[rule_id](cfg))
    return rules
