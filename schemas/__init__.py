"""Pydantic models of every topic the monitor reads or writes (docs/interface.md)."""

from schemas.common import Amount, CurrencyCode, IdDocument, Person, Timestamp
from schemas.inputs import (
    AccountOpening,
    BeneficialOwner,
    CashTransaction,
    CustomerUpdate,
    InputEvent,
    ProfileChanges,
    Remittance,
    RemittanceBeneficiary,
    RemittanceOriginator,
    Transfer,
    TransferCounterparty,
)
from schemas.outputs import (
    Alert,
    Category,
    DeadLetter,
    Explanation,
    Narrative,
    ReidTask,
    Severity,
    Trigger,
)

__all__ = [
    "AccountOpening",
    "Alert",
    "Amount",
    "BeneficialOwner",
    "CashTransaction",
    "Category",
    "CurrencyCode",
    "CustomerUpdate",
    "DeadLetter",
    "Explanation",
    "IdDocument",
    "InputEvent",
    "Narrative",
    "Person",
    "ProfileChanges",
    "ReidTask",
    "Remittance",
    "RemittanceBeneficiary",
    "RemittanceOriginator",
    "Severity",
    "Timestamp",
    "Transfer",
    "TransferCounterparty",
    "Trigger",
]
