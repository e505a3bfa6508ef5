"""Customer due diligence on transactions (PBoC Order 2025 No.11): CDD_ONE_OFF, CDD_AGENT."""

from __future__ import annotations

import logging
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


class OneOffService:
    """CDD_ONE_OFF: a one-off cash service (`account_id` null) from the threshold without a
    complete, valid identity record of the person (opening seen, mandatory fields present,
    document not expired on the transaction day)."""

    rule_id: ClassVar[str] = "CDD_ONE_OFF"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[SingleThresholdConfig] = SingleThresholdConfig(threshold=_CDD_THRESHOLD)

    def __init__(self, cfg: SingleThresholdConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.mandatory = mandatory_fields(pack)

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        if event.account_id is not None:
            return
        day = ctx.day
        if not ctx.reaches(self.cfg.threshold, event.amount, event.currency, day):
            return
        gaps = identity_gaps(state, day, self.mandatory)
        if not gaps:
            return
        out.alerts.append(
            ctx.txn_alert(
                self.rule_id,
                self.cfg,
                event,
                f"one-off {event.service or 'cash'} service {event.txn_id} of {event.amount} "
                f"{event.currency} without a complete identity record: {', '.join(gaps)}",
                self.cfg.threshold,
                {"gaps": gaps},
            )
        )


class AgentCash:
    """CDD_AGENT: cash from the threshold conducted by someone else (`conductor`) without
    both the conductor's and the customer's valid identity."""

    rule_id: ClassVar[str] = "CDD_AGENT"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[SingleThresholdConfig] = SingleThresholdConfig(threshold=_CDD_THRESHOLD)

    def __init__(self, cfg: SingleThresholdConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.mandatory = mandatory_fields(pack)

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        if event.conductor is None:
            return
        day = ctx.day
        if not ctx.reaches(self.cfg.threshold, event.amount, event.currency, day):
            return
        gaps = [f"conductor {g}" for g in person_identity_gaps(event.conductor, day)]
        gaps += [f"customer {g}" for g in identity_gaps(state, day, self.mandatory)]
        if not gaps:
            return
        out.alerts.append(
            ctx.txn_alert(
                self.rule_id,
                self.cfg,
                event,
                f"cash {event.txn_id} of {event.amount} {event.currency} conducted by an agent "
                f"without verified identities: {', '.join(gaps)}",
                self.cfg.threshold,
                {"gaps": gaps},
            )
        )
