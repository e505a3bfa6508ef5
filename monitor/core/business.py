"""High-risk lines of business: the pack's keyword categories matched in a business scope or
an occupation (the risk rating's `high_risk_business` and `high_risk_occupation` factors)."""

from __future__ import annotations

import logging
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = ["business_category", "business_keywords", "fold_text"]

logger = logging.getLogger(__name__)


def fold_text(text: str) -> str:
    """`text` for keyword matching: NFKC (full-width to half-width), case-folded, runs of
    whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def business_category(text: str | None, keywords: dict[str, list[str]]) -> str | None:
    """The first category (in pack order) one of whose folded keywords occurs in `text`."""
    if not text:
        return None
    folded = fold_text(text)
    for category, words in keywords.items():
        if any(w in folded for w in words):
            return category
    return None


def business_keywords(pack: Pack) -> dict[str, list[str]]:
    """The pack's high-risk business keywords by category (`risk.high_risk_business`, folded
    when the pack loads); none while the risk rating is off."""
    risk = getattr(pack.config, "risk", None)
    if not getattr(risk, "enabled", False):
        return {}
    keywords = getattr(risk, "high_risk_business", None)
    return keywords if isinstance(keywords, dict) else {}
