"""Bytes to events: one JSON parse, one pydantic validation, a reason for every rejection."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError

from monitor.core.fx import FxTable
from schemas import (
    AccountOpening,
    CashTransaction,
    CustomerUpdate,
    InputEvent,
    Remittance,
    Transfer,
)

__all__ = ["KINDS", "Decoder", "Rejection", "REASONS"]

logger = logging.getLogger(__name__)

#: input kind -> model; the kind names are those of the default topics
KINDS: dict[str, type[InputEvent]] = {
    "account_opening": AccountOpening,
    "customer_update": CustomerUpdate,
    "cash": CashTransaction,
    "remittance": Remittance,
    "transfer": Transfer,
}

#: every reason a dead letter can carry (also the `reason` label of the metric)
REASONS = (
    "invalid_json",
    "not_an_object",
    "schema",
    "timestamp_without_offset",
    "invalid_amount",
    "unknown_currency",
    "too_large",
)

_MONEY_FIELDS = {"amount", "declared_annual_income", "registered_capital", "ownership_pct"}
_MONEY_NAMES = tuple(sorted(_MONEY_FIELDS))
_TIME_FIELDS = {"opened_at", "updated_at", "occurred_at"}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an input cannot be used: a reason (a fixed label) and readable errors. Errors
    name fields and problems, never the offending values (they may be identity data)."""

    reason: str
    errors: list[str]


class Decoder:
    """Decodes the raw value of one input kind. Currencies are checked against the FX table
    here, so the rules only ever see convertible amounts."""

    def __init__(self, fx: FxTable, max_bytes: int = 1_048_576) -> None:
        self.fx = fx
        self.max_bytes = max_bytes

    def decode(self, kind: str, value: bytes | None) -> InputEvent | Rejection:
        parsed = self.parse(value)
        if isinstance(parsed, Rejection):
            return parsed
        assert value is not None  # parse rejects a missing value
        return self.validate(kind, parsed, value)

    def parse(self, value: bytes | None) -> dict[str, Any] | Rejection:
        """The JSON object of a raw value (the first half of `decode`)."""
        if value is None:
            return Rejection("not_an_object", ["message has no value (tombstone)"])
        if len(value) > self.max_bytes:
            return Rejection("too_large", [f"message of {len(value)} bytes > {self.max_bytes}"])
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            return Rejection("invalid_json", [str(exc)])
        if not isinstance(data, dict):
            return Rejection("not_an_object", [f"JSON value is a {type(data).__name__}"])
        return data

    def validate(self, kind: str, data: dict[str, Any], value: bytes) -> InputEvent | Rejection:
        """The event of a parsed object (`value` is its raw form), or why not."""
        if _has_float_money(data):
            # JSON numbers must never pass through binary floats: parse them as Decimal
            data = json.loads(value, parse_float=Decimal)
        model = KINDS[kind]
        try:
            event = model.model_validate(data)
        except ValidationError as exc:
            return _rejection(exc)
        except (RecursionError, ValueError) as exc:  # pathological nesting or numbers
            return Rejection("schema", [type(exc).__name__])
        field = _CURRENCY_FIELD.get(type(event))
        currency = getattr(event, field) if field is not None else None
        if currency and not self.fx.knows(currency):
            return Rejection("unknown_currency", [f"currency {currency} is not in the FX table"])
        if (
            type(event) is Remittance
            and event.kind == "payment"
            and (event.amount is None or event.currency is None)
        ):
            return Rejection("schema", ["a remittance payment needs amount and currency"])
        return event


def _has_float_money(data: dict[str, Any]) -> bool:
    get = data.get  # a plain loop: this runs for every message
    for name in _MONEY_NAMES:
        if isinstance(get(name), float):
            return True
    owners = get("beneficial_owners")
    if isinstance(owners, list):
        for owner in owners:
            if isinstance(owner, dict) and isinstance(owner.get("ownership_pct"), float):
                return True
    return False


#: the one currency field each kind of event may carry (checked against the FX table)
_CURRENCY_FIELD: dict[type, str] = {
    CashTransaction: "currency",
    Remittance: "currency",
    Transfer: "currency",
    AccountOpening: "income_currency",
}


def _rejection(exc: ValidationError) -> Rejection:
    errors = exc.errors(include_url=False, include_input=False)
    messages = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errors[:20]]
    fields = {str(e["loc"][0]) for e in errors if e["loc"]}
    types = {e["type"] for e in errors}
    if "timezone_aware" in types and fields <= _TIME_FIELDS:
        reason = "timestamp_without_offset"
    elif fields and fields <= _MONEY_FIELDS and "missing" not in types:
        reason = "invalid_amount"
    else:
        reason = "schema"
    return Rejection(reason, messages)
