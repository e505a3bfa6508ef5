"""Large-value transaction reports (PBoC Order 2016 No.3): LV_CASH, LV_XBORDER_INDIVIDUAL,
LV_TRANSFER_INDIVIDUAL, LV_TRANSFER_ENTITY."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.core.rules.base import Context, Findings, day_window, fmt_money, window_end_ms
from monitor.core.rules.config import Category, Threshold, ThresholdRuleConfig, money
from monitor.core.state import CustomerState, DayBucket
from schemas import CashTransaction, Remittance, Transfer

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "CrossBorderIndividual",
    "DailyThresholdConfig",
    "DomesticTransferIndividual",
    "EntityTransfer",
    "LargeCash",
]

logger = logging.getLogger(__name__)


class DailyThresholdConfig(ThresholdRuleConfig):
    """Single or same-day cumulative amounts per customer and direction."""

    category: Category = "large_value_report"
    inclusive: bool = True


def _daily(local: int, foreign: int) -> DailyThresholdConfig:
    return DailyThresholdConfig(
        threshold=Threshold(local=money("CNY", local), foreign=money("USD", foreign))
    )


def _is_entity(state: CustomerState) -> bool:
    return state.profile is not None and state.profile.get("type") == "entity"


class _DailyThreshold:
    """Single or natural-day cumulative amounts per customer and direction, in the zone of
    the pack. Local-currency and foreign-currency amounts accumulate apart (unless the
    threshold combines them).

    PBoC 2016 No.3 art.5 reports the day's transactions that make up the cumulative amount:
    once a (day, direction, side) reaches the threshold, every later transaction of that
    day, direction and side belongs to the same report. Each one emits the report again
    with the same `alert_id` and the grown evidence and amount; consumers keep the latest
    version (the one with more evidence, or as much evidence and a larger amount: evidence
    is capped in the state). A transaction of the day arriving late joins the report
    whatever its event time; one of another day, direction or side never does."""

    rule_id: ClassVar[str]
    handles: ClassVar[tuple[type, ...]]
    nouns: ClassVar[dict[str, str]]
    default: ClassVar[DailyThresholdConfig]

    def __init__(self, cfg: DailyThresholdConfig, pack: Pack) -> None:
        self.cfg = cfg

    def in_scope(self, state: CustomerState, event: Any) -> bool:
        return True

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        if not self.in_scope(state, event):
            return
        cfg = self.cfg
        threshold = cfg.threshold
        if threshold is None:  # only a disabled rule has none, and it is never built
            return
        day = ctx.day
        side, amount, limit = ctx.side(threshold, event.amount, event.currency, day)
        key = f"{self.rule_id}|{ctx.day_iso}|{event.direction}|{side}"
        buckets = state.buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = DayBucket("0", [], False, 0, window_end_ms(day, ctx.pack.tz))
        total = Decimal(bucket.total) + amount
        state.add_evidence(bucket, event.txn_id)
        # once reported, every later transaction of the day grows the report
        grows = bucket.fired
        fired = grows or (total >= limit if cfg.inclusive else total > limit)
        buckets[key] = bucket = DayBucket(
            str(total), bucket.evidence, fired, bucket.txn_count + 1, bucket.window_end_ms
        )
        if not fired:
            return
        window = day_window(day, ctx)
        noun = self.nouns[event.direction]
        if bucket.txn_count == 1:
            what = f"a single {noun} of {fmt_money(total)} {side} reaches"
        else:
            what = (
                f"{bucket.txn_count} {noun}s totalling {fmt_money(total)} {side} "
                f"on {day.isoformat()} reach"
            )
        comparison = "" if cfg.inclusive else "exceeds "
        alert = ctx.alert(
            self.rule_id,
            cfg,
            event.customer_id,
            (day.isoformat(), event.direction, side),
            f"{what} {comparison}the {fmt_money(limit)} {side} large-value threshold".replace(
                "reaches exceeds", "exceeds"
            ).replace("reach exceeds", "exceed"),
            event.occurred_at,
            amount=total.quantize(Decimal("0.01")),
            currency=side,
            evidence=list(bucket.evidence),
            window=window,
            figures={
                "day": ctx.day_iso,
                "direction": event.direction,
                "currency": side,
                "total": total,
                "count": bucket.txn_count,
                "threshold": limit,
                "distance": total - limit,
                "inclusive": cfg.inclusive,
                "txn_id": event.txn_id,
                "txn_amount": event.amount,
                "txn_currency": event.currency,
            },
        )
        out.alerts.append(alert)
        if grows:
            out.grown.append(alert.alert_id)


class LargeCash(_DailyThreshold):
    """LV_CASH: cash in or out, >= RMB 50,000 or >= USD 10,000 (foreign cash in USD)."""

    rule_id: ClassVar[str] = "LV_CASH"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[DailyThresholdConfig] = _daily(50000, 10000)
    nouns: ClassVar[dict[str, str]] = {"in": "cash deposit", "out": "cash withdrawal"}


class CrossBorderIndividual(_DailyThreshold):
    """LV_XBORDER_INDIVIDUAL: a natural person's cross-border transfers. A customer whose
    opening has not been seen is treated as an individual (the lower threshold)."""

    rule_id: ClassVar[str] = "LV_XBORDER_INDIVIDUAL"
    handles: ClassVar[tuple[type, ...]] = (Remittance,)
    default: ClassVar[DailyThresholdConfig] = _daily(200000, 10000)
    nouns: ClassVar[dict[str, str]] = {
        "in": "inbound cross-border transfer",
        "out": "outbound cross-border transfer",
    }

    def in_scope(self, state: CustomerState, event: Remittance) -> bool:
        return event.kind == "payment" and not _is_entity(state)


class DomesticTransferIndividual(_DailyThreshold):
    """LV_TRANSFER_INDIVIDUAL: a natural person's domestic transfers (art. 5(3)). A
    customer whose opening has not been seen is treated as an individual."""

    rule_id: ClassVar[str] = "LV_TRANSFER_INDIVIDUAL"
    handles: ClassVar[tuple[type, ...]] = (Transfer,)
    default: ClassVar[DailyThresholdConfig] = _daily(500000, 100000)
    nouns: ClassVar[dict[str, str]] = {
        "in": "inbound domestic transfer",
        "out": "outbound domestic transfer",
    }

    def in_scope(self, state: CustomerState, event: Transfer) -> bool:
        return not _is_entity(state)


class EntityTransfer(_DailyThreshold):
    """LV_TRANSFER_ENTITY: an entity's transfers, domestic and cross-border summed
    together (art. 5(2))."""

    rule_id: ClassVar[str] = "LV_TRANSFER_ENTITY"
    handles: ClassVar[tuple[type, ...]] = (Remittance, Transfer)
    default: ClassVar[DailyThresholdConfig] = _daily(2000000, 200000)
    nouns: ClassVar[dict[str, str]] = {"in": "inbound transfer", "out": "outbound transfer"}

    def in_scope(self, state: CustomerState, event: Remittance | Transfer) -> bool:
        if type(event) is Remittance and event.kind != "payment":
            return False
        return _is_entity(state)
