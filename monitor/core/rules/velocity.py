"""Suspicious patterns over event-time windows (PBoC Order 2016 No.3, art. 11-13):
STRUCTURING and FREQUENT_LARGE_UNCLEAR_SOURCE, at the intensity of the customer's risk
rating (`risk.intensity`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, model_validator

from monitor.core.risk import RATINGS, Intensity, intensity_levels
from monitor.core.rules.base import Context, Findings, fmt_money
from monitor.core.rules.config import Category, Money, RuleConfig, Threshold, money
from monitor.core.state import DAY_MS, CashItem, CustomerState, TransferItem
from schemas import CashTransaction, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "FrequentLargeConfig",
    "FrequentLargeUnclearSource",
    "Structuring",
    "StructuringConfig",
]

logger = logging.getLogger(__name__)


class StructuringConfig(RuleConfig):
    """>= `min_count` cash transactions each in [`lower_pct`, `upper_pct`) of the
    single-transaction threshold within `window_days` (event time)."""

    category: Category = "suspicious"
    threshold: Threshold = Threshold(local=money("CNY", 50000), foreign=money("USD", 10000))
    lower_pct: Decimal = Field(default=Decimal(90), gt=0, lt=100)
    upper_pct: Decimal = Field(default=Decimal(100), gt=0, le=100)
    min_count: int = Field(default=3, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _band(self) -> StructuringConfig:
        if self.lower_pct >= self.upper_pct:
            raise ValueError("lower_pct must be below upper_pct")
        return self


class FrequentLargeConfig(RuleConfig):
    """>= `min_count` transfers each >= `threshold` within `window_days` whose source of
    funds is unclear, or whose total exceeds `income_share_pct` of the declared income."""

    category: Category = "suspicious"
    threshold: Threshold = Threshold(local=money("CNY", 50000), foreign=money("USD", 10000))
    min_count: int = Field(default=3, ge=1, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)
    income_share_pct: Decimal = Field(default=Decimal(50), gt=0, le=1000)
    unclear_sources: list[str] = Field(
        default_factory=lambda: ["", "unknown", "n/a", "none", "unclear"]
    )


def _window(state: CustomerState, name: str, now_ms: int, days: int) -> list[Any]:
    """The items of a window still inside `days` before `now_ms` (event time)."""
    items = state.windows.get(name, [])
    start = now_ms - days * DAY_MS
    return [i for i in items if start < i.event_ms <= now_ms]


def _add(state: CustomerState, name: str, item: CashItem | TransferItem, cap: int) -> None:
    items = state.windows.setdefault(name, [])
    items.append(item)
    items.sort(key=lambda i: (i.event_ms, i.txn_id))
    if len(items) > cap:
        del items[: len(items) - cap]


def _mark_reported(state: CustomerState, name: str, chosen: list[Any]) -> None:
    """Mark the window items in `chosen` (the stored objects themselves) reported."""
    chosen_ids = {id(i) for i in chosen}
    items = state.windows[name]
    items[:] = [i._replace(reported=True) if id(i) in chosen_ids else i for i in items]


def _raise(
    rule: Structuring | FrequentLargeUnclearSource,
    event: CashTransaction | Remittance,
    ctx: Context,
    out: Findings,
    trigger: str,
    ids: list[str],
    summary: str,
    total: Decimal,
    currency: str,
    figures: dict[str, object],
) -> None:
    """`rule` reports the window's transactions `ids`, totalling `total` in `currency`, as
    one alert with its re-identification task `trigger`; `figures` add to the count, the
    configured count and window, the total and its currency."""
    cfg = rule.cfg
    alert = ctx.alert(
        rule.rule_id,
        cfg,
        event.customer_id,
        tuple(ids),
        summary,
        event.occurred_at,
        amount=total.quantize(Decimal("0.01")),
        currency=currency,
        evidence=ids,
        figures={
            "count": len(ids),
            "min_count": cfg.min_count,
            "window_days": cfg.window_days,
            "total": total,
            "currency": currency,
            **figures,
        },
    )
    ctx.emit_with_task(out, alert, trigger, event.event_id)


def _pct(value: Decimal) -> str:
    """A percentage as written: 90, 72, 40.5."""
    return format(value.normalize(), "f")


def _rated(state: CustomerState) -> str | None:
    """The customer's rating in force (set by the risk rating before this event)."""
    rating = state.risk.get("rating")
    return rating if isinstance(rating, str) else None


def _intensity_note(rating: str | None, intensity: Intensity) -> str:
    if intensity.neutral:
        return ""
    return (
        f" [{rating}-risk customer: amounts x{_pct(intensity.amount_factor)}, "
        f"counts x{_pct(intensity.count_factor)}]"
    )


@dataclass(frozen=True, slots=True)
class _Band:
    """STRUCTURING's figures for one rating."""

    intensity: Intensity
    lower_pct: Decimal
    min_count: int


class Structuring:
    """>= N cash transactions of one customer, each in [lower, upper) % of the
    single-transaction threshold, within a window. Transactions already reported are not
    reported again: the next alert needs N new ones.

    The customer's rating scales the band's lower edge (`amount_factor`) and N
    (`count_factor`, at least 2); the threshold itself and the upper edge stay: the
    threshold is the legal large-value reporting threshold. Each transaction is judged
    against the band of the rating in force when it happens."""

    rule_id: ClassVar[str] = "STRUCTURING"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[StructuringConfig] = StructuringConfig()

    def __init__(self, cfg: StructuringConfig, pack: Pack) -> None:
        self.cfg = cfg
        levels = intensity_levels(pack)
        self.bands: dict[str | None, _Band] = {
            r: self._band(levels.of(r)) for r in (*RATINGS, None)
        }

    def _band(self, intensity: Intensity) -> _Band:
        cfg = self.cfg
        lower = cfg.lower_pct if intensity.neutral else intensity.amount(cfg.lower_pct)
        return _Band(intensity, lower, intensity.count(cfg.min_count, least=2))

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        rating = _rated(state)
        band = self.bands.get(rating) or self.bands[None]
        day = ctx.day
        side, amount, limit = ctx.side(cfg.threshold, event.amount, event.currency, day)
        share = amount * 100 / limit if limit else Decimal(0)
        if not (band.lower_pct <= share < cfg.upper_pct):
            return
        now_ms = ctx.event_ms
        local = ctx.to_local(event.amount, event.currency, day)
        cap = ctx.pack.config.state.max_window_items
        item = CashItem(now_ms, event.txn_id, str(local), side, False, str(amount))
        _add(state, self.rule_id, item, cap)
        recent: list[CashItem] = [
            i for i in _window(state, self.rule_id, now_ms, cfg.window_days) if not i.reported
        ]
        if len(recent) < band.min_count:
            return
        _mark_reported(state, self.rule_id, recent)
        ids = [i.txn_id for i in recent]
        sides = {i.side for i in recent}
        if len(sides) == 1:  # one side: report in its currency, against its threshold
            base = side
            total = sum((Decimal(i.side_amount) for i in recent), Decimal(0))
            of = f"the {fmt_money(limit)} {side} threshold"
        else:  # local and foreign cash mixed: one currency, the FX table's base
            base = ctx.pack.fx.base
            total = sum((Decimal(i.base_amount) for i in recent), Decimal(0))
            of = "the single-transaction threshold"
        _raise(
            self,
            event,
            ctx,
            out,
            "SUSPECTED_ML_TF",
            ids,
            f"{len(recent)} cash transactions within {cfg.window_days} days each between "
            f"{_pct(band.lower_pct)}% and {cfg.upper_pct}% of {of} (total {fmt_money(total)} "
            f"{base}){_intensity_note(rating, band.intensity)}",
            total,
            base,
            {
                "threshold": limit,
                "threshold_currency": side,
                "transactions": [
                    {
                        "txn_id": i.txn_id,
                        "time": ctx.at(i.event_ms),
                        "amount": i.side_amount,
                        "currency": i.side,
                    }
                    for i in recent
                ],
            },
        )


@dataclass(frozen=True, slots=True)
class _Large:
    """FREQUENT_LARGE_UNCLEAR_SOURCE's figures for one rating."""

    intensity: Intensity
    threshold: Threshold
    min_count: int
    income_share_pct: Decimal


class FrequentLargeUnclearSource:
    """>= N transfers each from the threshold within a window whose source of funds is
    null, empty or unclear, or (also >= N) whose total exceeds a share of the declared
    annual income. Reported transfers are not reported again.

    The customer's rating scales the per-transfer threshold and the income share
    (`amount_factor`) and N (`count_factor`, at least 1). Each transfer is judged against
    the threshold of the rating in force when it happens."""

    rule_id: ClassVar[str] = "FREQUENT_LARGE_UNCLEAR_SOURCE"
    handles: ClassVar[tuple[type, ...]] = (Remittance,)
    default: ClassVar[FrequentLargeConfig] = FrequentLargeConfig()

    def __init__(self, cfg: FrequentLargeConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.unclear = {s.strip().lower() for s in cfg.unclear_sources}
        levels = intensity_levels(pack)
        self.levels: dict[str | None, _Large] = {
            r: self._large(levels.of(r)) for r in (*RATINGS, None)
        }

    def _large(self, intensity: Intensity) -> _Large:
        cfg = self.cfg
        if intensity.neutral:
            return _Large(intensity, cfg.threshold, cfg.min_count, cfg.income_share_pct)
        t = cfg.threshold

        def scaled(m: Money) -> Money:
            return Money(currency=m.currency, amount=intensity.amount(m.amount))

        threshold = Threshold(local=scaled(t.local), foreign=scaled(t.foreign), combine=t.combine)
        return _Large(
            intensity,
            threshold,
            intensity.count(cfg.min_count, least=1),
            intensity.amount(cfg.income_share_pct),
        )

    def apply(self, state: CustomerState, event: Remittance, ctx: Context, out: Findings) -> None:
        cfg = self.cfg
        if event.kind != "payment" or event.amount is None or event.currency is None:
            return
        rating = _rated(state)
        large = self.levels.get(rating) or self.levels[None]
        day = ctx.day
        if not ctx.reaches(large.threshold, event.amount, event.currency, day):
            return
        source = (event.source_of_funds or "").strip().lower()
        unclear = source in self.unclear
        local = ctx.to_local(event.amount, event.currency, day)
        now_ms = ctx.event_ms
        cap = ctx.pack.config.state.max_window_items
        item = TransferItem(now_ms, event.txn_id, str(local), unclear, False)
        _add(state, self.rule_id, item, cap)
        recent: list[TransferItem] = [
            i for i in _window(state, self.rule_id, now_ms, cfg.window_days) if not i.reported
        ]
        unclear_items = [i for i in recent if i.unclear]
        reason = ""
        chosen: list[TransferItem] = []
        if len(unclear_items) >= large.min_count:
            chosen, reason = unclear_items, "source of funds unclear"
        else:
            income = _income(state)
            total = sum((Decimal(i.base_amount) for i in recent), Decimal(0))
            share = large.income_share_pct
            if (
                income is not None
                and len(recent) >= large.min_count
                and total > income * share / 100
            ):
                chosen = recent
                reason = f"total above {_pct(share)}% of the declared annual income"
        if not chosen:
            return
        _mark_reported(state, self.rule_id, chosen)
        ids = [i.txn_id for i in chosen]
        total = sum((Decimal(i.base_amount) for i in chosen), Decimal(0))
        base = ctx.pack.fx.base
        _raise(
            self,
            event,
            ctx,
            out,
            "ABNORMAL_ACTIVITY",
            ids,
            f"{len(chosen)} large transfers within {cfg.window_days} days totalling "
            f"{fmt_money(total)} {base}: {reason}{_intensity_note(rating, large.intensity)}",
            total,
            base,
            {
                **ctx.threshold_figures(cfg.threshold, event.amount, event.currency),
                "reason": "unclear_source" if chosen is unclear_items else "income_share",
                "transactions": [
                    {
                        "txn_id": i.txn_id,
                        "time": ctx.at(i.event_ms),
                        "amount": i.base_amount,
                        "currency": base,
                        "unclear_source": i.unclear,
                    }
                    for i in chosen
                ],
            },
        )


def _income(state: CustomerState) -> Decimal | None:
    if state.profile is None or state.profile.get("income") is None:
        return None
    return Decimal(state.profile["income"])
