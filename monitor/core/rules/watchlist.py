"""Watch-list screening (PBoC Order 2025 No.11 re-identification on a list match):
WATCHLIST_MATCH on customer, owner, representative, agent, conductor and counterparty names."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from monitor.core.errors import ConfigurationError
from monitor.core.rules.base import Context, Findings, is_blank
from monitor.core.rules.config import Category, RuleConfig, Severity
from monitor.core.state import WATCHLIST_MATCHES, CustomerState
from schemas import AccountOpening, CashTransaction, CustomerUpdate, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack
    from monitor.core.screening import WatchlistMatcher

__all__ = ["WatchlistConfig", "WatchlistMatch", "load_matcher"]

logger = logging.getLogger(__name__)

Role = Literal[
    "customer",
    "beneficial_owner",
    "legal_representative",
    "agent",
    "conductor",
    "counterparty",
]
_ROLES: tuple[Role, ...] = (
    "customer",
    "beneficial_owner",
    "legal_representative",
    "agent",
    "conductor",
    "counterparty",
)


class WatchlistConfig(RuleConfig):
    """The watch-list file (relative to the pack), the match score threshold and the roles
    whose names are screened."""

    category: Category = "suspicious"
    severity: Severity = "high"
    file: str = "watchlists/sample.yaml"
    threshold: float = Field(default=88.0, ge=50, le=100)
    roles: list[Role] = Field(default_factory=lambda: list(_ROLES))


def load_matcher(cfg: WatchlistConfig, base_dir: Path) -> WatchlistMatcher:
    """The matcher of the pack's watch list, built once when the pack loads."""
    # imported here: screening pulls in numpy and rapidfuzz, needed only with the rule on
    from monitor.core.screening import WatchlistMatcher

    path = base_dir / cfg.file
    if not path.is_file():
        raise ConfigurationError(f"rules.WATCHLIST_MATCH.file: {path} does not exist")
    return WatchlistMatcher.from_file(path, cfg.threshold)


class WatchlistMatch:
    """Screens every name an event carries against the pack's watch list. One alert per
    (event, role, list entry), with a WATCHLIST_MATCH task; evidence and summary carry the
    entry id and score, never the screened name."""

    rule_id: ClassVar[str] = "WATCHLIST_MATCH"
    handles: ClassVar[tuple[type, ...]] = (
        AccountOpening,
        CustomerUpdate,
        CashTransaction,
        Remittance,
    )
    default: ClassVar[WatchlistConfig] = WatchlistConfig()

    def __init__(self, cfg: WatchlistConfig, pack: Pack) -> None:
        self.cfg = cfg
        self.matcher: Any = pack.extras[self.rule_id]  # loaded with the pack (load_matcher)
        self.roles = frozenset(cfg.roles)

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        if type(event) is CashTransaction and event.conductor is None:
            return  # most cash: no name but the customer's, screened at opening and update
        hits = []
        for role, name, birth, country in self._names(state, event):
            if role not in self.roles or is_blank(name):
                continue
            for match in self.matcher.match(name, birth, country):
                hits.append((role, match))
        if not hits:
            return
        seen: set[tuple[str, str]] = set()
        for role, match in hits:
            if (role, match.entry_id) in seen:
                continue
            seen.add((role, match.entry_id))
            evidence = getattr(event, "txn_id", None) or event.event_id
            alert = ctx.alert(
                self.rule_id,
                self.cfg,
                event.customer_id,
                (event.event_id, role, match.entry_id),
                f"{role.replace('_', ' ')} name matches watch-list entry {match.entry_id} "
                f"({match.list_name}, score {match.score:.1f})",
                event.event_time,
                evidence=[evidence, f"watchlist:{match.entry_id}"],
                figures={
                    "role": role,
                    "entry_id": match.entry_id,
                    "list_name": match.list_name,
                    "score": f"{match.score:.1f}",
                    "threshold": self.cfg.threshold,
                    "evidence_id": evidence,
                },
            )
            out.alerts.append(alert)
            out.tasks.append(
                ctx.task(
                    "WATCHLIST_MATCH",
                    event.customer_id,
                    event.event_id,
                    event.event_time,
                    [alert.alert_id],
                    (role, match.entry_id),
                )
            )
            state.risk[WATCHLIST_MATCHES] = state.risk.get(WATCHLIST_MATCHES, 0) + 1

    def _names(
        self, state: CustomerState, event: Any
    ) -> Iterator[tuple[str, str | None, date | None, str | None]]:
        if isinstance(event, (AccountOpening, CustomerUpdate)):
            profile = state.profile or {}
            birth = _date(profile.get("birth") or profile.get("id_birth"))
            nationality = profile.get("nationality")
            source = event if isinstance(event, AccountOpening) else event.typed_changes
            changed = None if isinstance(event, AccountOpening) else set(event.changes)
            if changed is None or "name" in changed:
                yield "customer", source.name, birth, nationality
            if changed is None or "beneficial_owners" in changed:
                for owner in source.beneficial_owners or []:
                    yield "beneficial_owner", owner.name, None, None
            if (
                changed is None or "legal_representative" in changed
            ) and source.legal_representative:
                yield "legal_representative", source.legal_representative.name, None, None
            if (changed is None or "agent" in changed) and source.agent:
                yield "agent", source.agent.name, None, None
        elif isinstance(event, CashTransaction):
            if event.conductor is not None:
                yield "conductor", event.conductor.name, None, None
        elif isinstance(event, Remittance):
            party = event.beneficiary if event.direction == "out" else event.originator
            if party is not None:
                yield "counterparty", party.name, None, (party.country or None)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
