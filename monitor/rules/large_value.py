"""Large-value transaction reports (PBoC Order 2016 No.3): LV_CASH."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import ClassVar

from monitor.pack import LargeCashConfig
from monitor.rules.base import Context, Findings, day_window
from monitor.state import CustomerState
from schemas import CashTransaction

__all__ = ["LargeCash"]

logger = logging.getLogger(__name__)


class LargeCash:
    """Cash in or out, single or cumulative over the customer's natural day, per direction.

    Local-currency cash accumulates in local currency; foreign cash accumulates converted to
    the foreign threshold's currency. A (day, direction, currency side) fires once: later
    cash that day adds nothing downstream."""

    rule_id: ClassVar[str] = "LV_CASH"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)

    def __init__(self, cfg: LargeCashConfig) -> None:
        self.cfg = cfg

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        day = ctx.local_day(event.occurred_at)
        if event.currency == cfg.local.currency:
            limit, side_currency, amount = cfg.local.amount, cfg.local.currency, event.amount
        else:
            limit, side_currency = cfg.foreign.amount, cfg.foreign.currency
            amount = ctx.pack.fx.convert(event.amount, event.currency, side_currency, day)
        window = day_window(day, ctx)
        key = f"{self.rule_id}|{day.isoformat()}|{event.direction}|{side_currency}"
        bucket = state.buckets.get(key)
        if bucket is None:
            end_ms = int(window[1].timestamp() * 1000)
            bucket = state.buckets[key] = ["0", [], False, 0, end_ms]
        if bucket[2]:
            return  # already reported for this day and direction
        total = Decimal(bucket[0]) + amount
        bucket[0] = str(total)
        bucket[3] += 1
        state.add_evidence(bucket, event.txn_id)
        crossed = total >= limit if cfg.inclusive else total > limit
        if not crossed:
            return
        bucket[2] = True
        single = bucket[3] == 1
        kind = "deposit" if event.direction == "in" else "withdrawal"
        if single:
            what = f"a single cash {kind} of {_fmt(total)} {side_currency} reaches"
        else:
            what = (
                f"{bucket[3]} cash {kind}s totalling {_fmt(total)} {side_currency} "
                f"on {day.isoformat()} reach"
            )
        summary = f"{what} the {_fmt(limit)} {side_currency} large-value threshold"
        out.alerts.append(
            ctx.alert(
                self.rule_id,
                cfg,
                event.customer_id,
                (day.isoformat(), event.direction, side_currency),
                summary,
                event.occurred_at,
                amount=total.quantize(Decimal("0.01")),
                currency=side_currency,
                evidence=list(bucket[1]),
                window=window,
            )
        )


def _fmt(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,}"
