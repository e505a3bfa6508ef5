"""Account behaviour over days (PBoC 2006 Order No.2, art. 11(1), (2), (4)): PASS_THROUGH
(快进快出), FREQUENT_SAME_COUNTERPARTY (相同收付款人之间频繁收付) and DORMANT_REACTIVATION
(长期闲置的账户突然启用)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field

from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import Money, money
from monitor.core.rules.flows import (
    FLOWS,
    OWN,
    BehaviourConfig,
    FlowRule,
    cents_of,
    count,
    flow_alert,
    mark_reported,
    money_text,
    pct,
    recent,
)
from monitor.core.state import DAY_MS, CustomerState, FlowItem
from schemas import CashTransaction, Remittance, Transfer

__all__ = [
    "DormantConfig",
    "DormantReactivation",
    "FrequentCounterpartyConfig",
    "FrequentSameCounterparty",
    "PassThrough",
    "PassThroughConfig",
]

logger = logging.getLogger(__name__)

_HOUR_MS = 3_600_000


class PassThroughConfig(BehaviourConfig):
    """Within `window_days`: >= `min_cycles` third-party inflows, each >= `min_inflow`,
    of which >= `min_out_share_pct` % left to third parties within `within_hours`."""

    window_days: int = Field(default=7, ge=1, le=90)
    within_hours: int = Field(default=24, ge=1, le=24 * 30)
    min_out_share_pct: Decimal = Field(default=Decimal(90), gt=0, le=100)
    min_cycles: int = Field(default=3, ge=1, le=1000)
    min_inflow: Money = money("CNY", 10000)


class FrequentCounterpartyConfig(BehaviourConfig):
    """Within `window_days`: >= `min_count` transfers, each >= `min_amount`, between the
    customer and one counterparty account; with `both_directions`, money went both ways."""

    window_days: int = Field(default=7, ge=1, le=90)
    min_count: int = Field(default=6, ge=2, le=10_000)
    min_amount: Money = money("CNY", 10000)
    both_directions: bool = True


class DormantConfig(BehaviourConfig):
    """A movement after >= `idle_days` without any (transfer, remittance or cash; the
    account opening when none was seen and `count_from_opening`), then transfers and
    remittances totalling >= `min_total` within `window_days` of it."""

    idle_days: int = Field(default=180, ge=30, le=365)
    window_days: int = Field(default=7, ge=1, le=90)
    min_total: Money = money("CNY", 200000)
    count_from_opening: bool = True


class _Inflow:
    """An inflow being matched: the cents not yet paid on and the outflows that did."""

    __slots__ = ("item", "outs", "rest")

    def __init__(self, item: FlowItem) -> None:
        self.item = item
        self.rest = item.cents
        self.outs: list[FlowItem] = []

    @property
    def paid_on(self) -> int:
        return self.item.cents - self.rest


class PassThrough(FlowRule[PassThroughConfig]):
    """PASS_THROUGH: money in and straight out again, repeatedly, little left behind.
    Outflows are matched to the oldest open inflow first (first in, first out); transfers
    to or from the customer's own accounts do not count. Evaluated when money leaves."""

    rule_id: ClassVar[str] = "PASS_THROUGH"
    handles: ClassVar[tuple[type, ...]] = (Transfer, Remittance)
    default: ClassVar[PassThroughConfig] = PassThroughConfig()

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        if len(state.windows[FLOWS]) < 2 * cfg.min_cycles:  # cheap: too few flows to qualify
            return
        items = [
            i for i in recent(state, ctx.event_ms, cfg.window_days, self.bit) if not i.tags & OWN
        ]
        floor = cents_of(cfg.min_inflow, ctx)
        within = cfg.within_hours * _HOUR_MS
        opened: list[_Inflow] = []
        for i in items:
            if i.direction == "in":
                if i.cents >= floor:
                    opened.append(_Inflow(i))
                continue
            left = i.cents
            for inflow in opened:
                if left <= 0:
                    break
                if inflow.rest <= 0 or i.event_ms - inflow.item.event_ms > within:
                    continue
                take = min(left, inflow.rest)
                inflow.rest -= take
                left -= take
                inflow.outs.append(i)
        passed = [f for f in opened if f.paid_on * 100 >= f.item.cents * cfg.min_out_share_pct]
        if len(passed) < cfg.min_cycles:
            return
        in_total = sum(f.item.cents for f in passed)
        paid_on = sum(f.paid_on for f in passed)
        outs = {(o.event_ms, o.txn_id): o for f in passed for o in f.outs}
        chosen = [f.item for f in passed] + list(outs.values())
        mark_reported(state, chosen, self.bit)
        summary = (
            f"{len(passed)} inflows totalling {money_text(in_total, ctx)} each left again "
            f"within {cfg.within_hours} hours ({pct(paid_on, in_total)}% paid on, "
            f"{money_text(in_total - paid_on, ctx)} left) in {count(len(outs), 'outflow')} "
            f"within {cfg.window_days} days"
        )
        out.alerts.append(flow_alert(self.rule_id, cfg, event, ctx, chosen, summary, in_total))


class FrequentSameCounterparty(FlowRule[FrequentCounterpartyConfig]):
    """FREQUENT_SAME_COUNTERPARTY: the customer and one counterparty account paying each
    other often within days. Own-account transfers and unknown accounts do not count."""

    rule_id: ClassVar[str] = "FREQUENT_SAME_COUNTERPARTY"
    handles: ClassVar[tuple[type, ...]] = (Transfer, Remittance)
    default: ClassVar[FrequentCounterpartyConfig] = FrequentCounterpartyConfig()

    def is_point(self, state: CustomerState, item: FlowItem) -> bool:
        return not item.tags & OWN and bool(item.counterparty)

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        if len(state.windows[FLOWS]) < cfg.min_count:  # cheap: too few flows to qualify
            return
        floor = cents_of(cfg.min_amount, ctx)
        if item.cents < floor:
            return
        party = item.counterparty
        same = [
            i
            for i in recent(state, ctx.event_ms, cfg.window_days, self.bit)
            if i.counterparty == party and i.cents >= floor and not i.tags & OWN
        ]
        if len(same) < cfg.min_count:
            return
        ins = sum(1 for i in same if i.direction == "in")
        if cfg.both_directions and not 0 < ins < len(same):
            return
        mark_reported(state, same, self.bit)
        total = sum(i.cents for i in same)
        summary = (
            f"{len(same)} transfers with one counterparty account within {cfg.window_days} "
            f"days ({ins} in, {len(same) - ins} out), totalling {money_text(total, ctx)}"
        )
        out.alerts.append(flow_alert(self.rule_id, cfg, event, ctx, same, summary, total))


# `flags` keys (values are event times, epoch ms)
_LAST = "DR|last"  # the customer's last movement
_SINCE = "DR|since"  # the first movement after the account lay idle
_FROM = "DR|from"  # the movement (or opening) before that


class DormantReactivation(FlowRule[DormantConfig]):
    """DORMANT_REACTIVATION: an account without movements for months suddenly moving large
    sums. The last movement's time is kept in `flags` (a year at most, like every flag);
    with none, the account opening's time counts. Fires once per reactivation. A movement
    arriving late (from another topic, within the pack's grace) that falls inside the idle
    gap of a reactivation not yet alerted moves its start or cancels it, as event order would."""

    rule_id: ClassVar[str] = "DORMANT_REACTIVATION"
    handles: ClassVar[tuple[type, ...]] = (Transfer, Remittance, CashTransaction)
    default: ClassVar[DormantConfig] = DormantConfig()

    def apply(
        self,
        state: CustomerState,
        event: Transfer | Remittance | CashTransaction,
        ctx: Context,
        out: Findings,
    ) -> None:
        if type(event) is Remittance and (event.kind != "payment" or event.amount is None):
            return
        cfg = self.cfg
        now = ctx.event_ms
        flags = state.flags
        last = flags.get(_LAST)
        if last is None and cfg.count_from_opening and state.profile is not None:
            last = state.profile.get("t0")  # the opening's event time
            if last is None and state.profile.get("opened_at"):  # a record older than t0
                last = int(datetime.fromisoformat(state.profile["opened_at"]).timestamp() * 1000)
        idle_ms = cfg.idle_days * DAY_MS
        since = flags.get(_SINCE)
        before = flags.get(_FROM)
        if since is not None and before is not None and before <= now < since:
            # a late movement inside the idle gap of a pending reactivation: event time
            # decides, as if it had arrived in order
            if now - before >= idle_ms:
                flags[_SINCE] = now  # the reactivation starts with it
            elif since - now >= idle_ms:
                flags[_FROM] = now  # the gap before the reactivation is shorter
            else:
                del flags[_SINCE], flags[_FROM]  # no gap long enough: no reactivation
        elif last is not None and now - last >= idle_ms:
            flags[_SINCE] = now
            flags[_FROM] = last
        if last is None or now > last:
            flags[_LAST] = now
        since = flags.get(_SINCE)
        if since is None:
            return
        if now - since > cfg.window_days * DAY_MS:
            items = state.windows.get(FLOWS, ())
            if not any(i.reported & self.pending for i in items):  # none waits for it
                flags.pop(_SINCE, None)
                flags.pop(_FROM, None)
            return
        if isinstance(event, CashTransaction):
            return
        item = self.record_now(state, event, ctx)
        if item is not None:
            self.check(state, item, event, ctx, out)

    def is_point(self, state: CustomerState, item: FlowItem) -> bool:
        return True  # every transfer or payment after a wake-up

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        cfg, flags, now = self.cfg, state.flags, item.event_ms
        since = flags.get(_SINCE)
        if since is None or not since <= now <= since + cfg.window_days * DAY_MS:
            return
        moved = [i for i in state.windows.get(FLOWS, ()) if since <= i.event_ms <= now]
        total = sum(i.cents for i in moved)
        if not moved or total < cents_of(cfg.min_total, ctx):
            return
        del flags[_SINCE]
        idle_from = flags.pop(_FROM, None)
        idle = f" for {(since - idle_from) // DAY_MS} days" if idle_from is not None else ""
        summary = (
            f"account idle{idle}, then {count(len(moved), 'transfer')} totalling "
            f"{money_text(total, ctx)} within "
            f"{count(-(-(now - since + 1) // DAY_MS), 'day')} of its first movement"
        )
        out.alerts.append(flow_alert(self.rule_id, cfg, event, ctx, moved, summary, total))
