"""Models of the five input topics (docs/interface.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from schemas.common import Amount, CurrencyCode, EventModel, IdDocument, Person, Timestamp

__all__ = [
    "AccountOpening",
    "ProfileChanges",
    "BeneficialOwner",
    "CashTransaction",
    "CustomerUpdate",
    "InputEvent",
    "Remittance",
    "RemittanceBeneficiary",
    "RemittanceOriginator",
    "Transfer",
    "TransferCounterparty",
]


class BeneficialOwner(EventModel):
    """A natural person owning part of an entity customer."""

    name: str | None = None
    ownership_pct: Decimal | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    id_document: IdDocument | None = None
    is_pep: bool = False


class AccountOpening(EventModel):
    """`kyc.account-openings`: a customer opens an account. Identity fields may be missing;
    a missing mandatory field is a finding (KYC_INCOMPLETE), not invalid input."""

    event_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    account_id: str | None = None
    opened_at: Timestamp
    customer_type: Literal["individual", "entity"]
    name: str | None = None
    gender: str | None = None
    nationality: str | None = None
    occupation: str | None = None
    address: str | None = None
    phone: str | None = None
    id_document: IdDocument | None = None
    declared_annual_income: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    income_currency: CurrencyCode | None = None
    is_pep: bool = False
    registration_number: str | None = None
    business_scope: str | None = None
    registered_capital: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    legal_representative: Person | None = None
    beneficial_owners: list[BeneficialOwner] = Field(default_factory=list)
    agent: Person | None = None
    branch_code: str | None = None
    address_country: str | None = None  # ISO 3166 alpha-2, where the bank records it
    birth_date: date | None = None

    @property
    def event_time(self) -> datetime:
        return self.opened_at


class ProfileChanges(EventModel):
    """The `changes` of a customer update, typed like an opening's fields (all optional)."""

    customer_type: Literal["individual", "entity"] | None = None
    account_id: str | None = None
    name: str | None = None
    gender: str | None = None
    nationality: str | None = None
    occupation: str | None = None
    address: str | None = None
    address_country: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    id_document: IdDocument | None = None
    declared_annual_income: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    income_currency: CurrencyCode | None = None
    is_pep: bool | None = None
    registration_number: str | None = None
    business_scope: str | None = None
    registered_capital: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    legal_representative: Person | None = None
    beneficial_owners: list[BeneficialOwner] | None = None
    agent: Person | None = None
    branch_code: str | None = None


class CustomerUpdate(EventModel):
    """`kyc.customer-updates`: changed fields, named as in an opening."""

    event_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    updated_at: Timestamp
    changes: dict[str, Any]
    _typed: ProfileChanges | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _validate_changes(self) -> CustomerUpdate:
        # a bad value makes the update invalid input; the typed form is kept for the rules
        try:
            self._typed = ProfileChanges.model_validate(self.changes)
        except ValidationError as exc:  # located under `changes`, as in the input
            raise ValidationError.from_exception_data(
                exc.title,
                [
                    InitErrorDetails(
                        type=e["type"],
                        loc=("changes", *e["loc"]),
                        input=e["input"],
                        ctx=e.get("ctx", {}),
                    )
                    for e in exc.errors()
                ],
            ) from None
        return self

    @property
    def typed_changes(self) -> ProfileChanges:
        """`changes` validated as `ProfileChanges` (once, when the update was validated)."""
        if self._typed is None:  # built without validation (model_construct)
            self._typed = ProfileChanges.model_validate(self.changes)
        return self._typed

    @property
    def event_time(self) -> datetime:
        return self.updated_at


class CashTransaction(EventModel):
    """`txn.cash`: a cash deposit, withdrawal or one-off cash service."""

    event_id: str = Field(min_length=1)
    txn_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    account_id: str | None = None
    occurred_at: Timestamp
    direction: Literal["in", "out"]
    amount: Amount
    currency: CurrencyCode
    service: str | None = None
    conductor: Person | None = None
    branch_code: str | None = None

    @property
    def event_time(self) -> datetime:
        return self.occurred_at


class RemittanceOriginator(EventModel):
    name: str | None = None
    account_number: str | None = None
    address: str | None = None
    id_number: str | None = None
    contact: str | None = None
    country: str | None = None


class RemittanceBeneficiary(EventModel):
    name: str | None = None
    account_number: str | None = None
    address: str | None = None
    country: str | None = None


class Remittance(EventModel):
    """`txn.remittances`: a cross-border payment, or a supplement completing one."""

    event_id: str = Field(min_length=1)
    txn_id: str = Field(min_length=1)
    kind: Literal["payment", "supplement"] = "payment"
    customer_id: str = Field(min_length=1)
    occurred_at: Timestamp
    direction: Literal["in", "out"]
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    originator: RemittanceOriginator | None = None
    beneficiary: RemittanceBeneficiary | None = None
    reference: str | None = None
    source_of_funds: str | None = None
    counterparty_country: str | None = None

    @property
    def event_time(self) -> datetime:
        return self.occurred_at


class TransferCounterparty(EventModel):
    """The other side of a domestic transfer. `customer_id` is set when the counterparty is
    also the bank's customer (the customer's own other account when it equals the
    transfer's `customer_id`), else null."""

    name: str | None = None
    account_number: str | None = None
    bank_code: str | None = None
    customer_id: str | None = None


class Transfer(EventModel):
    """`txn.transfers`: a domestic account-to-account transfer debiting (`out`) or
    crediting (`in`) the customer's account."""

    event_id: str = Field(min_length=1)
    txn_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    occurred_at: Timestamp
    direction: Literal["in", "out"]
    amount: Amount
    currency: CurrencyCode
    counterparty: TransferCounterparty
    channel: str | None = None
    purpose: str | None = None
    source_of_funds: str | None = None

    @property
    def event_time(self) -> datetime:
        return self.occurred_at


InputEvent = AccountOpening | CustomerUpdate | CashTransaction | Remittance | Transfer
