"""The functional core's entry point: (state, event, pack) -> (new state, findings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.core.clock import DeadlineStage
from monitor.core.pack import Pack
from monitor.core.profile import merge_profile
from monitor.core.rules.base import Context, Findings, Rule
from monitor.core.state import CustomerState
from schemas import AccountOpening, CashTransaction, CustomerUpdate, InputEvent, Remittance

__all__ = ["Engine", "Outcome"]

logger = logging.getLogger(__name__)

_EVENT_TYPES: tuple[type, ...] = (AccountOpening, CustomerUpdate, CashTransaction, Remittance)
_PROFILE_TYPES = (AccountOpening, CustomerUpdate)
_BRANCHED_TYPES = (AccountOpening, CashTransaction)  # events with a branch_code
_PRUNE_EVERY_DAYS = 3
_MOST_DEADLINES = 100  # deadline times decided in one call (a long silence: the next call)


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
    `final` stages (the risk rating). A stream time (`advance`) runs the `deadline` stages,
    then the `final` ones, with no event."""

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
        #: what a stream time runs (`advance`): the deadline stages, then the final ones
        self._on_time = (*deadlines, *finals)
        self._deadlines = [s for s in self._on_time if isinstance(s, DeadlineStage)]
        self._grace_ms = pack.config.deadline_grace_hours * 3_600_000
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
        passed = self.advance(state, event_ms, detected_at).findings  # as a stream time would
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
        if passed.alerts or passed.tasks:  # the deadlines first, as they came first
            findings.alerts[:0], findings.tasks[:0] = passed.alerts, passed.tasks
        # prune every few event days (pruning only drops what no rule reads any more)
        cfg = self._state_cfg
        ordinal = day.toordinal()
        if ordinal >= state.pruned_day + _PRUNE_EVERY_DAYS or len(seen) > cfg.max_seen_events:
            state.prune(cfg.retention_days, cfg.max_seen_events, cfg.max_window_items)
            state.pruned_day = ordinal
        return Outcome(state, findings)

    def advance(self, state: CustomerState, now_ms: int, detected_at: datetime) -> Outcome:
        """Decide every deadline of `state` that event time `now_ms` (epoch ms; a stream
        time, or the customer's own next event: `process` calls this first) has passed.

        Deadlines are decided one time after another, in their order, each as of the moment
        it passed (the deadline stages, then the final ones, with no event and `ctx.event_ms`
        just after it): what they find and what they change (a rating raised by a
        suspicious alert, the next review date) does not depend on when, or by what, they
        were decided. Each finding's event time is the deadline itself. The watermark is
        left alone."""
        findings = Findings()
        if now_ms <= state.watermark_ms:  # the customer's own events decided these already
            return Outcome(state, findings)
        last = None
        for _ in range(_MOST_DEADLINES):
            due = self.next_deadline_ms(state)
            if due is None or due >= now_ms or (last is not None and due <= last):
                break
            last, at = due, due + 1
            ctx = Context(
                self.pack, detected_at, datetime.fromtimestamp(at / 1000, self._tz).date(), at
            )
            decided = Findings()  # each deadline's tasks carry the rating of its moment
            for stage in self._on_time:
                stage.apply(state, None, ctx, decided)
            findings.alerts += decided.alerts
            findings.tasks += decided.tasks
        return Outcome(state, findings)

    def next_deadline_ms(self, state: CustomerState) -> int | None:
        """The event time after which `advance` has something to decide for `state`."""
        grace_ms = self._grace_ms
        dues = [d for s in self._deadlines if (d := s.next_due_ms(state, grace_ms)) is not None]
        return min(dues) if dues else None
