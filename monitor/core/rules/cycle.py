"""FUNDS_CYCLE: money leaving a customer's account and coming back to it within days through
a short chain of transfers among accounts we see (round-tripping; PBoC 2006 Order No.2 art.
11: 短期内资金分散转入、集中转出 and transfers with no evident economic purpose; the
cycles across customers of the typologies banks monitor)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, model_validator

from monitor.core.network import Edge, Leg, Token
from monitor.core.rules.base import Context, Findings, fmt_money
from monitor.core.rules.config import Money, Severity, money
from monitor.core.rules.flows import BehaviourConfig, cents_of
from monitor.core.rules.network import NET, add_item, edge_cents, span
from monitor.core.state import CustomerState, NetItem

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["FundsCycle", "FundsCycleConfig"]

logger = logging.getLogger(__name__)

_HOUR_MS = 3_600_000
# a leg: (txn_id, src, dst, src_owner, dst_owner, cents, event_ms, src_mask, dst_mask)
_TXN, _SRC, _DST, _SRC_OWNER, _DST_OWNER, _CENTS, _MS, _SRC_MASK, _DST_MASK = range(9)


class FundsCycleConfig(BehaviourConfig):
    """A path of `min_hops` to `max_hops` transfers, each >= `min_amount`, from an account
    of our customer back to it: each transfer within `hop_hours` after the one before and
    carrying `min_carry_pct` to `max_carry_pct` % of its amount, the whole within
    `window_hours`, through at least one account that is not the customer's own. At most
    `max_fanout` onward transfers are followed from one arrival and `max_paths` paths kept
    per account."""

    severity: Severity = "high"
    min_hops: int = Field(default=3, ge=2, le=8)
    max_hops: int = Field(default=4, ge=2, le=8)
    window_hours: int = Field(default=72, ge=1, le=24 * 30)
    hop_hours: int = Field(default=48, ge=1, le=24 * 30)
    min_amount: Money = money("CNY", 10000)
    min_carry_pct: Decimal = Field(default=Decimal(70), gt=0, le=100)
    max_carry_pct: Decimal = Field(default=Decimal(120), ge=100, le=1000)
    max_fanout: int = Field(default=10, ge=1, le=1000)
    max_paths: int = Field(default=200, ge=1, le=100_000)

    @model_validator(mode="after")
    def _hops(self) -> FundsCycleConfig:
        if self.min_hops > self.max_hops:
            raise ValueError("min_hops must not exceed max_hops")
        return self


class FundsCycle:
    """FUNDS_CYCLE, found by passing paths along: at an account, a path of transfers that
    ended there (a transfer in from our customer's account is a path of one) is paired with
    each later transfer out of it within `hop_hours` that carries most of the money on; the
    longer path goes on to the next account's record (`Findings.forwards`), or, when the
    transfer goes back to where the path started, is a cycle. Every customer of ours that
    owns an account of the cycle is alerted, once per cycle (its transfers' ids).

    Arrival order: a path and a transfer out are paired by whichever of the two arrives
    second, by a test on the pair alone, so the same paths go on and the same cycles are
    found in whatever order they arrive (within the record's retention and the caps)."""

    rule_id: ClassVar[str] = "FUNDS_CYCLE"
    handles: ClassVar[tuple[type, ...]] = (Edge, Token)
    default: ClassVar[FundsCycleConfig] = FundsCycleConfig(enabled=False)

    def __init__(self, cfg: FundsCycleConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.hop_ms = cfg.hop_hours * _HOUR_MS
        self.window_ms = cfg.window_hours * _HOUR_MS

    def apply(self, state: CustomerState, event: Edge | Token, ctx: Context, out: Findings) -> None:
        cap = ctx.pack.config.state.max_window_items
        if isinstance(event, Token):
            legs = [list(leg) for leg in event.legs]
            if add_item(state, NetItem(ctx.event_ms, event.event_id, "t", 0, legs), cap):
                self._keep_paths(state)
                self._onwards(state, legs, ctx, out)
            return
        cents = edge_cents(event, ctx)
        if cents < cents_of(self.cfg.min_amount, ctx):
            return
        leg = [
            event.txn_id,
            event.src,
            event.dst,
            event.src_owner,
            event.dst_owner,
            cents,
            ctx.event_ms,
            event.src_mask,
            event.dst_mask,
        ]
        if event.role == "o":
            if add_item(state, NetItem(ctx.event_ms, event.event_id, "o", cents, leg), cap):
                self._backwards(state, leg, ctx, out)
        elif event.src_owner:  # a path starts at an account of our customer
            if add_item(state, NetItem(ctx.event_ms, event.event_id, "t", cents, [leg]), cap):
                self._keep_paths(state)
                self._onwards(state, [leg], ctx, out)

    def _keep_paths(self, state: CustomerState) -> None:
        items = state.windows[NET]
        if len(items) <= self.cfg.max_paths:  # cannot hold too many paths
            return
        paths = [i for i in items if i.kind == "t"]
        if len(paths) > self.cfg.max_paths:
            drop = {id(i) for i in paths[: len(paths) - self.cfg.max_paths]}
            state.windows[NET] = [i for i in items if id(i) not in drop]

    def _fits(self, path: list[Any], leg: list[Any]) -> bool:
        last, first = path[-1], path[0]
        cfg = self.cfg
        gap, whole = leg[_MS] - last[_MS], leg[_MS] - first[_MS]
        if not (0 < gap <= self.hop_ms and whole <= self.window_ms):
            return False
        carried = Decimal(leg[_CENTS]) * 100
        if not last[_CENTS] * cfg.min_carry_pct <= carried <= last[_CENTS] * cfg.max_carry_pct:
            return False
        if leg[_DST] != first[_SRC] and any(leg[_DST] == p[_DST] for p in path):
            return False  # a loop that does not close at the start
        return not any(leg[_TXN] == p[_TXN] for p in path)

    def _onwards(self, state: CustomerState, path: list[Any], ctx: Context, out: Findings) -> None:
        """Pair a path that ended here with the transfers out that follow it."""
        last_ms = path[-1][_MS]
        hi = min(last_ms + self.hop_ms, path[0][_MS] + self.window_ms)
        pairs = [o.body for o in span(state, last_ms + 1, hi, "o") if self._fits(path, o.body)]
        for leg in pairs[: self.cfg.max_fanout]:
            self._extend(path, leg, ctx, out)

    def _backwards(self, state: CustomerState, leg: list[Any], ctx: Context, out: Findings) -> None:
        """Pair a transfer out with the paths that ended here before it."""
        ms = leg[_MS]
        ended = span(state, ms - self.hop_ms, ms - 1, "t")
        paths = [t.body for t in ended if self._fits(t.body, leg)]
        for path in paths[: self.cfg.max_fanout]:
            self._extend(path, leg, ctx, out)

    def _extend(self, path: list[Any], leg: list[Any], ctx: Context, out: Findings) -> None:
        legs = [*path, leg]
        if leg[_DST] == path[0][_SRC]:
            if len(legs) >= self.cfg.min_hops:
                self._cycle(legs, ctx, out)
            return
        if len(legs) < self.cfg.max_hops:
            out.forwards.append(Token(leg[_DST], tuple(_leg(x) for x in legs)))

    def _cycle(self, legs: list[Any], ctx: Context, out: Findings) -> None:
        origin = legs[0][_SRC_OWNER]
        owners = [leg[_SRC_OWNER] for leg in legs]
        if all(owner == origin for owner in owners):
            return  # the customer's own accounts only: not a cycle through others
        cfg, tz, base = self.cfg, ctx.pack.tz, ctx.pack.fx.base
        members = sorted({o for o in owners if o})
        first = datetime.fromtimestamp(legs[0][_MS] / 1000, UTC).astimezone(tz)
        last = datetime.fromtimestamp(legs[-1][_MS] / 1000, UTC).astimezone(tz)
        sent, back = Decimal(legs[0][_CENTS]) / 100, Decimal(legs[-1][_CENTS]) / 100
        hours = Decimal(legs[-1][_MS] - legs[0][_MS]) / _HOUR_MS
        accounts = [leg[_SRC_MASK] for leg in legs]
        summary = (
            f"{fmt_money(sent)} {base} left an account of customer {origin} and "
            f"{fmt_money(back)} {base} came back within {hours.quantize(Decimal('0.1'))} hours "
            f"through {len(legs)} transfers among {len(legs)} accounts "
            f"({len(members)} of our customers): a round trip"
        )
        figures = {
            "hops": len(legs),
            "members": members,
            "origin": origin,
            "accounts": accounts,
            "sent": sent,
            "returned": back,
            "returned_pct": (back * 100 / sent).quantize(Decimal("0.1")),
            "currency": base,
            "hours": hours.quantize(Decimal("0.1")),
            "first": first,
            "last": last,
            "transfers": [
                {
                    "txn_id": leg[_TXN],
                    "from": leg[_SRC_MASK],
                    "to": leg[_DST_MASK],
                    "from_customer": leg[_SRC_OWNER] or None,
                    "to_customer": leg[_DST_OWNER] or None,
                    "at": datetime.fromtimestamp(leg[_MS] / 1000, UTC).astimezone(tz),
                    "amount": Decimal(leg[_CENTS]) / 100,
                }
                for leg in legs
            ],
        }
        ids = [leg[_TXN] for leg in legs]
        for member in members:
            out.alerts.append(
                ctx.alert(
                    self.rule_id,
                    cfg,
                    member,
                    tuple(ids),
                    summary,
                    last,
                    amount=sent.quantize(Decimal("0.01")),
                    currency=base,
                    evidence=ids,
                    window=(first, last),
                    figures=figures,
                )
            )


def _leg(x: list[Any]) -> Leg:
    return (
        str(x[0]), str(x[1]), str(x[2]), str(x[3]), str(x[4]),
        int(x[5]), int(x[6]), str(x[7]), str(x[8]),
    )  # fmt: skip
