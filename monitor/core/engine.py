"""The functional core's entry point: (state, event, pack) -> (new state, findings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from monitor.core import early
from monitor.core.clock import IDLE_KINDS, DeadlineStage, is_idle_key
from monitor.core.conductor import ConductorCash
from monitor.core.network import Edge, Token, network_edges
from monitor.core.pack import Pack
from monitor.core.profile import digest_update, fold_update, merge_profile
from monitor.core.rules.base import Context, Findings, Rule
from monitor.core.rules.flow_decisions import flow_decisions
from monitor.core.rules.network import edge_floor
from monitor.core.state import DAY_MS, CustomerState
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
_BRANCHED_TYPES = (AccountOpening, CashTransaction, ConductorCash)  # with a branch_code
_PRUNE_EVERY_DAYS = 3
_MOST_DEADLINES = 100  # deadline times decided in one call (a long silence: the next call)


@dataclass(slots=True)
class Outcome:
    """The customer's new state and what the event produced. `duplicate` is true when the
    event id was already applied: the state is unchanged and there are no findings.
    `expired` counts early arrivals dropped unapplied by this call (`monitor.core.early`)."""

    state: CustomerState
    findings: Findings
    duplicate: bool = False
    expired: int = 0


class Engine:
    """Applies a pack's enabled stages to one event at a time. No I/O, no clock: the same
    inputs in the same order always give the same outputs.

    The registry the pack was validated against builds the stages (`rules`); an event of
    type T runs, in this order: the `deadline` stages, the `rule` stages handling T, the
    `deadline` stages again (a late payment whose follow-up deadline has passed), then the
    `final` stages (the risk rating). A stream time (`advance`) runs the `deadline` stages,
    then the `final` ones, with no event.

    A customer update of a customer without an opening is kept (`monitor.core.early`) and
    applied, with its own rule run, right after the opening; a remittance supplement
    before its payment is kept by REMIT_MISSING_INFO the same way."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        registry = pack.registry
        self.rules: list[Rule] = registry.build(pack)
        by_phase = {
            phase: [r for r in self.rules if registry.phase(r.rule_id) == phase]
            for phase in ("deadline", "rule", "final")
        }
        deadlines, finals = by_phase["deadline"], by_phase["final"]
        deferred = flow_decisions(by_phase["rule"], pack)  # behaviour rules under a grace
        if deferred is not None:
            deadlines.append(deferred)
        self._plan: dict[type, tuple[Rule, ...]] = {
            t: (*deadlines, *[r for r in by_phase["rule"] if t in r.handles], *deadlines, *finals)
            for t in _EVENT_TYPES
        }
        # cash in its conductor's state record: the rules that aggregate per conductor only
        # (`monitor.core.conductor`); no deadline or final stage, it is no customer's record
        self._plan[ConductorCash] = tuple(r for r in by_phase["rule"] if ConductorCash in r.handles)
        #: whether any enabled rule aggregates cash per conductor (else none is re-keyed)
        self.conductors = bool(self._plan[ConductorCash])
        # transfers in an account's state record, and the paths passed between them: the
        # rules across customers only (`monitor.core.network`)
        for kind in (Edge, Token):
            self._plan[kind] = tuple(r for r in by_phase["rule"] if kind in r.handles)
        #: whether transfers are applied to account records (`network_edges`), and with the
        #: customer's own account's side too (FUNDS_CYCLE)
        self.network = bool(self._plan[Edge])
        self.cycles = bool(self._plan[Token])
        self._enough = edge_floor(pack, self._plan[Edge])
        self._enough_own = edge_floor(pack, self._plan[Token])  # the own side: cycles only
        #: what a stream time runs (`advance`): the deadline stages, then the final ones
        self._on_time = (*deadlines, *finals)
        self._deadlines = [s for s in self._on_time if isinstance(s, DeadlineStage)]
        self._grace_ms = pack.config.deadline_grace_hours * 3_600_000
        self._tz = pack.tz
        cfg = pack.config.state
        self._state_cfg = cfg
        # an early arrival waits no longer than its event id is remembered (`seen`)
        self._early_ttl_ms = min(cfg.early_ttl_hours * 3_600_000, cfg.retention_days * DAY_MS)

    def process(
        self,
        state: CustomerState | None,
        event: InputEvent | ConductorCash | Edge | Token,
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
        # the customer's passed deadlines first, as a stream time would have decided them
        # (a record of an account, a conductor or a path has no deadline stage)
        passed = None if type(event) in IDLE_KINDS else self.advance(state, event_ms, detected_at)
        seen[event.event_id] = event_ms
        if event_ms > state.watermark_ms:
            state.watermark_ms = event_ms
        expired = early.expire(state, self._early_ttl_ms) if state.early else 0
        day = event.event_time.astimezone(self._tz).date()
        kind = type(event)
        branch = event.branch_code if isinstance(event, _BRANCHED_TYPES) else None
        pack = self.pack
        if isinstance(event, _PROFILE_TYPES):
            if state.profile is None and isinstance(event, CustomerUpdate):
                expired += self._hold_update(state, event, event_ms)
            folded = merge_profile(state, event, Context(pack, detected_at, day, event_ms))
            ctx = _profile_context(pack, detected_at, day, event_ms, folded, branch)
        else:
            ctx = Context(pack, detected_at, day, event_ms, frozenset(), None, branch)
        findings = Findings()
        for stage in self._plan[kind]:
            stage.apply(state, event, ctx, findings)
        if isinstance(event, AccountOpening) and state.early:
            expired += self._apply_held_updates(state, event_ms, detected_at, findings)
        if passed is not None and (passed.findings.alerts or passed.findings.tasks):
            # the deadlines first, as they came first
            findings.alerts[:0], findings.tasks[:0] = passed.findings.alerts, passed.findings.tasks
        # prune every few event days (pruning only drops what no rule reads any more)
        cfg = self._state_cfg
        ordinal = day.toordinal()
        if ordinal >= state.pruned_day + _PRUNE_EVERY_DAYS or len(seen) > cfg.max_seen_events:
            state.prune(cfg.retention_days, cfg.max_seen_events, cfg.max_window_items)
            state.pruned_day = ordinal
        return Outcome(state, findings, False, expired)

    def edges(self, event: object) -> list[Edge]:
        """The edges of a transfer or remittance that the rules across customers apply to
        account records (`monitor.core.network`): none when the pack has no such rule or
        the amount is below every one's minimum."""
        if not self.network:
            return []
        return network_edges(event, self.cycles, self._enough, self._enough_own)

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
        """The event time after which `advance` has something to decide for `state`; None
        for a record that is no customer's (an account's, a conductor's: no deadlines)."""
        if is_idle_key(state.customer_id):
            return None
        grace_ms = self._grace_ms
        dues = [d for s in self._deadlines if (d := s.next_due_ms(state, grace_ms)) is not None]
        return min(dues) if dues else None

    def _hold_update(self, state: CustomerState, event: CustomerUpdate, event_ms: int) -> int:
        """Keep an update that arrived before the customer's opening, digested."""
        body = {"at": event.updated_at.isoformat(), "d": digest_update(event, self.pack)}
        cap = self._state_cfg.max_early_items
        return early.hold(state, early.UPDATE, event.event_id, event_ms, "", body, cap)

    def _apply_held_updates(
        self, state: CustomerState, opened_ms: int, detected_at: datetime, findings: Findings
    ) -> int:
        """Apply the updates kept for this opening, oldest first, each with its own rule run
        (as if it had arrived after the opening); returns how many were dropped: an update
        dated before the opening is superseded by it, as per-field event time gives."""
        dropped = 0
        for item in early.take(state, early.UPDATE):
            if item["t"] < opened_ms:
                dropped += 1
                continue
            self._apply_update(state, item, detected_at, findings)
        return dropped

    def _apply_update(
        self, state: CustomerState, item: dict[str, Any], detected_at: datetime, out: Findings
    ) -> None:
        at = datetime.fromisoformat(item["b"]["at"])
        # the rules read the update's id, customer and time; the changes are in the digest
        # (names were screened when the update arrived)
        event = CustomerUpdate.model_construct(
            event_id=item["id"], customer_id=state.customer_id, updated_at=at, changes={}
        )
        event_ms: int = item["t"]
        day = at.astimezone(self._tz).date()
        pack = self.pack
        folded = fold_update(state, item["b"]["d"], Context(pack, detected_at, day, event_ms))
        ctx = _profile_context(pack, detected_at, day, event_ms, folded, None)
        findings = Findings()  # its own: the final stages read what this event produced
        for stage in self._plan[CustomerUpdate]:
            stage.apply(state, event, ctx, findings)
        out.alerts.extend(findings.alerts)
        out.tasks.extend(findings.tasks)


def _profile_context(
    pack: Pack,
    detected_at: datetime,
    day: date,
    event_ms: int,
    folded: tuple[set[str], set[str], list[str]],
    branch: str | None,
) -> Context:
    """The rules' context of an opening or update whose profile changes were `folded` into
    the state (`merge_profile`, `fold_update`): the paths touched, the watched fields that
    changed and the contradictions found."""
    touched, changed, conflicts = folded
    return Context(
        pack,
        detected_at,
        day,
        event_ms,
        frozenset(touched),
        (frozenset(changed), tuple(conflicts)),
        branch,
    )
