"""Currency transaction reports on the person conducting the cash (31 CFR 1010.313(b):
multiple transactions "by or on behalf of any person"): LV_CASH_CONDUCTOR."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from monitor.core.conductor import ConductorCash
from monitor.core.rules.base import Context, Findings, day_window, fmt_money, window_end_ms
from monitor.core.rules.config import Category, ThresholdRuleConfig
from monitor.core.state import CustomerState, DayBucket

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["ConductorCashConfig", "LargeCashByConductor"]

logger = logging.getLogger(__name__)


class ConductorCashConfig(ThresholdRuleConfig):
    """Same-day cash of one conductor, per direction, for two customers or more, compared
    with `threshold` (strictly above it unless `inclusive`)."""

    category: Category = "large_value_report"
    inclusive: bool = True


class LargeCashByConductor:
    """LV_CASH_CONDUCTOR: the cash one person conducts on one local day, per direction, for
    two customers or more, summed in that person's own state record (`monitor.core.
    conductor`). Reported on the day's crossing (or on the first transaction for a second
    customer after it); as LV_CASH's report, it then grows: every later transaction of the
    day, direction and side emits it again under the same `alert_id` with the grown
    evidence and amount (`Findings.grown`). The customer id of the alert is the conductor's
    person key. Cash conducted for a single customer is that customer's own LV_CASH: it is
    not reported again here. Off in a pack without a section."""

    rule_id: ClassVar[str] = "LV_CASH_CONDUCTOR"
    handles: ClassVar[tuple[type, ...]] = (ConductorCash,)
    default: ClassVar[ConductorCashConfig] = ConductorCashConfig(enabled=False)

    def __init__(self, cfg: ConductorCashConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(
        self, state: CustomerState, event: ConductorCash, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        day = ctx.day
        side, amount, limit = ctx.side(cfg.threshold, event.amount, event.currency, day)
        key = f"{self.rule_id}|{ctx.day_iso}|{event.direction}|{side}"
        buckets = state.buckets
        end_ms = window_end_ms(day, ctx.pack.tz)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = DayBucket("0", [], False, 0, end_ms)
        total = Decimal(bucket.total) + amount
        state.add_evidence(bucket, event.txn_id)
        # one bucket per customer served that day: how many customers the total is for
        per_customer = f"{key}|{event.on_behalf_of}"
        served = buckets.get(per_customer) or DayBucket("0", [], False, 0, end_ms)
        buckets[per_customer] = served._replace(
            total=str(Decimal(served.total) + amount), txn_count=served.txn_count + 1
        )
        customers = sum(1 for k in buckets if k.startswith(f"{key}|"))
        crossed = total >= limit if cfg.inclusive else total > limit
        grows = bucket.fired  # once reported, every later transaction of the day grows it
        fired = grows or (crossed and customers >= 2)
        buckets[key] = bucket = bucket._replace(
            total=str(total), fired=fired, txn_count=bucket.txn_count + 1
        )
        if not fired:
            return
        noun = "cash deposits" if event.direction == "in" else "cash withdrawals"
        verb = "exceed" if not cfg.inclusive else "reach"
        alert = ctx.alert(
            self.rule_id,
            cfg,
            event.customer_id,
            (ctx.day_iso, event.direction, side),
            f"{bucket.txn_count} {noun} by one person for {customers} customers totalling "
            f"{fmt_money(total)} {side} on {ctx.day_iso} {verb} the {fmt_money(limit)} "
            f"{side} large-value threshold",
            event.occurred_at,
            amount=total.quantize(Decimal("0.01")),
            currency=side,
            evidence=list(bucket.evidence),
            window=day_window(day, ctx),
            figures={
                "day": ctx.day_iso,
                "direction": event.direction,
                "currency": side,
                "total": total,
                "count": bucket.txn_count,
                "customers": customers,
                "threshold": limit,
                "distance": total - limit,
                "inclusive": cfg.inclusive,
            },
        )
        out.alerts.append(alert)
        if grows:
            out.grown.append(alert.alert_id)
