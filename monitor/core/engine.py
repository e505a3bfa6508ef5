"""The functional core's entry point: (state, event, pack) -> (new state, findings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.clock import DeadlineStage
from monitor.core.pack import Pack
from monitor.core.risk import RiskRater
from monitor.core.rules import Context, Findings, Rule, build_rules
from monitor.core.rules.kyc import merge_profile
from monitor.core.state import CustomerState
from schemas import AccountOpening, CashTransaction, CustomerUpdate, InputEvent, Remittance

__all__ = ["Engine", "Outcome"]

_PROFILE_TYPES = frozenset({AccountOpening, CustomerUpdate})
_BRANCHED_TYPES = frozenset({AccountOpening, CashTransaction})  # events with a branch_code
_PRUNE_EVERY_DAYS = 3


@dataclass(slots=True)
class Outcome:
    """The customer's new state and what the event produced. `duplicate` is true when the
    event id was already applied: the state is unchanged and there are no findings."""

    state: CustomerState
    findings: Findings
    duplicate: bool = False


class Engine:
    """Applies a pack's enabled rules to one event at a time. No I/O, no clock: the same
    inputs in the same order always give the same outputs."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.rules: list[Rule] = build_rules(pack)
        self._every = [r for r in self.rules if not r.handles]
        self._by_type: dict[type, list[Rule]] = {
            t: [r for r in self.rules if t in r.handles]
            for t in (AccountOpening, CustomerUpdate, CashTransaction, Remittance)
        }
        cfg = pack.config
        self._grace_ms = cfg.deadline_grace_hours * 3_600_000
        self._tz = pack.tz
        self._state_cfg = cfg.state
        self._rater = (
            RiskRater(
                cfg.risk,
                frozenset(cfg.rules.KYC_HIGH_RISK_COUNTRY.countries),
                cfg.rules.KYC_BENEFICIAL_OWNER.ownership_above_pct,
                {
                    "individual": cfg.rules.KYC_INCOMPLETE.individual_fields,
                    "entity": cfg.rules.KYC_INCOMPLETE.entity_fields,
                },
            )
            if cfg.risk.enabled
            else None
        )
        self._deadlines: list[DeadlineStage] = [
            s for s in (*self._every, self._rater) if isinstance(s, DeadlineStage)
        ]

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
        branch = event.branch_code if kind in _BRANCHED_TYPES else None
        pack = self.pack
        profile_event = kind in _PROFILE_TYPES
        if profile_event:
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
        every = self._every
        for rule in every:
            rule.apply(state, event, ctx, findings)
        for rule in self._by_type[kind]:
            rule.apply(state, event, ctx, findings)
        for rule in every:  # again: a late payment whose follow-up deadline has passed
            rule.apply(state, event, ctx, findings)
        if self._rater is not None:
            self._rater.apply(state, event, ctx, findings, profile_event)
        # prune every few event days (pruning only drops what no rule reads any more)
        cfg = self._state_cfg
        ordinal = day.toordinal()
        if ordinal >= state.pruned_day + _PRUNE_EVERY_DAYS or len(seen) > cfg.max_seen_events:
            state.prune(cfg.retention_days, cfg.max_seen_events, cfg.max_window_items)
            state.pruned_day = ordinal
        return Outcome(state, findings)

    def advance(self, state: CustomerState, now_ms: int, detected_at: datetime) -> Outcome:
        """Decide every deadline of `state` that the stream time `now_ms` (epoch ms) has
        passed, as the customer's own next event would: the same findings and ids, each
        finding's event time the deadline itself. The state's watermark is left alone."""
        findings = Findings()
        if now_ms <= state.watermark_ms:  # the customer's own events decided these already
            return Outcome(state, findings)
        day = datetime.fromtimestamp(now_ms / 1000, self._tz).date()
        ctx = Context(self.pack, detected_at, day, now_ms)
        for rule in self._every:
            rule.apply(state, None, ctx, findings)
        if self._rater is not None:
            self._rater.apply(state, None, ctx, findings, False)
        return Outcome(state, findings)

    def next_deadline_ms(self, state: CustomerState) -> int | None:
        """The event time after which `advance` has something to decide for `state`."""
        grace_ms = self._grace_ms
        dues = [d for s in self._deadlines if (d := s.next_due_ms(state, grace_ms)) is not None]
        return min(dues) if dues else None
