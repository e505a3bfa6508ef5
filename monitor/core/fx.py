"""Dated currency conversion through the FX table in configuration. Decimal only."""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.core.errors import ConfigurationError, UnknownCurrencyError

__all__ = ["FxTable", "load_fx_table"]

logger = logging.getLogger(__name__)


class _RateEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    valid_from: date = Field(alias="from")
    rate: Decimal = Field(gt=0, allow_inf_nan=False)


class _FxFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str = Field(pattern=r"^[A-Z]{3}$")
    rates: dict[str, list[_RateEntry]]

    @field_validator("rates")
    @classmethod
    def _non_empty(cls, rates: dict[str, list[_RateEntry]]) -> dict[str, list[_RateEntry]]:
        for code, entries in rates.items():
            if len(code) != 3 or not code.isupper():
                raise ValueError(f"currency code {code!r} is not ISO 4217 alphabetic")
            if not entries:
                raise ValueError(f"currency {code} has no rate entries")
        return rates


@dataclass(frozen=True, slots=True)
class FxTable:
    """Units of `base` per one unit of each currency, each rate valid from a date on.

    A date before a currency's first entry uses that first entry (the table's oldest
    knowledge); the base currency always converts at 1.
    """

    base: str
    _dates: dict[str, list[date]]
    _rates: dict[str, list[Decimal]]

    @classmethod
    def from_mapping(cls, data: object) -> FxTable:
        try:
            parsed = _FxFile.model_validate(data)
        except ValidationError as exc:
            raise ConfigurationError(f"FX table: {_first_error(exc)}") from None
        dates: dict[str, list[date]] = {}
        rates: dict[str, list[Decimal]] = {}
        for code, entries in parsed.rates.items():
            ordered = sorted(entries, key=lambda e: e.valid_from)
            dates[code] = [e.valid_from for e in ordered]
            rates[code] = [e.rate for e in ordered]
        return cls(parsed.base, dates, rates)

    def knows(self, currency: str) -> bool:
        return currency == self.base or currency in self._rates

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self._rates) | {self.base}

    def rate(self, currency: str, on: date) -> Decimal:
        """Units of the base currency for one unit of `currency` on `on`."""
        if currency == self.base:
            return Decimal(1)
        try:
            dates = self._dates[currency]
        except KeyError:
            raise UnknownCurrencyError(currency) from None
        index = max(bisect.bisect_right(dates, on) - 1, 0)
        return self._rates[currency][index]

    def convert(self, amount: Decimal, currency: str, to: str, on: date) -> Decimal:
        """`amount` of `currency` expressed in `to`, at the rates valid on `on`."""
        if currency == to:
            return amount
        in_base = amount * self.rate(currency, on)
        if to == self.base:
            return in_base
        return in_base / self.rate(to, on)


def load_fx_table(path: Path) -> FxTable:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"FX table {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"FX table {path}: not valid YAML: {exc}") from None
    return FxTable.from_mapping(data)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"
