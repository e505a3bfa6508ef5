"""The screening scorecard: precision and recall of the matcher per category of labelled pairs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from monitor.core.screening import WatchlistMatcher
from monitor.tools.screen_eval import Pair, evaluate

__all__ = ["format_scorecard", "scorecard"]

logger = logging.getLogger(__name__)

#: categories whose pairs all name nobody on the list: any match there is a false hit
NEGATIVE = frozenset(
    {"syllable_shuffle", "different_birth_date", "other_person", "latin_other_person"}
)


def scorecard(matcher: WatchlistMatcher, pairs: Sequence[Pair]) -> dict[str, dict[str, Any]]:
    """`evaluate` per category (pairs without one under "-") and over all pairs ("overall")."""
    by_category: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_category.setdefault(pair.category or "-", []).append(pair)
    card = {name: evaluate(matcher, group) for name, group in sorted(by_category.items())}
    card["overall"] = evaluate(matcher, pairs)
    return card


def format_scorecard(card: dict[str, dict[str, Any]]) -> str:
    """A text table: pairs, TP, FP, FN, TN, precision and recall per category (n/a where a
    category has no positive pair or no match)."""
    lines = [
        f"{'category':<22} {'pairs':>6} {'TP':>5} {'FP':>4} {'FN':>4} {'TN':>5} "
        f"{'precision':>9} {'recall':>7}"
    ]
    for name, r in card.items():
        positives = r["tp"] + r["fn"]
        precision = f"{r['precision']:.3f}" if r["tp"] + r["fp"] else "n/a"
        recall = f"{r['recall']:.3f}" if positives else "n/a"
        lines.append(
            f"{name:<22} {r['pairs']:>6} {r['tp']:>5} {r['fp']:>4} {r['fn']:>4} {r['tn']:>5} "
            f"{precision:>9} {recall:>7}"
        )
    return "\n".join(lines)
