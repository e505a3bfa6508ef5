"""The rule registry: rule id -> class, config section and run phase; builds a pack's stages.

Every stage is registered once here and built the same way, `cls(config, pack)`, where
`config` is the stage's pack section: `rules.<rule_id>` for rules, a top-level section
(`risk`, `profile_checks`) for the stages that raise no alert of their own. The pack's
schema (`monitor.core.pack.loader.config_model`) is derived from the same registrations,
so a registered rule is configurable in every pack and validated when the pack loads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from monitor.core.risk import RiskRater
from monitor.core.rules.base import Rule
from monitor.core.rules.behaviour import (
    DormantReactivation,
    FrequentSameCounterparty,
    PassThrough,
)
from monitor.core.rules.cdd import AgentCash, OneOffService
from monitor.core.rules.conductor import LargeCashByConductor
from monitor.core.rules.config import StageConfig
from monitor.core.rules.cycle import FundsCycle
from monitor.core.rules.edd import KycBeneficialOwner, KycHighRiskCountry, KycPep
from monitor.core.rules.funnel import FunnelIn, FunnelOut
from monitor.core.rules.kyc import KycIdExpired, KycIncomplete, ProfileChecks
from monitor.core.rules.large_value import (
    CrossBorderIndividual,
    DomesticTransferIndividual,
    EntityTransfer,
    LargeCash,
)
from monitor.core.rules.network import CounterpartyHub
from monitor.core.rules.remittance import RemitInfoUnresolved, RemitMissingInfo
from monitor.core.rules.sar import SarStructuring
from monitor.core.rules.velocity import FrequentLargeUnclearSource, Structuring
from monitor.core.rules.watchlist import WatchlistMatch, load_matcher

if TYPE_CHECKING:
    from monitor.core.pack import Pack, PackConfig

__all__ = ["PHASES", "REGISTRY", "Phase", "Registration", "Registry", "build_rules"]

logger = logging.getLogger(__name__)

#: when a stage runs on an event: `deadline` before and after the event's rules (decisions
#: due when event time passes a date; also run on a stream time, with no event, by
#: `Engine.advance`), `rule` on the event types it handles,
#: `final` last, seeing every finding of the event (the risk rating)
Phase = Literal["deadline", "rule", "final"]
PHASES: tuple[Phase, ...] = ("deadline", "rule", "final")

#: loads what an enabled stage needs from files next to the pack (a watch list) when the
#: pack loads; the result is `pack.extras[rule_id]`
Resources = Callable[[Any, Path], object]

R = TypeVar("R", bound=type[Rule])  # `register` returns the class it was given


@dataclass(frozen=True, slots=True)
class Registration:
    """One registered stage: its class, its default config (the class's `default`), the
    pack section holding its config (None: `rules.<rule_id>`), its phase and its resource
    loader."""

    cls: type[Rule]
    default: StageConfig = field(compare=False)  # the class's: equal classes, equal defaults
    section: str | None = None
    phase: Phase = "rule"
    resources: Resources | None = None

    @property
    def rule_id(self) -> str:
        return self.cls.rule_id


class Registry:
    """Registered stages in run order. `register` adds one; `copy` gives an independent
    registry (a test or a tool adds its own rules there without touching `REGISTRY`)."""

    def __init__(self, registrations: tuple[Registration, ...] = ()) -> None:
        self._entries: dict[str, Registration] = {}
        for entry in registrations:
            self._add(entry)

    def register(
        self,
        cls: R,
        *,
        section: str | None = None,
        phase: Phase = "rule",
        resources: Resources | None = None,
    ) -> R:
        """Register `cls` under its `rule_id`; its config is `rules.<rule_id>` unless
        `section` names a top-level pack section. Returns `cls` (usable as a decorator)."""
        default = getattr(cls, "default", None)
        if not isinstance(default, StageConfig):
            raise ValueError(
                f"{cls.rule_id}: `default` must be an instance of its config model, "
                f"a StageConfig subclass"
            )
        self._add(Registration(cls, default, section, phase, resources))
        return cls

    def _add(self, entry: Registration) -> None:
        rule_id = entry.rule_id
        if rule_id in self._entries:
            raise ValueError(f"rule id {rule_id} is already registered")
        if entry.phase not in PHASES:
            raise ValueError(f"{rule_id}: unknown phase {entry.phase!r}")
        if entry.phase == "rule" and not entry.cls.handles:
            raise ValueError(f"{rule_id}: a rule of phase 'rule' must handle some event type")
        self._entries[rule_id] = entry

    def copy(self) -> Registry:
        return Registry(tuple(self._entries.values()))

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def registrations(self) -> tuple[Registration, ...]:
        return tuple(self._entries.values())

    def rule_ids(self) -> list[str]:
        """The ids configured under `rules` (the ids alerts, routes and suppression name)."""
        return [e.rule_id for e in self._entries.values() if e.section is None]

    def phase(self, rule_id: str) -> Phase:
        return self._entries[rule_id].phase

    def config(self, entry: Registration, config: PackConfig) -> StageConfig:
        """`entry`'s config in a validated pack."""
        if entry.section is None:
            return config.rules.of(entry.rule_id, StageConfig)
        cfg = getattr(config, entry.section)
        if not isinstance(cfg, StageConfig):
            raise TypeError(f"{entry.section} is not a stage config")
        return cfg

    def resources(self, config: PackConfig, base_dir: Path) -> dict[str, object]:
        """What the enabled stages load from files when the pack loads, by rule id."""
        return {
            e.rule_id: e.resources(self.config(e, config), base_dir)
            for e in self._entries.values()
            if e.resources is not None and self.config(e, config).enabled
        }

    def build(self, pack: Pack) -> list[Rule]:
        """The enabled stages of `pack`, phase by phase, each phase in registration order
        (findings always come out in one order)."""
        built: dict[Phase, list[Rule]] = {phase: [] for phase in PHASES}
        for entry in self._entries.values():
            cfg = self.config(entry, pack.config)
            if cfg.enabled:
                built[entry.phase].append(entry.cls(cfg, pack))
        return [stage for phase in PHASES for stage in built[phase]]


#: the stages of every pack, in run order within each phase
REGISTRY = Registry()
REGISTRY.register(LargeCash)
REGISTRY.register(LargeCashByConductor)
REGISTRY.register(CrossBorderIndividual)
REGISTRY.register(DomesticTransferIndividual)
REGISTRY.register(EntityTransfer)
REGISTRY.register(OneOffService)
REGISTRY.register(AgentCash)
REGISTRY.register(RemitMissingInfo)
REGISTRY.register(RemitInfoUnresolved, phase="deadline")
REGISTRY.register(Structuring)
REGISTRY.register(FrequentLargeUnclearSource)
REGISTRY.register(SarStructuring)
REGISTRY.register(FunnelIn)
REGISTRY.register(FunnelOut)
REGISTRY.register(PassThrough)
REGISTRY.register(FrequentSameCounterparty)
REGISTRY.register(DormantReactivation)
REGISTRY.register(CounterpartyHub)
REGISTRY.register(FundsCycle)
REGISTRY.register(KycIncomplete)
REGISTRY.register(KycIdExpired)
REGISTRY.register(KycPep)
REGISTRY.register(KycHighRiskCountry)
REGISTRY.register(KycBeneficialOwner)
REGISTRY.register(WatchlistMatch, resources=load_matcher)
REGISTRY.register(ProfileChecks, section="profile_checks")
REGISTRY.register(RiskRater, section="risk", phase="final")


def build_rules(pack: Pack) -> list[Rule]:
    """The enabled stages of `pack`, built by the registry the pack was validated against."""
    return pack.registry.build(pack)
