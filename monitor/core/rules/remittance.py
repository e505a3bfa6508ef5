"""Cross-border remittance information (PBoC Order 2025 No.11, FATF R.16):
REMIT_MISSING_INFO and REMIT_INFO_UNRESOLVED."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from monitor.core import early
from monitor.core.clock import deadline_context
from monitor.core.rules.base import Context, Findings, epoch_ms, is_blank
from monitor.core.rules.config import Category, RuleConfig, Threshold, money
from monitor.core.state import CustomerState
from schemas import Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "RemitInfoUnresolved",
    "RemitMissingInfo",
    "RemitMissingInfoConfig",
    "RemitUnresolvedConfig",
    "missing_from",
]

logger = logging.getLogger(__name__)


class RemitMissingInfoConfig(RuleConfig):
    """Required originator/beneficiary fields of a cross-border payment, checked from
    `outbound_from` (outbound) and `inbound_from` (inbound, default any amount)."""

    outbound_from: Threshold = Threshold(local=money("CNY", 5000), foreign=money("USD", 1000))
    inbound_from: Threshold = Threshold(local=money("CNY", 0), foreign=money("USD", 0))


class RemitUnresolvedConfig(RuleConfig):
    """Payments still missing fields `follow_up_working_days` after the alert: a
    suspicious-behaviour matter (category `suspicious`)."""

    category: Category = "suspicious"
    follow_up_working_days: int = Field(default=10, ge=1, le=120)


_FIELDS = {
    "originator": ("name", "account_number", "address", "id_number", "contact", "country"),
    "beneficiary": ("name", "account_number", "address", "country"),
}


#: (party, ((field, dotted path), ...)) for `_present`
_PATHS = tuple(
    (party, tuple((name, f"{party}.{name}") for name in names)) for party, names in _FIELDS.items()
)


def _present(event: Remittance) -> set[str]:
    """Dotted paths of the non-blank remittance fields (`reference` included)."""
    found = set()
    for party, fields in _PATHS:
        obj = getattr(event, party)
        if obj is None:
            continue
        for name, path in fields:
            value = getattr(obj, name)  # not blank: is_blank inlined, this runs per field
            if value is not None and (not isinstance(value, str) or value.strip()):
                found.add(path)
    if not is_blank(event.reference):
        found.add("reference")
    return found


def missing_from(present: set[str]) -> list[str]:
    """The required fields missing from a set of present paths (docs/interface.md):
    originator name and address; originator account number, or where there is none the
    originator's id number, contact and the unique reference; beneficiary name;
    beneficiary account number, or the reference."""
    missing: list[str] = [p for p in ("originator.name", "originator.address") if p not in present]
    if "originator.account_number" not in present:
        lacking = [
            p
            for p in ("originator.id_number", "originator.contact", "reference")
            if p not in present
        ]
        if lacking:
            missing.append("originator.account_number")
            missing.extend(lacking)
    if "beneficiary.name" not in present:
        missing.append("beneficiary.name")
    if "beneficiary.account_number" not in present and "reference" not in present:
        missing.append("beneficiary.account_number")
        if "reference" not in missing:
            missing.append("reference")
    return missing


class RemitMissingInfo:
    """A cross-border payment missing required originator or beneficiary fields: outbound
    from the configured amount, inbound from its own (default: any amount). The payment is
    remembered until a supplement completes it or the follow-up deadline passes.

    A supplement processed before its payment (another topic or partition) is kept
    (`monitor.core.early`: its present paths, no values) and applied right after the
    payment, unless its event time is past the payment's follow-up deadline (plus grace),
    where event-time order would have reported REMIT_INFO_UNRESOLVED first."""

    rule_id: ClassVar[str] = "REMIT_MISSING_INFO"
    handles: ClassVar[tuple[type, ...]] = (Remittance,)
    default: ClassVar[RemitMissingInfoConfig] = RemitMissingInfoConfig()

    def __init__(self, cfg: RemitMissingInfoConfig, pack: Pack) -> None:
        self.cfg = cfg
        # followed up (pending until supplemented) only while REMIT_INFO_UNRESOLVED is on
        unresolved = pack.config.rules.of(RemitInfoUnresolved.rule_id, RemitUnresolvedConfig)
        self.follow_up_days: int | None = (
            unresolved.follow_up_working_days if unresolved.enabled else None
        )

    def apply(self, state: CustomerState, event: Remittance, ctx: Context, out: Findings) -> None:
        if event.kind == "supplement":
            self._supplement(state, event, ctx)
            return
        held = early.take(state, early.SUPPLEMENT, event.txn_id) if state.early else ()
        self._payment(state, event, ctx, out)
        if not held or event.txn_id not in state.pending:
            return  # nothing to complete: event-time order would have discarded them too
        grace_ms = ctx.pack.config.deadline_grace_hours * 3_600_000
        for item in held:
            pending = state.pending.get(event.txn_id)
            if pending is None or item["t"] > pending["due_ms"] + grace_ms:
                break  # resolved, or REMIT_INFO_UNRESOLVED decides before this supplement
            _complete(state, event.txn_id, pending, set(item["b"]["p"]), item["id"])

    def _supplement(self, state: CustomerState, event: Remittance, ctx: Context) -> None:
        item = state.pending.get(event.txn_id)
        if item is not None:
            _complete(state, event.txn_id, item, _present(event), event.event_id)
        elif f"rmi|{event.txn_id}" not in state.flags and self.follow_up_days is not None:
            # no payment reported under this txn_id yet: keep it until the payment arrives
            body = {"p": sorted(_present(event))}
            cap = ctx.pack.config.state.max_early_items
            early.hold(
                state, early.SUPPLEMENT, event.event_id, ctx.event_ms, event.txn_id, body, cap
            )

    def _payment(
        self, state: CustomerState, event: Remittance, ctx: Context, out: Findings
    ) -> None:
        if event.amount is None or event.currency is None:
            return
        day = ctx.day
        limit = self.cfg.outbound_from if event.direction == "out" else self.cfg.inbound_from
        if not ctx.reaches(limit, event.amount, event.currency, day):
            return
        present = _present(event)
        missing = missing_from(present)
        if not missing:
            return
        flag = f"rmi|{event.txn_id}"
        if flag in state.flags:
            return  # a redelivery older than the redelivery guard: reported and followed up once
        state.flags[flag] = ctx.event_ms
        direction = "outbound" if event.direction == "out" else "inbound"
        alert = ctx.txn_alert(
            self.rule_id,
            self.cfg,
            event,
            f"{direction} cross-border remittance {event.txn_id} of {event.amount} "
            f"{event.currency} lacks required fields: {', '.join(missing)}",
            limit,
            {"direction": event.direction, "missing": missing, "missing_count": len(missing)},
        )
        out.alerts.append(alert)
        if self.follow_up_days is not None and event.txn_id not in state.pending:
            due_day = ctx.pack.calendar.add_working_days(day, self.follow_up_days)
            due_end = datetime.combine(due_day + timedelta(days=1), time(0), tzinfo=ctx.pack.tz)
            state.pending[event.txn_id] = {
                "due_ms": epoch_ms(due_end),
                "due": due_day.isoformat(),
                "present": sorted(present),
                "event_id": event.event_id,
                "at": event.occurred_at.isoformat(),
                "amount": str(event.amount),
                "currency": event.currency,
                "direction": event.direction,
                "alert_id": alert.alert_id,
                "supplements": [],
            }


def _complete(
    state: CustomerState, txn_id: str, item: dict[str, Any], paths: set[str], event_id: str
) -> None:
    """Add a supplement's present paths to a pending payment; resolved when complete."""
    present = set(item["present"]) | paths
    item["present"] = sorted(present)
    item["supplements"] = [*item["supplements"], event_id][-20:]
    if not missing_from(present):
        del state.pending[txn_id]  # resolved in time


class RemitInfoUnresolved:
    """REMIT_INFO_UNRESOLVED: decided when event time passes the end of the follow-up
    deadline day (plus the pack's grace) with fields still missing. Event time is the
    customer's own watermark, or the stream time the engine's `advance` is given
    (`ctx.event_ms`), whichever is later. Runs on every event of the customer, whatever its
    topic.

    Information still missing after the request is a matter for a suspicious report (PBoC
    customer identification, suspicious behaviour: the originator's name, account or address
    still not obtained after asking the remitting institution), not for due diligence: the
    pack's default category is `suspicious`. The suspicion arises when the deadline passes,
    so the alert's `event_time` is the deadline itself (the end of the deadline day) and
    its `report_due` counts from that day, never from the payment's. Nothing in the alert
    depends on what decided it, so an event and the stream clock raise the same alert."""

    rule_id: ClassVar[str] = "REMIT_INFO_UNRESOLVED"
    handles: ClassVar[tuple[type, ...]] = ()
    default: ClassVar[RemitUnresolvedConfig] = RemitUnresolvedConfig()

    def __init__(self, cfg: RemitUnresolvedConfig, pack: Pack) -> None:
        self.cfg = cfg

    @staticmethod
    def next_due_ms(state: CustomerState, grace_ms: int) -> int | None:
        """The event time (epoch ms) after which the earliest follow-up is decided."""
        pending = state.pending
        if not pending:
            return None
        return int(min(item["due_ms"] for item in pending.values())) + grace_ms

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        if not state.pending:
            return
        grace_ms = ctx.pack.config.deadline_grace_hours * 3_600_000
        now_ms = max(state.watermark_ms, ctx.event_ms)
        for txn_id in sorted(state.pending):
            item = state.pending[txn_id]
            if now_ms <= item["due_ms"] + grace_ms:
                continue
            del state.pending[txn_id]
            missing = missing_from(set(item["present"]))
            occurred = datetime.fromisoformat(item["at"])
            deadline = datetime.fromtimestamp(item["due_ms"] / 1000, ctx.pack.tz)
            out.alerts.append(
                deadline_context(ctx).alert(
                    self.rule_id,
                    self.cfg,
                    state.customer_id,
                    (txn_id,),
                    f"remittance {txn_id} still lacks {', '.join(missing)} after the follow-up "
                    f"deadline {item['due']} ({self.cfg.follow_up_working_days} working days)",
                    deadline,
                    amount=Decimal(item["amount"]),
                    currency=item["currency"],
                    evidence=[txn_id, *item["supplements"]],
                    window=(occurred, deadline),
                    figures={
                        "txn_id": txn_id,
                        "direction": item["direction"],
                        "amount": item["amount"],
                        "currency": item["currency"],
                        "due": item["due"],
                        "missing": missing,
                        "missing_count": len(missing),
                        "supplement_count": len(item["supplements"]),
                    },
                )
            )
