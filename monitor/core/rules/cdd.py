"""Customer due diligence on transactions (PBoC Order 2025 No.11): CDD_ONE_OFF, CDD_AGENT."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from monitor.core.profile import identity_gaps
from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import Threshold, ThresholdRuleConfig, money
from monitor.core.rules.kyc import mandatory_fields, person_identity_gaps
from monitor.core.state import CustomerState
from schemas import Alert, CashTransaction

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["AgentCash", "OneOffService", "SingleThresholdConfig", "person_identity_gaps"]

logger = logging.getLogger(__name__)


class SingleThresholdConfig(ThresholdRuleConfig):
    """One cash transaction from `threshold`."""


_CDD_THRESHOLD = Threshold(local=money("CNY", 50000), foreign=money("USD", 10000))


class _CashIdentity:
    """What CDD_ONE_OFF and CDD_AGENT share: their config, the pack's mandatory identity
    fields, the threshold a cash transaction must reach and the alert naming the gaps."""

    rule_id: ClassVar[str]
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[SingleThresholdConfig] = SingleThresholdConfig(threshold=_CDD_THRESHOLD)

    def __init__(self, cfg: SingleThresholdConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.mandatory = mandatory_fields(pack)

    def _reaches(self, event: CashTransaction, ctx: Context) -> bool:
        return ctx.reaches(self.cfg.threshold, event.amount, event.currency, ctx.day)

    def _alert(self, event: CashTransaction, ctx: Context, summary: str, gaps: list[str]) -> Alert:
        return ctx.txn_alert(
            self.rule_id, self.cfg, event, summary, self.cfg.threshold, {"gaps": gaps}
        )


class OneOffService(_CashIdentity):
    """CDD_ONE_OFF: a one-off cash service (`account_id` null) from the threshold without a
    complete, valid identity record of the person (opening seen, mandatory fields present,
    document not expired on the transaction day)."""

    rule_id: ClassVar[str] = "CDD_ONE_OFF"

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        if event.account_id is not None or not self._reaches(event, ctx):
            return
        gaps = identity_gaps(state, ctx.day, self.mandatory)
        if not gaps:
            return
        summary = (
            f"one-off {event.service or 'cash'} service {event.txn_id} of {event.amount} "
            f"{event.currency} without a complete identity record: {', '.join(gaps)}"
        )
        out.alerts.append(self._alert(event, ctx, summary, gaps))


class AgentCash(_CashIdentity):
    """CDD_AGENT: cash from the threshold conducted by someone else (`conductor`) without
    both the conductor's and the customer's valid identity."""

    rule_id: ClassVar[str] = "CDD_AGENT"

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        if event.conductor is None or not self._reaches(event, ctx):
            return
        day = ctx.day
        gaps = [f"conductor {g}" for g in person_identity_gaps(event.conductor, day)]
        gaps += [f"customer {g}" for g in identity_gaps(state, day, self.mandatory)]
        if not gaps:
            return
        summary = (
            f"cash {event.txn_id} of {event.amount} {event.currency} conducted by an agent "
            f"without verified identities: {', '.join(gaps)}"
        )
        out.alerts.append(self._alert(event, ctx, summary, gaps))
