"""Re-screening on a list update: the entries that are new, and the customers they match."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.core.ids import stable_id
from monitor.core.rules.base import Context, Findings
from monitor.core.screening.index import IndexedName, decode_record, entry_digest
from monitor.core.screening.matcher import WatchlistMatcher
from monitor.core.screening.models import Match, WatchlistEntry
from monitor.core.screening.score import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["IndexedName", "Rescreened", "new_entries", "rescreen", "rescreen_findings"]

logger = logging.getLogger(__name__)

RULE_ID = "WATCHLIST_MATCH"


@dataclass(frozen=True, slots=True)
class Rescreened:
    """A customer's name that matches a new entry. `alert_id` is derived from the customer,
    the role, the entry id and the entry's digest (`entry_digest`): a second reload of the
    same list, or a restart that screens it again, gives the same id; a changed entry a
    new one."""

    customer_id: str
    role: str
    match: Match
    alert_id: str
    digest: str


def new_entries(
    old: Iterable[WatchlistEntry], new: Iterable[WatchlistEntry]
) -> list[WatchlistEntry]:
    """The entries of `new` that `old` lacks, or has with other names or identifiers."""
    before = {e.entry_id: entry_digest(e) for e in old}
    return [e for e in new if before.get(e.entry_id) != entry_digest(e)]


def rescreen(
    index: Mapping[str, Sequence[IndexedName]],
    entries: Sequence[WatchlistEntry],
    threshold: float = DEFAULT_THRESHOLD,
    roles: Iterable[str] | None = None,
    matcher: WatchlistMatcher | None = None,
) -> Iterator[Rescreened]:
    """Every (customer, role, entry) of `index` that matches one of `entries` (the new
    ones only), in customer order. One matcher over the new entries (`matcher`, when the
    caller screens several indexes against the same entries); a name borne by many
    customers is scanned once (the matcher's cache). `roles` limits the roles screened."""
    if not entries:
        return
    if matcher is None:
        matcher = WatchlistMatcher(entries, threshold)
    digests = {e.entry_id: entry_digest(e) for e in entries}
    wanted = None if roles is None else frozenset(roles)
    for customer_id in sorted(index):
        seen: set[tuple[str, str]] = set()
        for item in index[customer_id]:
            if wanted is not None and item.role not in wanted:
                continue
            for match in matcher.match(item.name, item.birth_date, item.country, item.id_number):
                key = (item.role, match.entry_id)
                if key in seen:
                    continue
                seen.add(key)
                digest = digests[match.entry_id]
                alert_id = stable_id("alert", RULE_ID, customer_id, "rescreen", *key, digest)
                yield Rescreened(customer_id, item.role, match, alert_id, digest)


def rescreen_findings(
    records: Iterable[bytes],
    entries: Sequence[WatchlistEntry],
    rule: Any,
    pack: Pack,
    at: datetime,
    matcher: WatchlistMatcher | None = None,
) -> Findings:
    """WATCHLIST_MATCH alerts and re-identification tasks for the stored name records
    (`monitor.core.screening.index`) that match `entries`, under the rule's configuration
    (`rule`: the pack's `WatchlistMatch`, its threshold, roles and severities). `at` is when
    the list update was taken: the alerts' event time (their report is due from it); the
    ids do not depend on it. `matcher`: a matcher over `entries` with the rule's threshold,
    shared by the calls that screen several partitions against the same entries."""
    out = Findings()
    if not entries:
        return out
    ctx = Context(pack, at, day=at.astimezone(pack.tz).date())
    cfg = rule.cfg
    if matcher is None:
        matcher = WatchlistMatcher(entries, cfg.threshold)
    for hit in _hits(records, entries, cfg.threshold, rule.roles, matcher):
        match = hit.match
        review = match.common_name and match.name_only
        facts = ("rescreen", hit.role, match.entry_id, hit.digest)
        source = f"watchlist:{match.entry_id}"
        alert = ctx.alert(
            RULE_ID,
            rule.review_cfg if review else cfg,
            hit.customer_id,
            facts,
            f"{hit.role.replace('_', ' ')} name matches watch-list entry {match.entry_id} "
            f"({match.list_name}, score {match.score:.1f}; {match.reasons()}), "
            "found by re-screening on a list update",
            at,
            evidence=[source],
            figures={
                "role": hit.role,
                "entry_id": match.entry_id,
                "entry_digest": hit.digest,
                "list_name": match.list_name,
                "score": f"{match.score:.1f}",
                "reasons": match.reasons(),
                "threshold": cfg.threshold,
                "evidence_id": source,
            },
        )
        out.alerts.append(alert)
        out.tasks.append(
            ctx.task(
                RULE_ID, hit.customer_id, source, at, [alert.alert_id], facts, keyed_by_event=False
            )
        )
    return out


def _hits(
    records: Iterable[bytes],
    entries: Sequence[WatchlistEntry],
    threshold: float,
    roles: Iterable[str],
    matcher: WatchlistMatcher,
    chunk: int = 10_000,
) -> Iterator[Rescreened]:
    """`rescreen` over stored records, decoded a chunk at a time (a partition's records
    never all become objects at once)."""
    index: dict[str, list[IndexedName]] = {}
    for record in records:
        customer_id, names = decode_record(record)
        index[customer_id] = names
        if len(index) >= chunk:
            yield from rescreen(index, entries, threshold, roles, matcher)
            index = {}
    yield from rescreen(index, entries, threshold, roles, matcher)
