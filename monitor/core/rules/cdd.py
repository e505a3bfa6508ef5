"""Customer due diligence on transactions (PBoC Order 2025 No.11): CDD_ONE_OFF, CDD_AGENT."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from monitor.core.profile import identity_gaps
from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import Threshold, ThresholdRuleConfig, money
from monitor.core.rules.kyc import mandatory_fields, person_identity_gaps
from monitor.core.state import CustomerState
from schemas import CashTransaction

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["AgentCash", "OneOffService", "SingleThresholdConfig", "person_identity_gaps"]

logger = logging.getLogger(__name__)


class SingleThresholdConfig(ThresholdRuleConfig):
    """One cash transaction from `threshold`."""


_CDD_THRESHOLD = Threshold(local=money("CNY", 50000), foreign=money("USD", 10000))


class _CashIdentity:
    """What CDD_ONE_OFF and CDD_AGENT share: their config, the pack's mandatory identity
    fields, and the check itself: cash the rule concerns from the threshold whose identity
    record has gaps is reported with those gaps."""

    rule_id: ClassVar[str]
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[SingleThresholdConfig] = SingleThresholdConfig(threshold=_CDD_THRESHOLD)

    def __init__(self, cfg: SingleThresholdConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.mandatory = mandatory_fields(pack)

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        if not self._concerns(event):
            return
        threshold = self.cfg.threshold
        if not ctx.reaches(threshold, event.amount, event.currency, ctx.day):
            return
        gaps = self._gaps(state, event, ctx.day)
        if not gaps:
            return
        summary = self._summary(event, gaps)
        out.alerts.append(
            ctx.txn_alert(self.rule_id, self.cfg, event, summary, threshold, {"gaps": gaps})
        )

    def _concerns(self, event: CashTransaction) -> bool:
        raise NotImplementedError

    def _gaps(self, state: CustomerState, event: CashTransaction, day: date) -> list[str]:
        raise NotImplementedError

    def _summary(self, event: CashTransaction, gaps: list[str]) -> str:
        raise NotImplementedError


class OneOffService(_CashIdentity):
    """CDD_ONE_OFF: a one-off cash service (`account_id` null) from the threshold without a
    complete, valid identity record of the person (opening seen, mandatory fields present,
    document not expired on the transaction day)."""

    rule_id: ClassVar[str] = "CDD_ONE_OFF"

    def _concerns(self, event: CashTransaction) -> bool:
        return event.account_id is None

    def _gaps(self, state: CustomerState, event: CashTransaction, day: date) -> list[str]:
        return identity_gaps(state, day, self.mandatory)

    def _summary(self, event: CashTransaction, gaps: list[str]) -> str:
        return (
            f"one-off {event.service or 'cash'} service {event.txn_id} of {event.amount} "
            f"{event.currency} without a complete identity record: {', '.join(gaps)}"
        )


class AgentCash(_CashIdentity):
    """CDD_AGENT: cash from the threshold conducted by someone else (`conductor`) without
    both the conductor's and the customer's valid identity."""

    rule_id: ClassVar[str] = "CDD_AGENT"

    def _concerns(self, event: CashTransaction) -> bool:
        return event.conductor is not None

    def _gaps(self, state: CustomerState, event: CashTransaction, day: date) -> list[str]:
        gaps = [f"conductor {g}" for g in person_identity_gaps(event.conductor, day)]
        return gaps + [f"customer {g}" for g in identity_gaps(state, day, self.mandatory)]

    def _summary(self, event: CashTransaction, gaps: list[str]) -> str:
        return (
            f"cash {event.txn_id} of {event.amount} {event.currency} conducted by an agent "
            f"without verified identities: {', '.join(gaps)}"
        )
