"""Field types shared by the topic models: money, currencies, timestamps, people."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "Amount",
    "CurrencyCode",
    "EventModel",
    "IdDocument",
    "Person",
    "Timestamp",
]

#: A positive decimal amount, from a JSON string or number; never NaN or infinite.
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=28)]

#: An ISO 4217 alphabetic code; whether it is known is checked against the FX table.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

#: An ISO-8601 timestamp that carries a UTC offset; a naive timestamp is invalid input.
Timestamp = AwareDatetime


class EventModel(BaseModel):
    """Base of every topic model: unknown fields are ignored, models are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class IdDocument(EventModel):
    """An identity document; `expires_on` is null for long-term documents."""

    type: str | None = None
    number: str | None = None
    expires_on: date | None = None


class Person(EventModel):
    """A natural person acting in a transaction or for a customer (agent, conductor)."""

    name: str | None = None
    id_document: IdDocument | None = None
