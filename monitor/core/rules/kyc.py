"""Customer identification (PBoC Order 2025 No.11): KYC_INCOMPLETE, KYC_ID_EXPIRED, checks.

PROFILE_CHECKS raises the PROFILE_CHANGE / INCONSISTENT_INFO / DOUBTFUL_RECORDS
re-identification tasks. The identity profile these rules read is kept by
`monitor.core.profile`; the enhanced due diligence rules are in `rules.edd`."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from monitor.core.profile_layout import present_paths
from monitor.core.rules.base import Context, Findings, is_blank
from monitor.core.rules.config import RuleConfig, StageConfig
from monitor.core.state import CustomerState
from schemas import AccountOpening, CashTransaction, CustomerUpdate, Person, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "KycConfig",
    "KycIdExpired",
    "KycIncomplete",
    "KycIncompleteConfig",
    "ProfileChecks",
    "ProfileChecksConfig",
    "mandatory_fields",
    "person_identity_gaps",
]

logger = logging.getLogger(__name__)

_INDIVIDUAL_FIELDS = [
    "name",
    "gender",
    "nationality",
    "occupation",
    "address",
    "phone",
    "id_document.type",
    "id_document.number",
]
_ENTITY_FIELDS = [
    "name",
    "registration_number",
    "business_scope",
    "address",
    "legal_representative.name",
    "legal_representative.id_document.type",
    "legal_representative.id_document.number",
]
_KNOWN_FIELDS = frozenset(
    _INDIVIDUAL_FIELDS
    + _ENTITY_FIELDS
    + [
        "account_id",
        "branch_code",
        "registered_capital",
        "declared_annual_income",
        "id_document.expires_on",
        "legal_representative.id_document.expires_on",
        "address_country",
        "birth_date",
    ]
)


class KycIncompleteConfig(RuleConfig):
    """Mandatory identity fields per customer type (dotted paths); with `check_agent`, an
    agent named on an opening or update must have a name and a valid identity document."""

    individual_fields: list[str] = Field(default_factory=lambda: list(_INDIVIDUAL_FIELDS))
    entity_fields: list[str] = Field(default_factory=lambda: list(_ENTITY_FIELDS))
    check_agent: bool = True

    @field_validator("individual_fields", "entity_fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in _KNOWN_FIELDS]
        if unknown:
            raise ValueError(f"unknown identity field(s) {unknown}; known: {sorted(_KNOWN_FIELDS)}")
        return fields


class KycConfig(RuleConfig):
    """Severity and category only."""


class ProfileChecksConfig(StageConfig):
    """PROFILE_CHANGE, INCONSISTENT_INFO and DOUBTFUL_RECORDS tasks from customer updates
    (the pack's top-level `profile_checks` section)."""


def person_identity_gaps(person: Person | None, on: date) -> list[str]:
    """What is missing or invalid in a natural person's identity (an agent, a conductor):
    name, document type and number, and a document not expired on `on`."""
    if person is None:
        return ["person"]
    gaps = []
    if is_blank(person.name):
        gaps.append("name")
    doc = person.id_document
    if doc is None or is_blank(doc.type) or is_blank(doc.number):
        gaps.append("id_document")
    elif doc.expires_on is not None and doc.expires_on < on:
        gaps.append("id_document expired")
    return gaps


def mandatory_fields(pack: Pack) -> dict[str, list[str]]:
    """Customer type -> mandatory identity fields, from the pack's KYC_INCOMPLETE config
    (also used by CDD and the risk rating when KYC_INCOMPLETE itself is off)."""
    cfg = pack.config.rules.of(KycIncomplete.rule_id, KycIncompleteConfig)
    return {"individual": cfg.individual_fields, "entity": cfg.entity_fields}


class KycIncomplete:
    """An opening, or an update of identity fields, that leaves mandatory fields missing; or
    an opening or update made by an agent (`agent`) whose identity is missing or whose
    document has expired on the event's day (Order 2025 No.11: someone acting for a
    customer, verify both the agent's and the customer's identity). One alert per event,
    listing every gap, and an `INCOMPLETE_KYC` re-identification task."""

    rule_id: ClassVar[str] = "KYC_INCOMPLETE"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate)
    default: ClassVar[KycIncompleteConfig] = KycIncompleteConfig()

    def __init__(self, cfg: KycIncompleteConfig, pack: Pack) -> None:
        self.cfg = cfg

    def mandatory(self) -> dict[str, list[str]]:
        return {"individual": self.cfg.individual_fields, "entity": self.cfg.entity_fields}

    def apply(
        self,
        state: CustomerState,
        event: AccountOpening | CustomerUpdate,
        ctx: Context,
        out: Findings,
    ) -> None:
        profile = state.profile
        if profile is None:
            return
        required = self.mandatory()[profile["type"]]
        missing: list[str] = []
        if isinstance(event, AccountOpening) or _touches(ctx.touched, required):
            present = present_paths(profile)
            missing = [p for p in required if p not in present]
        agent = _agent(event) if self.cfg.check_agent else None
        agent_gaps = [f"agent {g}" for g in person_identity_gaps(agent, ctx.day)] if agent else []
        if not missing and not agent_gaps:
            return
        what = "account opening" if isinstance(event, AccountOpening) else "customer update"
        parts = []
        if missing:
            parts.append(f"leaves mandatory identity fields missing: {', '.join(missing)}")
        if agent_gaps:
            parts.append(
                f"is made by an agent without a verified identity: {', '.join(agent_gaps)}"
            )
        alert = ctx.alert(
            self.rule_id,
            self.cfg,
            event.customer_id,
            (event.event_id,),
            f"{what} {event.event_id} {'; '.join(parts)}",
            event.event_time,
            evidence=[event.event_id],
            figures={
                "customer_type": profile["type"],
                "missing": missing,
                "missing_count": len(missing),
                "required_count": len(required),
            },
        )
        ctx.emit_with_task(out, alert, "INCOMPLETE_KYC", event.event_id)


class KycIdExpired:
    """An identity document already expired at opening or on a transaction's date. Reported
    once per document expiry date, citing its first use in event time (an earlier use that
    arrives later re-emits the same ids with it); a customer update with a new document
    renews it."""

    rule_id: ClassVar[str] = "KYC_ID_EXPIRED"
    handles: ClassVar[tuple[type, ...]] = (
        AccountOpening,
        CustomerUpdate,
        CashTransaction,
        Remittance,
    )
    default: ClassVar[KycConfig] = KycConfig()

    def __init__(self, cfg: KycConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        profile = state.profile
        if profile is None or not profile.get("id_exp"):
            return
        if profile["id_exp"] >= ctx.day_iso:  # ISO dates compare as strings
            return
        expiry = date.fromisoformat(profile["id_exp"])
        day = ctx.day
        flag = f"idexp|{expiry.isoformat()}"
        first = state.flags.get(flag)
        if first is not None and first <= ctx.event_ms:
            return
        # the first use in event time is the one reported: a use arriving late (another
        # topic) that came before the reported one emits the same alert and task again
        state.flags[flag] = ctx.event_ms
        at = "at opening" if isinstance(event, AccountOpening) else f"on {day.isoformat()}"
        evidence = getattr(event, "txn_id", None) or event.event_id
        alert = ctx.alert(
            self.rule_id,
            self.cfg,
            event.customer_id,
            (expiry.isoformat(),),
            f"identity document expired on {expiry.isoformat()}, still in use {at} ({evidence})",
            event.event_time,
            evidence=[evidence],
            figures={
                "expired_on": expiry,
                "used_on": day,
                "days_expired": (day - expiry).days,
                "evidence_id": evidence,
            },
        )
        ctx.emit_with_task(  # one task per expired document, as its alert
            out, alert, "ID_EXPIRED", event.event_id, (expiry.isoformat(),), keyed_by_event=False
        )


class ProfileChecks:
    """Re-identification triggers of customer updates (no alert): PROFILE_CHANGE when a
    watched identity value changes (`monitor.core.profile.WATCHED_FIELDS`: name, identity
    document, address, occupation, nationality, beneficial owners, and an entity's
    registration number, registered capital, business scope or legal representative);
    INCONSISTENT_INFO when new data contradicts earlier identity data (a birth date or sex
    in a new identity number); DOUBTFUL_RECORDS when an identity number fails its check
    digit."""

    rule_id: ClassVar[str] = "PROFILE_CHECKS"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate)
    default: ClassVar[ProfileChecksConfig] = ProfileChecksConfig()

    def __init__(self, cfg: ProfileChecksConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        meta = ctx.profile_meta
        if meta is None or state.profile is None:
            return
        changed, conflicts = meta
        if isinstance(event, CustomerUpdate) and changed:
            out.tasks.append(
                ctx.task(
                    "PROFILE_CHANGE",
                    event.customer_id,
                    event.event_id,
                    event.event_time,
                    [],
                    (",".join(sorted(changed)),),
                )
            )
        if conflicts:
            out.tasks.append(
                ctx.task(
                    "INCONSISTENT_INFO", event.customer_id, event.event_id, event.event_time, []
                )
            )
        if state.profile.get("id_valid") is False and "id_document" in ctx.touched:
            out.tasks.append(
                ctx.task(
                    "DOUBTFUL_RECORDS", event.customer_id, event.event_id, event.event_time, []
                )
            )


def _agent(event: AccountOpening | CustomerUpdate) -> Person | None:
    """The agent acting for the customer on this opening or update, if one is named."""
    if isinstance(event, AccountOpening):
        return event.agent
    return event.typed_changes.agent if "agent" in event.changes else None


def _touches(touched: frozenset[str], required: list[str]) -> bool:
    return any(
        t == r or r.startswith(f"{t}.") or t.startswith(f"{r}.") for t in touched for r in required
    )
