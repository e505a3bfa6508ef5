"""Rules across customers, on an account's own state record (`monitor.core.network`):
COUNTERPARTY_HUB, many of our customers paying, or paid by, one account within days (a
collecting or distributing account: a mule hub; PBoC 2006 Order No.2 art. 11(1), funds
from many parties gathered into one account, 分散转入、集中转出, seen from the account the
funds gather in), and what FUNDS_CYCLE (`monitor.core.rules.cycle`) shares with it."""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from monitor.core.network import Edge, account_key
from monitor.core.rules.base import Context, Findings, fmt_money
from monitor.core.rules.config import Money, Severity, money
from monitor.core.rules.flows import BehaviourConfig, cents_of
from monitor.core.state import DAY_MS, CustomerState, NetItem

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "NET",
    "CounterpartyHub",
    "CounterpartyHubConfig",
    "add_item",
    "edge_cents",
    "edge_floor",
    "span",
]

logger = logging.getLogger(__name__)

#: the window name in an account record's `CustomerState.windows`
NET = "NET"
_PAYROLL_PURPOSES = ["salary", "payroll", "wages", "bonus", "工资", "代发工资", "奖金"]
_MOST_LISTED = 50  # transfers and customers listed in an explanation's figures
Side = Literal["paying", "paid"]
_SIDES: tuple[Side, ...] = ("paying", "paid")


def _key(item: NetItem) -> tuple[int, str, str]:
    return item.event_ms, item.item_id, item.kind


def add_item(state: CustomerState, item: NetItem, cap: int) -> bool:
    """Insert `item` in the NET window in (event time, id, kind) order; False when it is
    there already. Keeps the newest `cap` items."""
    items: list[NetItem] = state.windows.setdefault(NET, [])
    at = bisect_left(items, _key(item), key=_key)
    if at < len(items) and _key(items[at]) == _key(item):
        return False
    items.insert(at, item)
    if len(items) > cap:
        del items[: len(items) - cap]
    return True


def span(state: CustomerState, lo_ms: int, hi_ms: int, kind: str) -> list[NetItem]:
    """The items of `kind` with lo_ms <= event time <= hi_ms, in time order."""
    items: list[NetItem] = state.windows.get(NET, [])
    at = bisect_left(items, lo_ms, key=_EVENT_MS)
    out = []
    for item in items[at:]:
        if item.event_ms > hi_ms:
            break
        if item.kind == kind:
            out.append(item)
    return out


def edge_cents(edge: Edge, ctx: Context) -> int:
    """The edge's amount in hundredths of the FX table's base currency."""
    fx, amount = ctx.pack.fx, edge.amount
    if edge.currency != fx.base:
        amount = fx.convert(amount, edge.currency, fx.base, ctx.day)
    return int((amount * 100).to_integral_value())


def edge_floor(pack: Pack, rules: Iterable[object]) -> Callable[[Decimal, str, datetime], bool]:
    """Whether an amount (currency, time) reaches the `min_amount` of one of `rules` (the
    rules across customers): what is below every one of them is not re-keyed at all."""
    fx, base, tz = pack.fx, pack.fx.base, pack.tz
    minimums = [getattr(rule, "cfg").min_amount for rule in rules]  # noqa: B009

    def enough(amount: Decimal, currency: str, at: datetime) -> bool:
        day = at.astimezone(tz).date()
        value = amount if currency == base else fx.convert(amount, currency, base, day)
        return any(
            value
            >= (m.amount if m.currency == base else fx.convert(m.amount, m.currency, base, day))
            for m in minimums
        )

    return enough


class CounterpartyHubConfig(BehaviourConfig):
    """Within any `window_days` consecutive local days, transfers each >= `min_amount`
    between one account and >= `min_customers` distinct customers of ours, on a side
    `sides` lists ("paying": our customers pay the account, "paid": it pays them).
    A window with more than `max_customers` is not alerted (a public collecting account).
    Transfers whose purpose is in `exclude_purposes`, and the accounts `exempt_accounts`
    lists (account numbers), are not counted."""

    severity: Severity = "high"
    window_days: int = Field(default=3, ge=1, le=30)
    min_customers: int = Field(default=5, ge=2, le=10_000)
    max_customers: int = Field(default=200, ge=2, le=100_000)
    min_amount: Money = money("CNY", 5000)
    sides: list[Side] = Field(default_factory=lambda: list(_SIDES))
    exclude_purposes: list[str] = Field(default_factory=lambda: list(_PAYROLL_PURPOSES))
    exempt_accounts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounds(self) -> CounterpartyHubConfig:
        if self.min_customers > self.max_customers:
            raise ValueError("min_customers must not exceed max_customers")
        return self


# body of a hub item: [our customer, the hub's mask, txn_id, local day ordinal]
_CUST, _MASK, _TXN, _DAY = 0, 1, 2, 3
_EVENT_MS = attrgetter("event_ms")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # a day ordinal less this, times DAY_MS: UTC ms


class CounterpartyHub:
    """COUNTERPARTY_HUB: one account (ours or not) that, within `window_days` local days,
    receives transfers from (or pays transfers to) `min_customers` or more distinct
    customers of ours. Every customer whose transfer falls in such a window is alerted,
    once per hub account, side, customer and day of the customer's transfer; a later
    transfer that joins the pattern emits the alert again under the same id with the grown
    evidence (the hub's transfers in every qualifying window around that day).

    Arrival order: whether a (customer, day) is in a qualifying window depends only on the
    set of transfers kept, so the alerts, and the last version of each, are the same in
    whatever order the transfers arrive (within the record's retention)."""

    rule_id: ClassVar[str] = "COUNTERPARTY_HUB"
    handles: ClassVar[tuple[type, ...]] = (Edge,)
    default: ClassVar[CounterpartyHubConfig] = CounterpartyHubConfig(enabled=False)

    def __init__(self, cfg: CounterpartyHubConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.excluded = frozenset(p.strip().lower() for p in cfg.exclude_purposes)
        self.exempt = frozenset(filter(None, map(account_key, cfg.exempt_accounts)))
        self.kinds = {"i": "hi", "o": "ho"}
        if "paying" not in cfg.sides:
            del self.kinds["i"]
        if "paid" not in cfg.sides:
            del self.kinds["o"]

    def apply(self, state: CustomerState, event: Edge, ctx: Context, out: Findings) -> None:
        cfg = self.cfg
        kind = self.kinds.get(event.role)
        customer = event.customer
        if kind is None or not customer:
            return
        holder = event.dst_owner if event.role == "i" else event.src_owner
        if customer == holder or state.customer_id in self.exempt:  # own, or exempt
            return
        if event.purpose and event.purpose.strip().lower() in self.excluded:
            return
        cents = edge_cents(event, ctx)
        if cents < cents_of(cfg.min_amount, ctx):
            return
        day = ctx.day.toordinal()
        mask = event.dst_mask if event.role == "i" else event.src_mask  # the hub's
        body = [customer, mask, event.txn_id, day]
        item = NetItem(ctx.event_ms, event.event_id, kind, cents, body)
        if not add_item(state, item, ctx.pack.config.state.max_window_items):
            return
        self._evaluate(state, kind, day, ctx, out)

    def _evaluate(
        self, state: CustomerState, kind: str, day: int, ctx: Context, out: Findings
    ) -> None:
        w = self.cfg.window_days
        low, high = self.cfg.min_customers, self.cfg.max_customers
        by_day: dict[int, list[NetItem]] = defaultdict(list)
        customers = set()
        # the items of the local days day-2w+2 .. day+2w-2 (found by event time, with a
        # day's margin either side for any UTC offset; the day in the body decides)
        items: list[NetItem] = state.windows.get(NET, [])
        lo_ms = (day - 2 * w + 1 - _EPOCH_ORDINAL) * DAY_MS
        hi_ms = (day + 2 * w - _EPOCH_ORDINAL) * DAY_MS
        at = bisect_left(items, lo_ms, key=_EVENT_MS)
        for item in items[at : bisect_left(items, hi_ms, lo=at, key=_EVENT_MS)]:
            if item.kind == kind and abs(item.body[_DAY] - day) <= 2 * w - 2:
                by_day[item.body[_DAY]].append(item)
                customers.add(item.body[_CUST])
        if len(customers) < low:  # no window around the day can qualify (most accounts)
            return
        qualifying = [
            s
            for s in range(day - 2 * w + 2, day + w)
            if low
            <= len({i.body[_CUST] for d in range(s, s + w) for i in by_day.get(d, ())})
            <= high
        ]
        if not qualifying:
            return
        for alerted_day in range(day - w + 1, day + w):
            starts = [s for s in qualifying if s <= alerted_day < s + w]
            if not starts:
                continue
            days = range(min(starts), max(starts) + w)
            if day not in days:  # the new transfer does not change this group
                continue
            group = sorted(
                (i for d in days for i in by_day.get(d, ())), key=lambda i: (i.event_ms, i.item_id)
            )
            for customer in sorted({i.body[_CUST] for i in by_day.get(alerted_day, ())}):
                self._alert(state, kind, alerted_day, customer, group, days, ctx, out)

    def _alert(
        self,
        state: CustomerState,
        kind: str,
        alerted_day: int,
        customer: str,
        group: list[NetItem],
        days: range,
        ctx: Context,
        out: Findings,
    ) -> None:
        cfg, tz, base = self.cfg, ctx.pack.tz, ctx.pack.fx.base
        own = [i for i in group if i.body[_CUST] == customer and i.body[_DAY] == alerted_day]
        customers = sorted({i.body[_CUST] for i in group})
        total = Decimal(sum(i.cents for i in group)) / 100
        first = datetime.fromtimestamp(group[0].event_ms / 1000, UTC).astimezone(tz)
        last = datetime.fromtimestamp(group[-1].event_ms / 1000, UTC).astimezone(tz)
        start = datetime.combine(
            datetime.fromordinal(days.start).date(), datetime.min.time(), tzinfo=tz
        )
        end = start + timedelta(days=len(days))
        side = "paying" if kind == "hi" else "paid"
        hub = state.customer_id
        mask = group[0].body[_MASK]
        verb = "paid" if side == "paying" else "were paid by"
        summary = (
            f"{len(customers)} customers {verb} one account ({mask}) in {len(group)} transfers "
            f"totalling {fmt_money(total)} {base} between {first.date()} and {last.date()}: "
            f"a collecting or distributing account (hub)"
        )
        alert = ctx.alert(
            "COUNTERPARTY_HUB",
            cfg,
            customer,
            (hub, side, datetime.fromordinal(alerted_day).date().isoformat()),
            summary,
            datetime.fromtimestamp(own[-1].event_ms / 1000, UTC).astimezone(tz),
            amount=total.quantize(Decimal("0.01")),
            currency=base,
            evidence=[i.body[_TXN] for i in group][:200],
            window=(start, end),
            figures=_hub_figures(group, customers, customer, own, side, mask, total, ctx),
        )
        flag = f"CH|{alert.alert_id}"
        if flag in state.flags:
            out.grown.append(alert.alert_id)
        state.flags[flag] = ctx.event_ms
        out.alerts.append(alert)


def _hub_figures(
    group: list[NetItem],
    customers: list[str],
    customer: str,
    own: list[NetItem],
    side: str,
    mask: str,
    total: Decimal,
    ctx: Context,
) -> dict[str, Any]:
    tz = ctx.pack.tz
    return {
        "side": side,
        "side_en": "paid" if side == "paying" else "were paid by",
        "side_zh": "转账给" if side == "paying" else "收到转账自",
        "hub_account": mask,
        "customers": len(customers),
        "customer_ids": customers[:_MOST_LISTED],
        "count": len(group),
        "total": total,
        "currency": ctx.pack.fx.base,
        "customer_count": len(own),
        "customer_total": Decimal(sum(i.cents for i in own)) / 100,
        "first": datetime.fromtimestamp(group[0].event_ms / 1000, UTC).astimezone(tz),
        "last": datetime.fromtimestamp(group[-1].event_ms / 1000, UTC).astimezone(tz),
        "alerted": customer,
        "transfers": [
            {
                "txn_id": i.body[_TXN],
                "customer_id": i.body[_CUST],
                "at": datetime.fromtimestamp(i.event_ms / 1000, UTC).astimezone(tz),
                "amount": Decimal(i.cents) / 100,
            }
            for i in group[:_MOST_LISTED]
        ],
    }
