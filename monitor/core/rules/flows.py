"""The FLOWS window the behaviour rules share: a customer's transfers and cross-border
payments as `FlowItem`s (amount in base-currency cents, counterparty fingerprint), and
what the rules built on it have in common."""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

from monitor.core.rules.base import Context, Findings, fmt_money
from monitor.core.rules.config import Category, Money, RuleConfig
from monitor.core.state import DAY_MS, CustomerState, FlowItem
from schemas import Alert, Remittance, Transfer

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "AsOf",
    "FlowRule",
    "FLOWS",
    "OWN",
    "PAYROLL",
    "PENDING_SHIFT",
    "REPORTED_BITS",
    "BehaviourConfig",
    "FlowRecorder",
    "cents_of",
    "count",
    "fingerprint",
    "flow_alert",
    "mark_reported",
    "money_text",
    "pct",
    "recent",
]

logger = logging.getLogger(__name__)

#: the window name in `CustomerState.windows`
FLOWS = "FLOWS"
#: `FlowItem.tags` bits
OWN = 1  # to or from the customer's own account (counterparty.customer_id == customer_id)
PAYROLL = 2  # an outflow whose purpose is a payroll purpose (FUNNEL_OUT's list)

#: `FlowItem.reported` bits, one per rule; shifted left by PENDING_SHIFT: the rule's decision
#: at that item is still pending (`monitor.core.rules.flow_decisions`)
PENDING_SHIFT = 8
REPORTED_BITS = {
    "FUNNEL_IN": 1,
    "FUNNEL_OUT": 2,
    "PASS_THROUGH": 4,
    "FREQUENT_SAME_COUNTERPARTY": 8,
    "DORMANT_REACTIVATION": 16,
}


class BehaviourConfig(RuleConfig):
    """What every behaviour rule has: suspicious by default."""

    category: Category = "suspicious"


def fingerprint(account_number: str | None) -> str:
    """A short, stable fingerprint of an account number ("" when there is none): state
    holds it instead of the number, and never a name."""
    if account_number is None:
        return ""
    number = "".join(account_number.split()).upper()
    if not number:
        return ""
    return hashlib.blake2b(number.encode(), digest_size=6, person=b"aml-cpty").hexdigest()


def _sort_key(item: FlowItem) -> tuple[int, str]:
    return item.event_ms, item.txn_id


_C = TypeVar("_C", bound=RuleConfig)


class AsOf(NamedTuple):
    """What a check needs of the event it is evaluated at, for a later point re-evaluated
    after a late item arrived: the customer and the point's time."""

    customer_id: str
    occurred_at: datetime


class FlowRule(Generic[_C]):
    """What the behaviour rules share: their config, the FLOWS recorder (one item per event,
    whichever rule records it first) and the bit that marks the items they reported.

    `apply` records the event and runs the rule's `check` at it. With a grace in the pack, it
    marks the point pending instead: `flow_decisions` decides it once the grace has passed,
    which gives the event-order result for any disorder within the grace. Without one, an
    event that arrives after later ones (another topic) changes what the rule saw at each of
    those later points, so `check` is run again at each of them, in event order, as of its
    time (`AsOf`): the findings are those event order gives, for every alert not yet raised.
    """

    rule_id: ClassVar[str]
    #: whether, with a grace in the pack, the rule's points wait for it (`flow_decisions`)
    deferrable: ClassVar[bool] = True

    def __init__(self, cfg: _C, pack: Pack) -> None:
        self.cfg = cfg
        self.recorder = FlowRecorder(pack)
        self.bit = REPORTED_BITS.get(self.rule_id, 0)
        #: the `FlowItem.reported` bit of a point still to be decided (0: decided at once)
        self.pending = (
            self.bit << PENDING_SHIFT
            if self.deferrable and pack.config.deadline_grace_hours > 0
            else 0
        )

    def apply(
        self, state: CustomerState, event: Transfer | Remittance, ctx: Context, out: Findings
    ) -> None:
        item = self.record_now(state, event, ctx)
        if item is None:
            return
        if self.is_point(state, item):
            self.check(state, item, event, ctx, out)
        items = state.windows.get(FLOWS)
        if not items or _sort_key(items[-1]) <= _sort_key(item):
            return  # in order: nothing later to see again
        horizon = item.event_ms + getattr(self.cfg, "window_days", 0) * DAY_MS
        at = bisect_right(items, _sort_key(item), key=_sort_key)
        for later in items[at:]:
            if later.event_ms > horizon:
                break
            if self.is_point(state, later):
                moment = ctx.at(later.event_ms)
                then = replace(ctx, event_ms=later.event_ms, day=moment.date())
                self.check(state, later, AsOf(event.customer_id, moment), then, out)

    def record_now(
        self, state: CustomerState, event: Transfer | Remittance, ctx: Context
    ) -> FlowItem | None:
        """Record the event's item; it, to be decided now, or None: the event moves no money,
        or its point is marked pending, decided when the grace has passed
        (`flow_decisions`)."""
        item = self.recorder.record(state, event, ctx)
        if item is not None and self.pending:
            mark_reported(state, [item], self.pending)
            return None
        return item

    def is_point(self, state: CustomerState, item: FlowItem) -> bool:
        """Whether the rule is evaluated at `item` (default: money leaving to a third
        party)."""
        return item.direction == "out" and not item.tags & OWN

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        """Evaluate the rule as of `item`, a point (`is_point`): the event's own, or a later
        one's."""
        raise NotImplementedError


class FlowRecorder:
    """Adds an event's `FlowItem` to the FLOWS window once, whichever rule asks first.
    Built once per rule from the pack (the payroll purposes are FUNNEL_OUT's)."""

    def __init__(self, pack: Pack) -> None:
        cfg = getattr(pack.config.rules, "FUNNEL_OUT", None)  # absent from a custom registry
        purposes = getattr(cfg, "payroll_purposes", ())
        self.payroll = frozenset(p.strip().lower() for p in purposes)

    def record(
        self, state: CustomerState, event: Transfer | Remittance, ctx: Context
    ) -> FlowItem | None:
        """The event's item in the window (added if new); None for a remittance that moves
        no money (a supplement, or a payment without amount)."""
        now = ctx.event_ms
        items: list[FlowItem] = state.windows.setdefault(FLOWS, [])
        if items:
            last = items[-1]
            if last.event_ms == now and last.txn_id == event.txn_id:
                return last  # recorded by an earlier rule for this event
        item = self._item(event, ctx)
        if item is None:
            if not items:
                del state.windows[FLOWS]
            return None
        if not items or _sort_key(items[-1]) < (now, event.txn_id):
            items.append(item)
        else:  # an event older than the newest item: insert in order, once
            at = bisect_left(items, (now, event.txn_id), key=_sort_key)
            if at < len(items) and _sort_key(items[at]) == (now, event.txn_id):
                return items[at]
            items.insert(at, item)
        cap = ctx.pack.config.state.max_window_items
        if len(items) > cap:
            del items[: len(items) - cap]
        return item

    def _item(self, event: Transfer | Remittance, ctx: Context) -> FlowItem | None:
        tags = 0
        if isinstance(event, Transfer):
            cp = event.counterparty
            account = cp.account_number
            if cp.customer_id is not None and cp.customer_id == event.customer_id:
                tags |= OWN
            if event.direction == "out" and (event.purpose or "").strip().lower() in self.payroll:
                tags |= PAYROLL
            amount, currency = event.amount, event.currency
        else:
            if event.kind != "payment" or event.amount is None or event.currency is None:
                return None
            party = event.beneficiary if event.direction == "out" else event.originator
            account = party.account_number if party is not None else None
            amount, currency = event.amount, event.currency
        local = ctx.to_local(amount, currency, ctx.day)
        cents = int((local * 100).to_integral_value())
        return FlowItem(
            ctx.event_ms, event.txn_id, event.direction, cents, fingerprint(account), tags, 0
        )


def recent(state: CustomerState, now_ms: int, days: int, bit: int) -> list[FlowItem]:
    """The FLOWS items in (`now_ms` - `days`, `now_ms`] not yet reported by rule `bit`."""
    start = now_ms - days * DAY_MS
    return [
        i
        for i in state.windows.get(FLOWS, ())
        if start < i.event_ms <= now_ms and not i.reported & bit
    ]


def mark_reported(state: CustomerState, chosen: list[FlowItem], bit: int) -> None:
    """Set `bit` on the FLOWS items in `chosen`: the rule never counts them again."""
    ids = {(i.event_ms, i.txn_id) for i in chosen}
    items = state.windows[FLOWS]
    items[:] = [
        i._replace(reported=i.reported | bit) if (i.event_ms, i.txn_id) in ids else i for i in items
    ]


def cents_of(money: Money, ctx: Context) -> int:
    """`money` in hundredths of the FX table's base currency, at the event's day."""
    fx = ctx.pack.fx
    amount = money.amount
    if money.currency != fx.base:
        amount = fx.convert(amount, money.currency, fx.base, ctx.day)
    return int((amount * 100).to_integral_value())


def count(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1 ("1 payee", "12 payees")."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def pct(part: int, whole: int) -> Decimal:
    """`part` as a percentage of `whole`, one decimal."""
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else Decimal(0)


def money_text(cents: int, ctx: Context) -> str:
    return f"{fmt_money(Decimal(cents) / 100)} {ctx.pack.fx.base}"


def flow_alert(
    rule_id: str,
    cfg: RuleConfig,
    event: Any,
    ctx: Context,
    chosen: list[FlowItem],
    summary: str,
    cents: int,
) -> Alert:
    """The alert of a behaviour rule: id from the rule, customer and the items' txn ids,
    evidence those txn ids in time order, window from the first item to the event, event
    time the point's (to the millisecond)."""
    ordered = sorted(chosen, key=_sort_key)
    ids = [i.txn_id for i in ordered]
    tz = ctx.pack.tz
    start = datetime.fromtimestamp(ordered[0].event_ms / 1000, UTC).astimezone(tz)
    end = datetime.fromtimestamp(ctx.event_ms / 1000, UTC).astimezone(tz)
    return ctx.alert(
        rule_id,
        cfg,
        event.customer_id,
        tuple(ids),
        summary,
        ctx.at(ctx.event_ms),  # to the millisecond, as a point re-evaluated later has it
        amount=(Decimal(cents) / 100).quantize(Decimal("0.01")),
        currency=ctx.pack.fx.base,
        evidence=ids[:200],
        window=(start, max(start, end)),
        figures=flow_figures(ordered, ctx, start, max(start, end)),
    )


def flow_figures(
    items: list[FlowItem], ctx: Context, start: datetime, end: datetime
) -> dict[str, Any]:
    """What a behaviour rule's pattern is made of: flows in and out (counts, totals in the
    FX table's base currency), distinct counterparties (by account fingerprint), the window
    and each transfer's key fields. No names or account numbers."""
    inflows = [i for i in items if i.direction == "in"]
    outflows = [i for i in items if i.direction == "out"]
    base = ctx.pack.fx.base
    return {
        "currency": base,
        "inflows": len(inflows),
        "inflow_total": Decimal(sum(i.cents for i in inflows)) / 100,
        "outflows": len(outflows),
        "outflow_total": Decimal(sum(i.cents for i in outflows)) / 100,
        "counterparties": len({i.counterparty for i in items if i.counterparty}),
        "first": start.isoformat(),
        "last": end.isoformat(),
        "transactions": [
            {
                "txn_id": i.txn_id,
                "time": ctx.at(i.event_ms).isoformat(),
                "amount": Decimal(i.cents) / 100,
                "currency": base,
                "direction": i.direction,
            }
            for i in items[:50]
        ],
    }
