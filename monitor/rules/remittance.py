"""Cross-border remittance information (PBoC Order 2025 No.11, FATF R.16): REMIT_MISSING_INFO."""

from __future__ import annotations

from typing import ClassVar

from monitor.pack import RemitMissingInfoConfig
from monitor.rules.base import Context, Findings, is_blank
from monitor.state import CustomerState
from schemas import Remittance, RemittanceBeneficiary, RemittanceOriginator

__all__ = ["RemitMissingInfo", "missing_remittance_fields"]

_NO_ORIGINATOR = RemittanceOriginator()
_NO_BENEFICIARY = RemittanceBeneficiary()


def missing_remittance_fields(event: Remittance) -> list[str]:
    """The required fields a remittance lacks (empty strings count as missing).

    Originator name and address; originator account number, or where there is none the
    originator's id number, contact and the unique reference; beneficiary name;
    beneficiary account number, or the reference."""
    o = event.originator or _NO_ORIGINATOR
    b = event.beneficiary or _NO_BENEFICIARY
    missing: list[str] = []
    if is_blank(o.name):
        missing.append("originator.name")
    if is_blank(o.address):
        missing.append("originator.address")
    if is_blank(o.account_number):
        alternatives = {
            "originator.id_number": o.id_number,
            "originator.contact": o.contact,
            "reference": event.reference,
        }
        lacking = [name for name, value in alternatives.items() if is_blank(value)]
        if lacking:
            missing.append("originator.account_number")
            missing.extend(lacking)
    if is_blank(b.name):
        missing.append("beneficiary.name")
    if is_blank(b.account_number) and is_blank(event.reference):
        missing.append("beneficiary.account_number")
        if "reference" not in missing:
            missing.append("reference")
    return missing


class RemitMissingInfo:
    """A cross-border payment missing required originator or beneficiary fields: outbound
    from the configured amount, inbound from its own (default: any amount)."""

    rule_id: ClassVar[str] = "REMIT_MISSING_INFO"
    handles: ClassVar[tuple[type, ...]] = (Remittance,)

    def __init__(self, cfg: RemitMissingInfoConfig) -> None:
        self.cfg = cfg

    def apply(self, state: CustomerState, event: Remittance, ctx: Context, out: Findings) -> None:
        if event.kind != "payment" or event.amount is None or event.currency is None:
            return
        cfg = self.cfg
        day = ctx.local_day(event.occurred_at)
        if event.direction == "out":
            local, foreign = cfg.outbound_from_local, cfg.outbound_from_foreign
        else:
            local, foreign = cfg.inbound_from_local, cfg.inbound_from_foreign
        if event.currency == local.currency:
            in_scope = event.amount >= local.amount
        else:
            converted = ctx.pack.fx.convert(event.amount, event.currency, foreign.currency, day)
            in_scope = converted >= foreign.amount
        if not in_scope:
            return
        missing = missing_remittance_fields(event)
        if not missing:
            return
        direction = "outbound" if event.direction == "out" else "inbound"
        summary = (
            f"{direction} cross-border remittance {event.txn_id} of {event.amount} "
            f"{event.currency} lacks required fields: {', '.join(missing)}"
        )
        out.alerts.append(
            ctx.alert(
                self.rule_id,
                cfg,
                event.customer_id,
                (event.txn_id,),
                summary,
                event.occurred_at,
                amount=event.amount,
                currency=event.currency,
                evidence=[event.txn_id],
            )
        )
