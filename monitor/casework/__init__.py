"""Casework: cases and decisions as hash-chained events, the four-eyes state machine,
report deadlines, and the analysts' web inbox."""

from monitor.casework.errors import (
    CaseConflict,
    CaseNotFound,
    CaseworkError,
    Forbidden,
    InvalidInput,
)
from monitor.casework.events import CaseEvent, verify_chain

__all__ = [
    "CaseConflict",
    "CaseEvent",
    "CaseNotFound",
    "CaseworkError",
    "Forbidden",
    "InvalidInput",
    "verify_chain",
]
