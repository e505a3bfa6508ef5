"""OpenSanctions / FollowTheMoney entities: one JSON object per line (or a JSON array)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from monitor.core.errors import ConfigurationError
from monitor.core.screening.lists.parse import entry
from monitor.core.screening.models import WatchlistEntry

__all__ = ["load_ftm_json"]

logger = logging.getLogger(__name__)

#: FtM schemata screened by name; others (Address, Sanction, Ownership...) are skipped
_PERSONS = frozenset({"Person"})
_ENTITIES = frozenset({"Organization", "Company", "LegalEntity", "PublicBody", "Vessel"})
_ID_PROPERTIES = ("idNumber", "passportNumber", "innCode", "registrationNumber", "taxNumber")


def _values(props: dict[str, Any], name: str) -> list[str]:
    value = props.get(name) or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def load_ftm_json(path: Path) -> list[WatchlistEntry]:
    """Person and organisation entities: `name`, `alias` and `previousName` as names,
    `weakAlias` as weak aliases, `birthDate`, `nationality`/`citizenship`/`country`, and
    identity numbers; the entity id is the entry id, `datasets` the list name."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"FtM JSON {path}: {exc.strerror}") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            records = json.loads(stripped)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"FtM JSON {path}: not valid JSON at line {exc.lineno}: {exc.msg}"
        ) from None
    found = []
    for record in records:
        schema = record.get("schema") if isinstance(record, dict) else None
        if schema not in _PERSONS and schema not in _ENTITIES:
            continue
        props = record.get("properties") or {}
        datasets = record.get("datasets") or ["opensanctions"]
        item = entry(
            str(record.get("id")),
            _values(props, "name") + _values(props, "alias") + _values(props, "previousName"),
            _values(props, "weakAlias"),
            str(datasets[0]),
            ", ".join(_values(props, "topics")) or str(schema),
            births=_values(props, "birthDate"),
            countries=_values(props, "nationality")
            + _values(props, "citizenship")
            + _values(props, "country"),
            id_numbers=[n for p in _ID_PROPERTIES for n in _values(props, p)],
            kind="person" if schema in _PERSONS else "entity",
        )
        if item is not None:
            found.append(item)
    logger.info("FtM JSON loaded: %d entries", len(found))
    return found
