"""Watch-list screening (PBoC Order 2025 No.11 re-identification on a list match):
WATCHLIST_MATCH on customer, owner, representative, agent, conductor and counterparty names."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from monitor.core.errors import ConfigurationError
from monitor.core.rules.base import Context, Findings, is_blank
from monitor.core.rules.config import Category, RuleConfig, Severity
from monitor.core.state import WATCHLIST_MATCHES, CustomerState
from schemas import AccountOpening, CashTransaction, CustomerUpdate, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack
    from monitor.core.screening import WatchlistMatcher

__all__ = ["ListFile", "WatchlistConfig", "WatchlistMatch", "list_entries", "load_matcher"]

logger = logging.getLogger(__name__)

#: role, name, birth date, country, identity number
Screened = tuple[str, str | None, date | None, str | None, str | None]

Role = Literal[
    "customer",
    "beneficial_owner",
    "legal_representative",
    "agent",
    "conductor",
    "counterparty",
]
_ROLES: tuple[Role, ...] = get_args(Role)


ListFormat = Literal["yaml", "ofac_sdn_xml", "ofac_sdn_csv", "un_consolidated", "ftm_json"]


class ListFile(BaseModel):
    """One list file (relative to the pack) and its format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1)
    format: ListFormat = "yaml"


class WatchlistConfig(RuleConfig):
    """The watch-list files (relative to the pack: `file`, a YAML list, and any `lists` in
    other formats), the match score threshold and the roles whose names are screened."""

    category: Category = "suspicious"
    severity: Severity = "high"
    file: str | None = "watchlists/sample.yaml"
    lists: list[ListFile] = Field(default_factory=list)
    threshold: float = Field(default=88.0, ge=50, le=100)
    roles: list[Role] = Field(default_factory=lambda: list(_ROLES))
    #: severity of a match that rests on a very common name alone (no identifier agreed)
    common_name_severity: Severity = "low"


def load_matcher(cfg: WatchlistConfig, base_dir: Path) -> WatchlistMatcher:
    """The matcher of the pack's watch list, built once when the pack loads."""
    # imported here: screening pulls in numpy and rapidfuzz, needed only with the rule on
    from monitor.core.screening import WatchlistMatcher
    from monitor.core.screening.lists import load_list

    return WatchlistMatcher(list_entries(cfg, base_dir, load_list), cfg.threshold)


def list_entries(cfg: WatchlistConfig, base_dir: Path, load: Any) -> list[Any]:
    """The entries of every list file the config names, in order, loaded with `load`
    (path, format); an entry id seen twice keeps its first entry."""
    files = [ListFile(file=cfg.file)] if cfg.file else []
    files += cfg.lists
    if not files:
        raise ConfigurationError("rules.WATCHLIST_MATCH: neither file nor lists is set")
    entries: dict[str, Any] = {}
    for index, item in enumerate(files):
        path = base_dir / item.file
        if not path.is_file():
            where = "file" if cfg.file and index == 0 else f"lists.{index - bool(cfg.file)}.file"
            raise ConfigurationError(f"rules.WATCHLIST_MATCH.{where}: {path} does not exist")
        for entry in load(path, item.format):
            entries.setdefault(entry.entry_id, entry)
    return list(entries.values())


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
        #: a name-only match of a very common name is a low-priority review
        self.review_cfg = cfg.model_copy(update={"severity": cfg.common_name_severity})
        self.matcher: Any = pack.extras[self.rule_id]  # loaded with the pack (load_matcher)
        self.roles = frozenset(cfg.roles)

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None:
        if type(event) is CashTransaction and event.conductor is None:
            return  # most cash: no name but the customer's, screened at opening and update
        hits = []
        for role, name, birth, country, number in self._names(state, event):
            if role not in self.roles or is_blank(name):
                continue
            for match in self.matcher.match(name, birth, country, number):
                hits.append((role, match))
        if not hits:
            return
        seen: set[tuple[str, str]] = set()
        for role, match in hits:
            if (role, match.entry_id) in seen:
                continue
            seen.add((role, match.entry_id))
            evidence = getattr(event, "txn_id", None) or event.event_id
            review = match.common_name and match.name_only
            alert = ctx.alert(
                self.rule_id,
                self.review_cfg if review else self.cfg,
                event.customer_id,
                (event.event_id, role, match.entry_id),
                f"{role.replace('_', ' ')} name matches watch-list entry {match.entry_id} "
                f"({match.list_name}, score {match.score:.1f}; {match.reasons()})",
                event.event_time,
                evidence=[evidence, f"watchlist:{match.entry_id}"],
                figures={
                    "role": role,
                    "entry_id": match.entry_id,
                    "list_name": match.list_name,
                    "score": f"{match.score:.1f}",
                    "reasons": match.reasons(),
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

    def _names(self, state: CustomerState, event: Any) -> Iterator[Screened]:
        if isinstance(event, (AccountOpening, CustomerUpdate)):
            profile = state.profile or {}
            birth = _date(profile.get("birth") or profile.get("id_birth"))
            nationality = profile.get("nationality")
            source = event if isinstance(event, AccountOpening) else event.typed_changes
            changed = None if isinstance(event, AccountOpening) else set(event.changes)
            number = _number(source)
            if changed is None or "name" in changed:
                yield "customer", source.name, birth, nationality, number
            if changed is None or "beneficial_owners" in changed:
                for owner in source.beneficial_owners or []:
                    yield "beneficial_owner", owner.name, None, None, None
            if (
                changed is None or "legal_representative" in changed
            ) and source.legal_representative:
                rep = source.legal_representative
                yield "legal_representative", rep.name, None, None, _number(rep)
            if (changed is None or "agent" in changed) and source.agent:
                yield "agent", source.agent.name, None, None, _number(source.agent)
        elif isinstance(event, CashTransaction):
            if event.conductor is not None:
                yield "conductor", event.conductor.name, None, None, _number(event.conductor)
        elif isinstance(event, Remittance):
            party = event.beneficiary if event.direction == "out" else event.originator
            if party is not None:
                number = getattr(party, "id_number", None)
                yield "counterparty", party.name, None, (party.country or None), number


def _number(person: Any) -> str | None:
    document = getattr(person, "id_document", None)
    return getattr(document, "number", None)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
