"""The functional core's entry point: (state, event, pack) -> (new state, findings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.core.pack import Pack
from monitor.core.profile import merge_profile
from monitor.core.rules.base import Context, Findings, Rule
from monitor.core.state import CustomerState
from schemas import (
    AccountOpening,
    CashTransaction,
    CustomerUpdate,
    InputEvent,
    Remittance,
    Transfer,
)

__all__ = ["Engine", "Outcome"]

logger = logging.getLogger(__name__)

_EVENT_TYPES: tuple[type, ...] = (
    AccountOpening,
    CustomerUpdate,
    CashTransaction,
    Remittance,
    Transfer,
)
_PROFILE_TYPES = (AccountOpening, CustomerUpdate)
_BRANCHED_TYPES = (AccountOpening, CashTransaction)  # events with a branch_code
_PRUNE_EVERY_DAYS = 3


@dataclass(slots=True)
class Outcome:
    """The customer's new state and what the event produced. `duplicate` is true when the
    event id was already applied: the state is unchanged and there are no findings."""

    state: CustomerState
    findings: Findings
    duplicate: bool = False


class Engine:
    """Applies a pack's enabled stages to one event at a time. No I/O, no clock: the same
    inputs in the same order always give the same outputs.

    The registry the pack was validated against builds the stages (`rules`); an event of
    type T runs, in this order: the `deadline` stages, the `rule` stages handling T, the
    `deadline` stages again (a late payment whose follow-up deadline has passed), then the
    `final` stages (the risk rating)."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        registry = pack.registry
        self.rules: list[Rule] = registry.build(pack)
        by_phase = {
            phase: [r for r in self.rules if registry.phase(r.rule_id) == phase]
            for phase in ("deadline", "rule", "final")
        }
        deadlines, finals = by_phase["deadline"], by_phase["final"]
        self._plan: dict[type, tuple[Rule, ...]] = {
            t: (*deadlines, *[r for r in by_phase["rule"] if t in r.handles], *deadlines, *finals)
            for t in _EVENT_TYPES
        }
        self._tz = pack.tz
        self._state_cfg = pack.config.state

    def process(
        self,
        state: CustomerState | None,
        event: InputEvent,
        detected_at: datetime,
        event_ms: int | None = None,
    ) -> Outcome:
        """Apply `event` to `state` (which the call owns and may change) and return the
        outcome. `detected_at` is stamped on alerts; it never influences a decision.
        `event_ms` is the event time in epoch ms when the caller has it already."""
        if state is None:
            state = CustomerState(event.customer_id)
        seen = state.seen
        if event.event_id in seen:
            return Outcome(state, Findings(), True)
        if event_ms is None:
            event_ms = int(event.event_time.timestamp() * 1000)
        seen[event.event_id] = event_ms
        if event_ms > state.watermark_ms:
            state.watermark_ms = event_ms
        day = event.event_time.astimezone(self._tz).date()
        kind = type(event)
        branch = event.branch_code if isinstance(event, _BRANCHED_TYPES) else None
        pack = self.pack
        if isinstance(event, _PROFILE_TYPES):
            touched, changed, conflicts = merge_profile(
                state, event, Context(pack, detected_at, day, event_ms)
            )
            ctx = Context(
                pack,
                detected_at,
                day,
                event_ms,
                frozenset(touched),
                (frozenset(changed), tuple(conflicts)),
                branch,
            )
        else:
            ctx = Context(pack, detected_at, day, event_ms, frozenset(), None, branch)
        findings = Findings()
        for stage in self._plan[kind]:
            stage.apply(state, event, ctx, findings)
        # prune every few event days (pruning only drops what no rule reads any more)
        cfg = self._state_cfg
        ordinal = day.toordinal()
        if ordinal >= state.pruned_day + _PRUNE_EVERY_DAYS or len(seen) > cfg.max_seen_events:
            state.prune(cfg.retention_days, cfg.max_seen_events, cfg.max_window_items)
            state.pruned_day = ordinal
        return Outcome(state, findings)
