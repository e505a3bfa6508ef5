"""Config building blocks every rule shares: strict models, Money, Threshold, RuleConfig.

This module depends on pydantic only, so rule modules, the registry and the pack can all
import it without an import cycle.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Category",
    "Money",
    "RuleConfig",
    "Severity",
    "StageConfig",
    "Strict",
    "Threshold",
    "ThresholdRuleConfig",
    "money",
]

logger = logging.getLogger(__name__)

Severity = Literal["low", "medium", "high"]
Category = Literal["large_value_report", "suspicious", "due_diligence"]


class Strict(BaseModel):
    """A pack section: unknown keys are refused, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(Strict):
    """An amount in a currency, e.g. `{currency: CNY, amount: "50000"}`."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: Decimal = Field(ge=0, allow_inf_nan=False)


def money(currency: str, amount: int | str) -> Money:
    """`Money` from a currency code and an integer or decimal string."""
    return Money(currency=currency, amount=Decimal(amount))


class Threshold(Strict):
    """A local-currency amount and a foreign-currency equivalent. Local-currency amounts are
    compared with `local`; any other currency is converted (dated FX table) into
    `foreign.currency` and compared with `foreign`. With `combine: true` every currency is
    converted into the local currency and compared with `local` only."""

    local: Money
    foreign: Money
    combine: bool = False


class StageConfig(Strict):
    """The config of any registered stage: `enabled: false` leaves it out of the engine."""

    enabled: bool = True


class RuleConfig(StageConfig):
    """The config of a rule that raises alerts: their severity and category (queue)."""

    severity: Severity = "medium"
    category: Category = "due_diligence"


class ThresholdRuleConfig(RuleConfig):
    """A rule compared against one threshold, required while the rule is enabled."""

    threshold: Threshold | None = None

    @model_validator(mode="after")
    def _needs_threshold(self) -> ThresholdRuleConfig:
        if self.enabled and self.threshold is None:
            raise ValueError("threshold is required when the rule is enabled")
        return self
