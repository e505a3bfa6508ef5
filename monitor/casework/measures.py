"""The measures taken on a suspicious case (采取的措施, PBoC Order 2016 No.3): the standard
list the proposal form offers, the analyst's own words, and their text on a report record."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.casework.errors import InvalidInput

__all__ = ["MEASURES", "OTHER", "Measure", "measure_texts", "parse_measures"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Measure:
    """One standard measure: its code (on the case event) and its wording in Chinese and
    English (on the form and the report record)."""

    code: str
    zh: str
    en: str

    @property
    def text(self) -> str:
        return f"{self.zh} ({self.en})"


#: the standard measures, worded after the 2025 customer due diligence rules
#: (re-identification, ongoing monitoring, 中止交易, 不得建立业务关系, 终止业务关系) and
#: PBoC 2016 No.3 (a suspected crime is reported to the public security organs)
MEASURES: dict[str, Measure] = {
    m.code: m
    for m in (
        Measure("enhanced_monitoring", "加强持续监测", "enhanced ongoing monitoring"),
        Measure("customer_reidentified", "重新识别客户身份", "customer re-identified"),
        Measure("transactions_restricted", "限制或中止交易", "transactions restricted"),
        Measure("business_refused", "拒绝办理业务", "business refused"),
        Measure("relationship_ended", "终止业务关系", "business relationship ended"),
        Measure("reported_to_police", "报告公安机关", "reported to the police"),
    )
}
#: the code of a measure the analyst describes in their own words
OTHER = "other"
_LIMIT = 2_000


def parse_measures(codes: Iterable[Any], other: Any) -> list[dict[str, str]]:
    """The measures a proposal form ticked (`codes`) and described (`other`, free text), as
    `{code, text}` entries in the catalogue's order, the free text last; an unknown code
    raises `InvalidInput` naming the field."""
    ticked = {str(c) for c in codes if str(c).strip()}
    unknown = sorted(ticked - set(MEASURES))
    if unknown:
        raise InvalidInput(f"measures: unknown measure {unknown[0]!r}")
    chosen = [{"code": m.code, "text": m.text} for m in MEASURES.values() if m.code in ticked]
    text = str(other or "").strip()
    if len(text) > _LIMIT:
        raise InvalidInput(f"measures_other: longer than {_LIMIT} characters")
    if text:
        chosen.append({"code": OTHER, "text": text})
    return chosen


def measure_texts(measures: Iterable[Any]) -> list[str]:
    """The text of each measure of a proposal (an entry is `{code, text}` or a plain text)."""
    texts = []
    for m in measures:
        text = m.get("text") if isinstance(m, dict) else m
        if text:
            texts.append(str(text))
    return texts
