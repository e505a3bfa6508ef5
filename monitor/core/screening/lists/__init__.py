"""Watch-list file formats: one loader per format, and `load_list` choosing by name."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from monitor.core.errors import ConfigurationError
from monitor.core.screening.lists.ftm_json import load_ftm_json
from monitor.core.screening.lists.ofac_sdn import load_sdn_csv, load_sdn_xml
from monitor.core.screening.lists.un_consolidated import load_un_consolidated
from monitor.core.screening.models import WatchlistEntry
from monitor.core.screening.yaml_list import load_watchlist

__all__ = [
    "FORMATS",
    "ListFormat",
    "load_ftm_json",
    "load_list",
    "load_sdn_csv",
    "load_sdn_xml",
    "load_un_consolidated",
]

logger = logging.getLogger(__name__)

ListFormat = Literal["yaml", "ofac_sdn_xml", "ofac_sdn_csv", "un_consolidated", "ftm_json"]
FORMATS: dict[str, Callable[[Path], list[WatchlistEntry]]] = {
    "yaml": load_watchlist,
    "ofac_sdn_xml": load_sdn_xml,
    "ofac_sdn_csv": load_sdn_csv,
    "un_consolidated": load_un_consolidated,
    "ftm_json": load_ftm_json,
}
_SUFFIXES = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "ftm_json",
    ".jsonl": "ftm_json",
    ".csv": "ofac_sdn_csv",
}
_XML_ROOTS = {"sdnList": "ofac_sdn_xml", "CONSOLIDATED_LIST": "un_consolidated"}


def _sniff_xml(path: Path) -> str | None:
    """The format of an XML list from its root element's name, None when not known."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    for root, name in _XML_ROOTS.items():
        if f"<{root}" in head:
            return name
    return None


def load_list(path: Path, list_format: str | None = None) -> list[WatchlistEntry]:
    """The entries of a list file in `list_format` (by default from the suffix: .yaml,
    .json/.jsonl FtM, .csv OFAC SDN, .xml by its root element: sdnList or
    CONSOLIDATED_LIST)."""
    path = Path(path)
    chosen = list_format or _SUFFIXES.get(path.suffix.lower())
    if chosen is None and path.suffix.lower() == ".xml":
        chosen = _sniff_xml(path)
    if chosen is None or chosen not in FORMATS:
        raise ConfigurationError(
            f"watch list {path}: format {chosen or 'unknown'!s}; one of {', '.join(FORMATS)}"
        )
    if not path.is_file():
        raise ConfigurationError(f"watch list {path} does not exist")
    return FORMATS[chosen](path)
