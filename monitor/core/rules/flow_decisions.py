"""Behaviour rules decided once the pack's grace has passed: with `deadline_grace_hours` > 0,
FUNNEL_IN, FUNNEL_OUT, PASS_THROUGH, FREQUENT_SAME_COUNTERPARTY and DORMANT_REACTIVATION
decide each point of a customer's FLOWS window when the stream time (or the customer's own
watermark) has passed the point's time plus the grace, as of that point's time. Every
transfer and payment dated before the point has arrived by then (the contract's bound on
disorder across topics), so the decision is the one event order gives, whatever order the
topics arrived in."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.core.clock import deadline_context
from monitor.core.rules.base import Context, Findings
from monitor.core.rules.flows import FLOWS, AsOf, FlowRule
from monitor.core.state import CustomerState

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["FlowDecisions", "flow_decisions"]

logger = logging.getLogger(__name__)


class FlowDecisions:
    """The deadline stage deciding the behaviour rules' pending points (`FlowRule.pending`
    bits on FLOWS items), oldest first, each rule in registry order."""

    rule_id: ClassVar[str] = "FLOW_DECISIONS"
    handles: ClassVar[tuple[type, ...]] = ()

    def __init__(self, cfg: list[FlowRule[Any]], pack: Pack) -> None:
        self.rules = cfg
        self.mask = 0
        for rule in cfg:
            self.mask |= rule.pending
        self.grace_ms = pack.config.deadline_grace_hours * 3_600_000

    def next_due_ms(self, state: CustomerState, grace_ms: int) -> int | None:
        """The event time after which the oldest pending point is decided."""
        mask = self.mask
        for item in state.windows.get(FLOWS, ()):
            if item.reported & mask:
                return int(item.event_ms) + grace_ms
        return None

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        items = state.windows.get(FLOWS)
        if not items:
            return
        mask, now_ms = self.mask, max(state.watermark_ms, ctx.event_ms)
        due = [
            (i.event_ms, i.txn_id)
            for i in items
            if i.reported & mask and i.event_ms + self.grace_ms < now_ms
        ]
        if not due:
            return
        base = deadline_context(ctx)
        for event_ms, txn_id in due:
            moment = ctx.at(event_ms)
            then = replace(base, event_ms=event_ms, day=moment.date())
            point = AsOf(state.customer_id, moment)
            for rule in self.rules:
                # the item as it stands now (an earlier decision may have marked it)
                item = next(
                    i for i in state.windows[FLOWS] if (i.event_ms, i.txn_id) == (event_ms, txn_id)
                )
                if item.reported & rule.pending and rule.is_point(state, item):
                    rule.check(state, item, point, then, out)
        decided = set(due)
        state.windows[FLOWS] = [
            i._replace(reported=i.reported & ~mask) if (i.event_ms, i.txn_id) in decided else i
            for i in state.windows[FLOWS]
        ]


def flow_decisions(rules: list[Any], pack: Pack) -> FlowDecisions | None:
    """The stage deciding `rules`' deferred points, or None when the pack decides them at
    once (no grace) or no behaviour rule is enabled."""
    deferred = [r for r in rules if isinstance(r, FlowRule) and r.pending]
    return FlowDecisions(deferred, pack) if deferred else None
