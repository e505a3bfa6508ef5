"""Funnel accounts (PBoC 2006 Order No.2, art. 11(1)): FUNNEL_IN, funds from many payers
leaving to one or a few payees (分散转入、集中转出), and FUNNEL_OUT, its mirror
(集中转入、分散转出)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import Money, money
from monitor.core.rules.flows import (
    FLOWS,
    OWN,
    PAYROLL,
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
from monitor.core.state import CustomerState, FlowItem
from schemas import Remittance, Transfer

__all__ = ["FunnelIn", "FunnelInConfig", "FunnelOut", "FunnelOutConfig"]

logger = logging.getLogger(__name__)

_PAYROLL_PURPOSES = ["salary", "payroll", "wages", "bonus", "工资", "代发工资", "奖金"]


class FunnelInConfig(BehaviourConfig):
    """Within `window_days`: inflows from >= `min_payers` distinct payer accounts totalling
    >= `min_total`, and >= `min_out_share_pct` % of that total paid out to at most
    `max_payees` payee accounts."""

    window_days: int = Field(default=7, ge=1, le=90)
    min_payers: int = Field(default=10, ge=2, le=100_000)
    max_payees: int = Field(default=2, ge=1, le=100)
    min_out_share_pct: Decimal = Field(default=Decimal(80), gt=0, le=100)
    min_total: Money = money("CNY", 100000)


class FunnelOutConfig(BehaviourConfig):
    """Within `window_days`: inflows totalling >= `min_total`, >= `min_in_share_pct` % of
    them from at most `max_payers` payer accounts, and >= `min_out_share_pct` % of that
    total paid out to >= `min_payees` distinct payee accounts. Outflows whose purpose is in
    `payroll_purposes` are left out for the customers `payroll_exempt` names."""

    window_days: int = Field(default=7, ge=1, le=90)
    max_payers: int = Field(default=2, ge=1, le=100)
    min_in_share_pct: Decimal = Field(default=Decimal(80), gt=0, le=100)
    min_payees: int = Field(default=10, ge=2, le=100_000)
    min_out_share_pct: Decimal = Field(default=Decimal(80), gt=0, le=100)
    min_total: Money = money("CNY", 100000)
    payroll_purposes: list[str] = Field(default_factory=lambda: list(_PAYROLL_PURPOSES))
    payroll_exempt: Literal["entity", "all", "none"] = "entity"


def _third_party(items: list[FlowItem], direction: str) -> list[FlowItem]:
    return [i for i in items if i.direction == direction and not i.tags & OWN]


def _by_party(items: list[FlowItem]) -> dict[str, int]:
    """Cents per known counterparty fingerprint (unknown accounts are left out)."""
    sums: dict[str, int] = {}
    for i in items:
        if i.counterparty:
            sums[i.counterparty] = sums.get(i.counterparty, 0) + i.cents
    return sums


def _top(sums: dict[str, int], k: int) -> tuple[set[str], int]:
    """The `k` parties with the largest sums (ties by fingerprint) and their total."""
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return {party for party, _ in ranked}, sum(c for _, c in ranked)


class FunnelIn(FlowRule[FunnelInConfig]):
    """FUNNEL_IN: many payers in, one or a few payees out, within days. Evaluated when
    money leaves to a third party; transfers to or from the customer's own accounts do not
    count. Items of an alert are not counted again."""

    rule_id: ClassVar[str] = "FUNNEL_IN"
    handles: ClassVar[tuple[type, ...]] = (Transfer, Remittance)
    default: ClassVar[FunnelInConfig] = FunnelInConfig()

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        if len(state.windows[FLOWS]) <= cfg.min_payers:  # cheap: too few flows to qualify
            return
        items = recent(state, ctx.event_ms, cfg.window_days, self.bit)
        ins = _third_party(items, "in")
        payers = {i.counterparty for i in ins if i.counterparty}
        if len(payers) < cfg.min_payers:
            return
        in_total = sum(i.cents for i in ins)
        if in_total <= 0 or in_total < cents_of(cfg.min_total, ctx):
            return
        outs = _third_party(items, "out")
        payees, to_payees = _top(_by_party(outs), cfg.max_payees)
        if to_payees * 100 < in_total * cfg.min_out_share_pct:
            return
        chosen_outs = [i for i in outs if i.counterparty in payees]
        chosen = ins + chosen_outs
        mark_reported(state, chosen, self.bit)
        summary = (
            f"{count(len(ins), 'inflow')} from {count(len(payers), 'payer')} totalling "
            f"{money_text(in_total, ctx)} within {cfg.window_days} days; "
            f"{pct(to_payees, in_total)}% ({money_text(to_payees, ctx)}) left to "
            f"{count(len(payees), 'payee')} in {count(len(chosen_outs), 'outflow')}"
        )
        out.alerts.append(flow_alert(self.rule_id, cfg, event, ctx, chosen, summary, in_total))


class FunnelOut(FlowRule[FunnelOutConfig]):
    """FUNNEL_OUT: one or a few payers in, many payees out, within days. Evaluated when
    money leaves to a third party; own-account transfers do not count, nor (for an entity,
    by default) payroll outflows."""

    rule_id: ClassVar[str] = "FUNNEL_OUT"
    handles: ClassVar[tuple[type, ...]] = (Transfer, Remittance)
    default: ClassVar[FunnelOutConfig] = FunnelOutConfig()

    def _exempt(self, state: CustomerState) -> bool:
        """Whether payroll outflows are left out for this customer."""
        cfg = self.cfg
        return cfg.payroll_exempt == "all" or (
            cfg.payroll_exempt == "entity"
            and state.profile is not None
            and state.profile.get("type") == "entity"
        )

    def is_point(self, state: CustomerState, item: FlowItem) -> bool:
        return super().is_point(state, item) and not (
            item.tags & PAYROLL and self._exempt(state)
        )

    def check(
        self, state: CustomerState, item: FlowItem, event: Any, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        exempt = self._exempt(state)
        if len(state.windows[FLOWS]) <= cfg.min_payees:  # cheap: too few flows to qualify
            return
        items = recent(state, ctx.event_ms, cfg.window_days, self.bit)
        ins = _third_party(items, "in")
        in_total = sum(i.cents for i in ins)
        if in_total <= 0 or in_total < cents_of(cfg.min_total, ctx):
            return
        payers, from_payers = _top(_by_party(ins), cfg.max_payers)
        if from_payers * 100 < in_total * cfg.min_in_share_pct:
            return
        outs = [i for i in _third_party(items, "out") if not (exempt and i.tags & PAYROLL)]
        payees = {i.counterparty for i in outs if i.counterparty}
        if len(payees) < cfg.min_payees:
            return
        out_total = sum(i.cents for i in outs)
        if out_total * 100 < in_total * cfg.min_out_share_pct:
            return
        chosen = [i for i in ins if i.counterparty in payers] + outs
        mark_reported(state, chosen, self.bit)
        summary = (
            f"{money_text(in_total, ctx)} in within {cfg.window_days} days, "
            f"{pct(from_payers, in_total)}% of it from {count(len(payers), 'payer')}; "
            f"{pct(out_total, in_total)}% ({money_text(out_total, ctx)}) paid out to "
            f"{count(len(payees), 'payee')} in {count(len(outs), 'outflow')}"
        )
        out.alerts.append(flow_alert(self.rule_id, cfg, event, ctx, chosen, summary, out_total))
