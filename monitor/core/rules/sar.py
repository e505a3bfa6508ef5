"""Suspicious activity reports of a US bank (31 CFR 1020.320(a)(2)): SAR_STRUCTURING, cash
aggregating at least USD 5,000 structured to evade the currency transaction report."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, model_validator

from monitor.core.rules.base import Context, Findings, day_window, fmt_money, window_end_ms
from monitor.core.rules.config import Category, RuleConfig, Severity, Threshold, money
from monitor.core.state import DAY_MS, CashItem, CustomerState, DayBucket
from schemas import CashTransaction

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["SarStructuring", "SarStructuringConfig"]

logger = logging.getLogger(__name__)


def _usd(amount: int) -> Threshold:
    return Threshold(local=money("USD", amount), foreign=money("USD", amount), combine=True)


class SarStructuringConfig(RuleConfig):
    """Cash structured below the CTR threshold (`ctr_threshold`, compared like LV_CASH with
    `ctr_inclusive`), reported when the transactions aggregate at least `report_from`:

    - near the threshold: >= `min_count` cash transactions, each in [`lower_pct`,
      `upper_pct`) of `ctr_threshold`, within `window_days` (event time);
    - split on one day (`split_days`): >= 2 cash transactions of one direction on one local
      day, none of them above the threshold, that together are above it.

    Off in a pack without a `SAR_STRUCTURING` section (the registered default); on in a
    pack that has one (the us-bsa pack)."""

    severity: Severity = "high"
    category: Category = "suspicious"
    report_from: Threshold = _usd(5000)
    ctr_threshold: Threshold = _usd(10000)
    ctr_inclusive: bool = False
    lower_pct: Decimal = Field(default=Decimal(80), gt=0, lt=100)
    upper_pct: Decimal = Field(default=Decimal(100), gt=0, le=100)
    min_count: int = Field(default=2, ge=2, le=1000)
    window_days: int = Field(default=5, ge=1, le=90)
    split_days: bool = True

    @model_validator(mode="after")
    def _band(self) -> SarStructuringConfig:
        if self.lower_pct >= self.upper_pct:
            raise ValueError("lower_pct must be below upper_pct")
        return self


class SarStructuring:
    """SAR_STRUCTURING: per customer, cash transactions that aggregate at least USD 5,000 and
    look designed to evade the currency transaction report (31 CFR 1020.320(a)(2)(iii);
    structuring, 31 U.S.C. 5324): repeated amounts just under the threshold within a few
    days, or several smaller same-day amounts that cross it only together. A transaction
    reported in one finding is not counted towards another of the near-threshold kind; a
    day and direction is reported as split once. Raises a SUSPECTED_ML_TF task."""

    rule_id: ClassVar[str] = "SAR_STRUCTURING"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[SarStructuringConfig] = SarStructuringConfig(enabled=False)

    def __init__(self, cfg: SarStructuringConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        day = ctx.day
        side, amount, limit = ctx.side(cfg.ctr_threshold, event.amount, event.currency, day)
        above = amount >= limit if cfg.ctr_inclusive else amount > limit
        if above:
            return  # a currency transaction report by itself: nothing structured
        split: list[str] = []
        if cfg.split_days:
            split = self._split(state, event, ctx, out, side, amount, limit)
        share = amount * 100 / limit if limit else Decimal(0)
        in_band = cfg.lower_pct <= share < cfg.upper_pct
        if in_band:
            cap = ctx.pack.config.state.max_window_items
            items = state.windows.setdefault(self.rule_id, [])
            local = ctx.to_local(event.amount, event.currency, day)
            items.append(
                CashItem(ctx.event_ms, event.txn_id, str(local), side, bool(split), str(amount))
            )
            items.sort(key=lambda i: (i.event_ms, i.txn_id))
            del items[: max(0, len(items) - cap)]
        if split:
            _mark_reported(state, self.rule_id, set(split))
            return
        if in_band:
            self._near_threshold(state, event, ctx, out, side, limit)

    def _split(
        self,
        state: CustomerState,
        event: CashTransaction,
        ctx: Context,
        out: Findings,
        side: str,
        amount: Decimal,
        limit: Decimal,
    ) -> list[str]:
        """Add a below-threshold amount to its day's total; the txn ids reported if the day
        crosses the threshold only now, with two transactions or more."""
        cfg = self.cfg
        day = ctx.day
        key = f"{self.rule_id}|{ctx.day_iso}|{event.direction}|{side}"
        bucket = state.buckets.get(key)
        if bucket is None:
            bucket = DayBucket("0", [], False, 0, window_end_ms(day, ctx.pack.tz))
        elif bucket.fired:
            return []
        total = Decimal(bucket.total) + amount
        state.add_evidence(bucket, event.txn_id)
        crossed = total >= limit if cfg.ctr_inclusive else total > limit
        count = bucket.txn_count + 1
        fired = crossed and count >= 2 and self._reportable(ctx, total, side, day)
        state.buckets[key] = DayBucket(
            str(total), bucket.evidence, fired, count, bucket.window_end_ms
        )
        if not fired:
            return []
        ids = list(bucket.evidence)
        noun = "cash deposits" if event.direction == "in" else "cash withdrawals"
        self._raise(
            event,
            ctx,
            out,
            facts=("split", ctx.day_iso, event.direction, side),
            summary=(
                f"{count} {noun} on {ctx.day_iso}, none above the {fmt_money(limit)} {side} "
                f"currency transaction report threshold, together {fmt_money(total)} {side}: "
                f"above it only together"
            ),
            total=total,
            currency=side,
            ids=ids,
            window=day_window(day, ctx),
        )
        return ids

    def _near_threshold(
        self,
        state: CustomerState,
        event: CashTransaction,
        ctx: Context,
        out: Findings,
        side: str,
        limit: Decimal,
    ) -> None:
        cfg = self.cfg
        now_ms = ctx.event_ms
        start = now_ms - cfg.window_days * DAY_MS
        recent: list[CashItem] = [
            i
            for i in state.windows.get(self.rule_id, [])
            if start < i.event_ms <= now_ms and not i.reported and i.side == side
        ]
        if len(recent) < cfg.min_count:
            return
        total = sum((Decimal(i.side_amount) for i in recent), Decimal(0))
        if not self._reportable(ctx, total, side, ctx.day):
            return
        _mark_reported(state, self.rule_id, {i.txn_id for i in recent})
        ids = [i.txn_id for i in recent]
        self._raise(
            event,
            ctx,
            out,
            facts=tuple(ids),
            summary=(
                f"{len(recent)} cash transactions within {cfg.window_days} days each between "
                f"{cfg.lower_pct}% and {cfg.upper_pct}% of the {fmt_money(limit)} {side} "
                f"currency transaction report threshold (total {fmt_money(total)} {side})"
            ),
            total=total,
            currency=side,
            ids=ids,
        )

    def _reportable(self, ctx: Context, total: Decimal, currency: str, day: date) -> bool:
        """Whether `total` (in `currency`) aggregates at least `report_from`."""
        return ctx.reaches(self.cfg.report_from, total, currency, day)

    def _raise(
        self,
        event: CashTransaction,
        ctx: Context,
        out: Findings,
        *,
        facts: tuple[object, ...],
        summary: str,
        total: Decimal,
        currency: str,
        ids: list[str],
        window: tuple[Any, Any] | None = None,
    ) -> None:
        alert = ctx.alert(
            self.rule_id,
            self.cfg,
            event.customer_id,
            facts,
            summary,
            event.occurred_at,
            amount=total.quantize(Decimal("0.01")),
            currency=currency,
            evidence=ids,
            window=window,
            figures={
                "count": len(ids),
                "total": total,
                "currency": currency,
                "report_from": self.cfg.report_from.local.amount,
                "report_from_currency": self.cfg.report_from.local.currency,
            },
        )
        ctx.emit_with_task(out, alert, "SUSPECTED_ML_TF", event.event_id)


def _mark_reported(state: CustomerState, name: str, txn_ids: set[str]) -> None:
    """Mark the items of window `name` whose txn id is in `txn_ids` reported."""
    items = state.windows.get(name)
    if items:
        items[:] = [i._replace(reported=True) if i.txn_id in txn_ids else i for i in items]
