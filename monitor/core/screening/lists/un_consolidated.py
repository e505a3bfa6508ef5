"""The UN Security Council consolidated list (XML): individuals and entities."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from monitor.core.errors import ConfigurationError
from monitor.core.screening.lists.parse import entry
from monitor.core.screening.models import WatchlistEntry

__all__ = ["load_un_consolidated"]

logger = logging.getLogger(__name__)

_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _text(node: ET.Element, name: str) -> str:
    child = node.find(name)
    return (child.text or "").strip() if child is not None else ""


def _birth(node: ET.Element) -> str:
    """EXACT dates as `DATE`, years as `YEAR`, ranges as `FROM_YEAR to TO_YEAR`."""
    if _text(node, "DATE"):
        return _text(node, "DATE")[:10]
    if _text(node, "FROM_YEAR"):
        return f"{_text(node, 'FROM_YEAR')} to {_text(node, 'TO_YEAR')}"
    return _text(node, "YEAR")


def load_un_consolidated(path: Path) -> list[WatchlistEntry]:
    """INDIVIDUAL and ENTITY records: the name parts, the name in original script, aliases
    (QUALITY Low kept as weak aliases), dates of birth, nationalities and documents."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigurationError(f"UN consolidated list {path}: {exc}") from None
    found = []
    for kind, tag, alias_tag in (
        ("person", "INDIVIDUAL", "INDIVIDUAL_ALIAS"),
        ("entity", "ENTITY", "ENTITY_ALIAS"),
    ):
        for node in root.iter(tag):
            strong = [" ".join(p for p in (_text(node, n) for n in _NAME_PARTS) if p)]
            strong.append(_text(node, "NAME_ORIGINAL_SCRIPT"))
            weak: list[str] = []
            for alias in node.findall(alias_tag):
                quality = _text(alias, "QUALITY").lower()
                (weak if quality in ("low", "a.k.a. (low)") else strong).append(
                    _text(alias, "ALIAS_NAME")
                )
            item = entry(
                f"UN-{_text(node, 'REFERENCE_NUMBER') or _text(node, 'DATAID')}",
                strong,
                weak,
                f"UN-{_text(node, 'UN_LIST_TYPE') or 'SC'}",
                _text(node, "UN_LIST_TYPE") or "UN Security Council",
                births=[_birth(d) for d in node.findall("INDIVIDUAL_DATE_OF_BIRTH")],
                countries=[v.text for v in node.findall("NATIONALITY/VALUE")],
                id_numbers=[_text(d, "NUMBER") for d in node.findall("INDIVIDUAL_DOCUMENT")],
                kind=kind,
            )
            if item is not None:
                found.append(item)
    logger.info("UN consolidated list loaded: %d entries", len(found))
    return found
